"""go-whatsapp-web-multidevice's REST API (its docs/openapi.yaml, v9.2.0) over wagw's jobs:
one row per operation of that API, all 89 of them.

Each row says where the operation's request fields come from and which job argument each
becomes, which job answers it and the shape of its `results`, or (501) why wagw does not
have it and what to use instead. wagw.api.gowa.routes generates the routes from it, and
docs/api-gowa.md is generated from it (`python -m wagw.api.gowa.docs`; a unit test holds
the page to the table).
"""

from __future__ import annotations

from wagw.api.gowa.model import Field, Row

# -- fields that many rows share ------------------------------------------------------------

PHONE = Field("phone", "body", "phone", "to", required=True)
GROUP_ID = Field("group_id", "body", "phone", "jid", required=True)
GROUP_ID_QUERY = Field("group_id", "query", "phone", "jid", required=True)
NO_GROUP_ID = ("INVALID_GROUP_ID", "Group ID cannot be empty")  # that API's answer on these three
MESSAGE_ID = Field("message_id", "path", "text", "message_id", required=True)
CHAT_JID = Field("chat_jid", "path", "phone", "chat", required=True)
IS_FORWARDED = Field(
    "is_forwarded",
    "body",
    "ignored",
    json_type="boolean",
    note="wagw does not mark messages as forwarded; the message goes as a new one",
)
DURATION = Field(
    "duration",
    "body",
    "ignored",
    json_type="integer",
    note="no per-message timer: wagw gives every message the timer the chat has (docs/jobs.md set_disappearing)",
)
REPLY_MEDIA = Field(
    "reply_message_id",
    "body",
    "ignored",
    note="wagw's media sends cannot quote a message; send_text can (reply_message_id there)",
)
SENDER = Field(
    "sender",
    "body",
    "phone",
    "sender",
    extension=True,
    note="who sent the message, when wagw's history store has not seen it (it is looked up there, as that "
    "API looks it up in its own store): required in a group, in a direct chat the other person unless given",
)
SEND_FORWARD = (IS_FORWARDED, DURATION)
PARTICIPANTS = Field("participants", "body", "phones", "participants", required=True)
SEND_STATUS = "{status}"  # a send's envelope message is its results' status, as there

_PASSKEY = "neonize 0.5.2 has no passkey (WebAuthn) pairing"
_PAIR = "QR (`GET /app/login`) or pairing code (`GET /app/login-with-code`), or `wagw pair`"
_CHATWOOT = "wagw has no Chatwoot integration"
_CHATWOOT_INSTEAD = "a webhook endpoint (WAGW_WEBHOOK_URLS) that forwards events to Chatwoot"
_APP_STATE = (
    "an app-state patch of this account's own devices, for which neonize 0.5.2 has no builder "
    "(only the generic send_app_state)"
)
_NEWSLETTER = "not one of wagw's jobs (neonize's newsletter calls are not wired)"
_PAIRING = "wagw.api pairing and device routes"
_PAIRING_DIFFERS = (
    "a device is a wagw account (its name is the `device_id`; adding or removing one is `wagw accounts "
    "add|remove`); a login links the account's next unpaired device (its session and each wa-worker slot "
    "are linked devices of their own): wagw.api.devices"
)


def _media(name: str) -> tuple[Field, Field]:
    """A media send's upload field and its URL twin (`<name>_url`), both the job's argument `name`."""
    return Field(name, "file", "file", name), Field(f"{name}_url", "body", "url", name)


def _pairing_row(method: str, path: str, operation_id: str, tag: str, summary: str) -> Row:
    """A row of that API's pairing and devices, served by wagw.api.devices."""
    return Row(method, path, operation_id, tag, summary, "differs", differs=_PAIRING_DIFFERS, served_by=_PAIRING)


ROWS: tuple[Row, ...] = (
    # -- app ---------------------------------------------------------------------------------
    Row(
        "GET",
        "/health",
        "health",
        "app",
        "Health check",
        "differs",
        differs="the envelope with Redis's and the linked devices' state, not the text `OK`; 503 when Redis "
        "does not answer",
        served_by="wagw.api core",
    ),
    _pairing_row("GET", "/app/login", "appLogin", "app", "Login to whatsapp server"),
    _pairing_row("GET", "/app/login-with-code", "appLoginWithCode", "app", "Login with pairing code"),
    *(
        Row(method, path, operation_id, "app", summary, "not supported", reason=_PASSKEY, instead=_PAIR)
        for method, path, operation_id, summary in (
            ("GET", "/app/passkey", "appPasskeyStatus", "Get pending passkey pairing state"),
            (
                "POST",
                "/app/passkey/response",
                "appPasskeyResponse",
                "Submit the WebAuthn assertion for passkey pairing",
            ),
            ("POST", "/app/passkey/confirm", "appPasskeyConfirm", "Confirm the passkey pairing code"),
        )
    ),
    _pairing_row("GET", "/app/logout", "appLogout", "app", "Logout the active device"),
    _pairing_row("GET", "/app/reconnect", "appReconnect", "app", "Reconnecting to whatsapp server"),
    _pairing_row("GET", "/app/devices", "appDevices", "app", "Get list connected devices"),
    _pairing_row("GET", "/app/status", "appStatus", "app", "Get connection status"),
    Row(
        "GET",
        "/app/info",
        "appInfo",
        "app",
        "Get server metadata",
        "differs",
        result="app_info",
        message="Fetch app info success",
        differs="answered by the API process itself: `version` is wagw's, `os` is `wagw`, the size caps are "
        "wagw's (16 MiB image and video, 100 MiB document), `chatwoot_enabled` is false",
    ),
    # -- devices -----------------------------------------------------------------------------
    _pairing_row("GET", "/devices", "listDevices", "device", "List all devices"),
    _pairing_row("POST", "/devices", "addDevice", "device", "Add a new device"),
    _pairing_row("GET", "/devices/{device_id}", "getDevice", "device", "Get device info"),
    _pairing_row("DELETE", "/devices/{device_id}", "removeDevice", "device", "Remove a device"),
    _pairing_row("GET", "/devices/{device_id}/login", "loginDevice", "device", "Login a device with QR code"),
    _pairing_row(
        "POST", "/devices/{device_id}/login/code", "loginDeviceWithCode", "device", "Login a device with pairing code"
    ),
    _pairing_row("POST", "/devices/{device_id}/logout", "logoutDevice", "device", "Logout device"),
    _pairing_row("POST", "/devices/{device_id}/reconnect", "reconnectDevice", "device", "Reconnect device"),
    _pairing_row("GET", "/devices/{device_id}/status", "getDeviceStatus", "device", "Get device connection status"),
    Row(
        "GET",
        "/devices/{device_id}/webhook",
        "getDeviceWebhook",
        "device",
        "Get device webhook configuration",
        "not supported",
        reason="webhook endpoints are settings of the daemon, read at start; an endpoint's secret never leaves it",
        instead="WAGW_WEBHOOK_URLS, or per account WAGW_ACCOUNT__<NAME>__WEBHOOK_URLS (docs/configuration.md)",
    ),
    Row(
        "PATCH",
        "/devices/{device_id}/webhook",
        "updateDeviceWebhook",
        "device",
        "Set device webhook configuration",
        "not supported",
        reason="an API caller may not choose where wagw sends signed bodies (docs/security.md): endpoints are "
        "the daemon's settings",
        instead="WAGW_WEBHOOK_URLS, or per account WAGW_ACCOUNT__<NAME>__WEBHOOK_URLS (docs/configuration.md)",
    ),
    # -- user --------------------------------------------------------------------------------
    Row(
        "GET",
        "/user/info",
        "userInfo",
        "user",
        "User Info",
        "differs",
        "user_info",
        fields=(Field("phone", "query", "phone", "jids", required=True),),
        result="user_info",
        message="Success get user info",
        differs="`results.data[]` as that server answers, and the first entry's fields also at the top of "
        "`results` as its openapi.yaml documents them; `name` is empty (wagw keeps no chat store); "
        "`devices[].Device` is the platform of the device number, `Agent` 0; no `resolved_phone`/`resolved_lid`",
    ),
    Row(
        "GET",
        "/user/avatar",
        "userAvatar",
        "user",
        "User Avatar",
        "differs",
        "fetch_avatar",
        fields=(
            Field("phone", "query", "phone", "jid", required=True),
            Field("is_preview", "query", "bool", "preview"),
            Field("is_community", "query", "bool", "is_community"),
        ),
        result="avatar",
        message="Success get avatar",
        differs="a user without a picture (or hiding it) answers 200 with empty `url` and `id` (that server "
        "answers 500 `no avatar found`)",
    ),
    Row(
        "POST",
        "/user/avatar",
        "userChangeAvatar",
        "user",
        "User Change Avatar",
        "not supported",
        body="multipart",
        reason="changing this account's own profile photo is not one of wagw's jobs",
        instead="the phone's WhatsApp settings",
    ),
    Row(
        "POST",
        "/user/pushname",
        "userChangePushName",
        "user",
        "User Change Push Name",
        "not supported",
        body="json",
        reason="changing this account's push name is not one of wagw's jobs",
        instead="the phone's WhatsApp settings",
    ),
    Row(
        "GET",
        "/user/my/privacy",
        "userMyPrivacy",
        "user",
        "User My Privacy Setting",
        "same",
        "my_privacy",
        result="privacy",
        message="Success get privacy",
    ),
    Row(
        "GET",
        "/user/my/groups",
        "userMyGroups",
        "user",
        "User My List Groups",
        "differs",
        "joined_groups",
        result="groups",
        message="Success get list groups",
        differs="each group has the whatsmeow GroupInfo fields wagw's group_info knows (JID, OwnerJID, Name, "
        "Topic, GroupCreated, IsLocked, IsAnnounce, ParticipantCount, Participants); the rest are left out, "
        "not guessed",
    ),
    Row(
        "GET",
        "/user/my/newsletters",
        "userMyNewsletter",
        "user",
        "User My List Newsletters",
        "not supported",
        reason=_NEWSLETTER,
        instead="channel messages arrive as newsletter.* webhook events",
    ),
    Row(
        "GET",
        "/user/my/contacts",
        "userMyContacts",
        "user",
        "Get list of user contacts",
        "same",
        "contacts",
        result="contacts",
        message="Success get list contacts",
    ),
    Row(
        "GET",
        "/user/check",
        "userCheck",
        "user",
        "Check if user is on WhatsApp",
        "same",
        "is_on_whatsapp",
        fields=(Field("phone", "query", "phone", "phones", required=True),),
        result="check",
        message="Success check user",
    ),
    Row(
        "GET",
        "/user/business-profile",
        "userBusinessProfile",
        "user",
        "Get Business Profile Information",
        "not supported",
        fields=(Field("phone", "query", "phone", required=True),),
        reason="neonize 0.5.2 has no call for whatsmeow's GetBusinessProfile",
        instead="`GET /user/info` (its `verified_name` is the business name)",
    ),
    # -- send --------------------------------------------------------------------------------
    Row(
        "POST",
        "/send/message",
        "sendMessage",
        "send",
        "Send Message",
        "differs",
        "send_text",
        body="json",
        fields=(
            PHONE,
            Field("message", "body", "text", "text", required=True),
            Field("reply_message_id", "body", "text", "reply_to"),
            Field(
                "mentions",
                "body",
                "phones",
                "mentions",
                note="phone numbers or JIDs; `@everyone` is not supported (list the members)",
            ),
            Field(
                "reply_sender",
                "body",
                "phone",
                "reply_to_sender",
                extension=True,
                note="who sent the quoted message, when wagw's history store has not seen it (it is looked up "
                "there): required when replying in a group",
            ),
            *SEND_FORWARD,
        ),
        result="send",
        message="Message sent to {phone} (server timestamp: {timestamp})",
        differs="`@<number>` in `message` is not read as a mention: list mentions in `mentions`; a reply in a "
        "group needs `reply_sender` unless wagw's history store has the quoted message; `is_forwarded` and "
        "`duration` are ignored",
    ),
    Row(
        "POST",
        "/send/image",
        "sendImage",
        "send",
        "Send Image",
        "differs",
        "send_image",
        body="multipart",
        fields=(
            PHONE,
            Field("caption", "body", "text", "caption"),
            Field("view_once", "body", "bool", "view_once"),
            *_media("image"),
            Field("compress", "body", "ignored", json_type="boolean", note="the image is sent as given"),
            Field("hd", "body", "ignored", json_type="boolean", note="the image is sent as given"),
            REPLY_MEDIA,
            *SEND_FORWARD,
        ),
        result="send",
        message="Message sent to {phone} (server timestamp: {timestamp})",
        differs="JPEG, PNG, GIF or WebP up to 16 MiB, sent as given (no `compress`/`hd` re-encoding); "
        "`reply_message_id`, `is_forwarded` and `duration` are ignored",
    ),
    Row(
        "POST",
        "/send/audio",
        "sendAudio",
        "send",
        "Send Audio",
        "differs",
        "send_audio",
        body="multipart",
        fields=(
            PHONE,
            *_media("audio"),
            Field("ptt", "body", "bool", "ptt"),
            REPLY_MEDIA,
            *SEND_FORWARD,
        ),
        result="send",
        message="Send audio success {phone} (server timestamp: {timestamp})",
        differs="no conversion: Ogg, MP3 or M4A as given, and a voice note (`ptt`) must already be Ogg Opus; "
        "`reply_message_id`, `is_forwarded` and `duration` are ignored",
    ),
    Row(
        "POST",
        "/send/file",
        "sendFile",
        "send",
        "Send File",
        "differs",
        "send_file",
        body="multipart",
        fields=(
            PHONE,
            Field("caption", "body", "text", "caption"),
            *_media("file"),
            REPLY_MEDIA,
            *SEND_FORWARD,
        ),
        result="send",
        message="Document sent to {phone} (server timestamp: {timestamp})",
        differs="the uploaded file's name is the document's name; the mimetype is sniffed from the bytes; "
        "`reply_message_id`, `is_forwarded` and `duration` are ignored",
    ),
    Row(
        "POST",
        "/send/sticker",
        "sendSticker",
        "send",
        "Send Sticker",
        "differs",
        "send_sticker",
        body="multipart",
        fields=(
            PHONE,
            *_media("sticker"),
            *SEND_FORWARD,
        ),
        result="send",
        message="Sticker sent to {phone} (server timestamp: {timestamp})",
        differs="static images only, up to 1 MiB (that server also converts animated ones with ffmpeg); "
        "`is_forwarded` and `duration` are ignored",
    ),
    Row(
        "POST",
        "/send/video",
        "sendVideo",
        "send",
        "Send Video",
        "differs",
        "send_video",
        body="multipart",
        fields=(
            PHONE,
            Field("caption", "body", "text", "caption"),
            Field("view_once", "body", "bool", "view_once"),
            *_media("video"),
            Field(
                "compress", "body", "ignored", json_type="boolean", note="no re-encoding: the video is sent as given"
            ),
            Field("hd", "body", "ignored", json_type="boolean", note="no re-encoding: the video is sent as given"),
            Field("gif_playback", "body", "ignored", json_type="boolean", note="not supported by wagw's send_video"),
            REPLY_MEDIA,
            *SEND_FORWARD,
        ),
        result="send",
        message="Video sent to {phone} (server timestamp: {timestamp})",
        differs="MP4 only, up to 16 MiB, sent as given (no ffmpeg: no `compress`, `hd`, `gif_playback` or "
        "thumbnail); `reply_message_id`, `is_forwarded` and `duration` are ignored",
    ),
    Row(
        "POST",
        "/send/contact",
        "sendContact",
        "send",
        "Send Contact",
        "differs",
        "send_contact",
        body="json",
        fields=(
            PHONE,
            Field("contact_name", "body", "text", "name", required=True),
            Field("contact_phone", "body", "text", "phone", required=True),
            *SEND_FORWARD,
        ),
        result="send",
        message="Contact sent to {phone} (server timestamp: {timestamp})",
        differs="`is_forwarded` and `duration` are ignored",
    ),
    Row(
        "POST",
        "/send/link",
        "sendLink",
        "send",
        "Send Link",
        "differs",
        "send_link",
        body="json",
        fields=(
            PHONE,
            Field("link", "body", "text", "url", required=True),
            Field("caption", "body", "text", "caption"),
            *SEND_FORWARD,
        ),
        result="send",
        message="Link sent to {phone} (server timestamp: {timestamp})",
        differs="no preview card: wagw does not fetch the page (that server does); `is_forwarded` and "
        "`duration` are ignored",
    ),
    Row(
        "POST",
        "/send/location",
        "sendLocation",
        "send",
        "Send Location",
        "differs",
        "send_location",
        body="json",
        fields=(
            PHONE,
            Field("latitude", "body", "float", "latitude", required=True),
            Field("longitude", "body", "float", "longitude", required=True),
            *SEND_FORWARD,
        ),
        result="send",
        message="Send location success {phone} (server timestamp: {timestamp})",
        differs="`is_forwarded` and `duration` are ignored",
    ),
    Row(
        "POST",
        "/send/poll",
        "sendPoll",
        "send",
        "Send Poll / Vote",
        "differs",
        "send_poll",
        body="json",
        fields=(
            PHONE,
            Field("question", "body", "text", "question", required=True),
            Field("options", "body", "list", "options", required=True),
            Field("max_answer", "body", "int", "max_answers", required=True),
            DURATION,
        ),
        result="send",
        message="Send poll success {phone} (server timestamp: {timestamp})",
        differs="`duration` is ignored",
    ),
    Row(
        "POST",
        "/send/presence",
        "sendPresence",
        "send",
        "Send presence status",
        "same",
        "send_presence",
        body="json",
        fields=(
            Field("type", "body", "text", "presence", required=True),
            Field("is_forwarded", "body", "ignored", json_type="boolean", note="has no meaning for a presence"),
        ),
        result="presence",
        message=SEND_STATUS,
    ),
    Row(
        "POST",
        "/send/chat-presence",
        "sendChatPresence",
        "send",
        "Send chat presence (typing indicator)",
        "same",
        "send_chat_presence",
        body="json",
        fields=(
            Field("phone", "body", "phone", "chat", required=True),
            Field("action", "body", "text", "state", required=True, values={"start": "composing", "stop": "paused"}),
        ),
        result="chat_presence",
        message=SEND_STATUS,
    ),
    # -- message -----------------------------------------------------------------------------
    Row(
        "POST",
        "/message/{message_id}/revoke",
        "revokeMessage",
        "message",
        "Revoke Message",
        "differs",
        "revoke",
        body="json",
        fields=(MESSAGE_ID, Field("phone", "body", "phone", "chat", required=True), SENDER),
        result="message_action",
        message="Revoke success {phone} (server timestamp: {timestamp})",
        differs="the sender is looked up in wagw's history store (as that server looks it up in its own); a "
        "message the store has not seen is taken as this account's own unless `sender` names another member",
    ),
    Row(
        "POST",
        "/message/{message_id}/delete",
        "deleteMessage",
        "message",
        "Delete Message",
        "not supported",
        body="json",
        reason="delete for me is " + _APP_STATE,
        instead="`POST /message/{message_id}/revoke` (delete for everyone)",
    ),
    Row(
        "POST",
        "/message/{message_id}/reaction",
        "reactMessage",
        "message",
        "Send reaction to message",
        "differs",
        "react",
        body="json",
        fields=(
            MESSAGE_ID,
            Field("phone", "body", "phone", "chat", required=True),
            Field("emoji", "body", "text", "emoji", required=True),
            SENDER,
        ),
        result="message_action",
        message="Reaction sent to {phone} (server timestamp: {timestamp})",
        differs="the sender is looked up in wagw's history store, as that server looks it up in its own; a "
        "message the store has not seen is taken to be the other person's in a direct chat (that server takes "
        "it as its own) unless `sender` says otherwise, and needs `sender` in a group",
    ),
    Row(
        "POST",
        "/message/{message_id}/update",
        "updateMessage",
        "message",
        "Edit message by message ID before 15 minutes",
        "same",
        "edit_message",
        body="json",
        fields=(
            MESSAGE_ID,
            Field("phone", "body", "phone", "chat", required=True),
            Field("message", "body", "text", "text", required=True),
        ),
        result="message_action",
        message="Update message success {phone} (server timestamp: {timestamp})",
    ),
    Row(
        "POST",
        "/message/{message_id}/read",
        "readMessage",
        "message",
        "Mark as read message",
        "differs",
        "mark_read",
        body="json",
        fields=(
            Field("message_id", "path", "list", "ids", required=True),
            Field("phone", "body", "phone", "chat", required=True),
            SENDER,
        ),
        result="read",
        message=SEND_STATUS,
        differs="the sender is looked up in wagw's history store; in a group, a message it has not seen needs "
        "`sender` (whose message it is)",
    ),
    Row(
        "POST",
        "/message/{message_id}/star",
        "starMessage",
        "message",
        "Star message",
        "not supported",
        body="json",
        reason="starring is " + _APP_STATE,
        instead="keep the mark in the app",
    ),
    Row(
        "POST",
        "/message/{message_id}/unstar",
        "unstarMessage",
        "message",
        "Unstar message",
        "not supported",
        body="json",
        reason="starring is " + _APP_STATE,
        instead="keep the mark in the app",
    ),
    Row(
        "POST",
        "/message/{message_id}/forward",
        "forwardMessage",
        "message",
        "Forward Message",
        "not supported",
        body="json",
        reason="wagw keeps no message content to forward",
        instead="send the content again with the `/send/*` operation of its kind",
    ),
    Row(
        "GET",
        "/message/{message_id}/download",
        "downloadMessageMedia",
        "message",
        "Download media from message",
        "differs",
        "download_media",
        fields=(
            Field("message_id", "path", "text", "message_id", required=True),
            Field("phone", "query", "phone", "chat", note="the chat; any chat when left out"),
        ),
        result="download",
        message="{status}",
        differs="the message is looked up in wagw's history store (404 NOT_FOUND when it has not seen it) and "
        "its media downloaded by the `download_media` job into `WAGW_MEDIA_DIR`: `file_path` is that file; "
        "no `file_url` (wagw serves no static files)",
    ),
    # -- call --------------------------------------------------------------------------------
    Row(
        "POST",
        "/call/reject",
        "rejectCall",
        "call",
        "Reject an incoming call",
        "same",
        "reject_call",
        body="json",
        fields=(
            Field("caller_jid", "body", "phone", "caller", required=True),
            Field("call_id", "body", "text", "call_id", required=True),
        ),
        message="Call rejected successfully",
    ),
    # -- chat --------------------------------------------------------------------------------
    Row(
        "GET",
        "/chats",
        "listChats",
        "chat",
        "Get list of chats",
        "differs",
        fields=(
            Field("limit", "query", "int", "limit"),
            Field("offset", "query", "int", "offset"),
            Field("search", "query", "text", "search"),
            Field("has_media", "query", "bool", "has_media"),
            Field("archived", "query", "bool", "archived", note="wagw does not follow archiving: true finds none"),
        ),
        result="history_chats",
        message="Success get chat list",
        differs="answered from wagw's history store (what the daemon has seen, and WhatsApp's history sync); "
        "`archived` is always false and `archived=true` finds none; `ephemeral_expiration` is 0",
    ),
    Row(
        "GET",
        "/chat/{chat_jid}/messages",
        "getChatMessages",
        "chat",
        "Get messages from a specific chat",
        "differs",
        fields=(
            Field("chat_jid", "path", "phone", "chat_jid", required=True),
            Field("limit", "query", "int", "limit"),
            Field("offset", "query", "int", "offset"),
            Field("start_time", "query", "text", "start_time"),
            Field("end_time", "query", "text", "end_time"),
            Field("media_only", "query", "bool", "media_only"),
            Field("is_from_me", "query", "bool", "is_from_me"),
            Field("search", "query", "text", "search"),
        ),
        result="history_messages",
        message="Success get chat messages",
        differs="answered from wagw's history store; a chat it has not seen is 404 NOT_FOUND; a reaction has "
        "`emoji` and `sender_jid` only",
    ),
    Row(
        "POST",
        "/chat/{chat_jid}/pin",
        "pinChat",
        "chat",
        "Pin or unpin a chat",
        "not supported",
        body="json",
        reason="pinning is " + _APP_STATE,
        instead="pin the chat on the phone",
    ),
    Row(
        "POST",
        "/chat/{chat_jid}/disappearing",
        "setDisappearingTimer",
        "chat",
        "Set disappearing messages timer",
        "same",
        "set_disappearing",
        body="json",
        fields=(CHAT_JID, Field("timer_seconds", "body", "int", "seconds", required=True)),
        result="disappearing",
        message="{message}",
    ),
    Row(
        "POST",
        "/chat/{chat_jid}/archive",
        "archiveChat",
        "chat",
        "Archive or unarchive a chat",
        "not supported",
        body="json",
        reason="archiving is " + _APP_STATE,
        instead="archive the chat on the phone",
    ),
    # -- group -------------------------------------------------------------------------------
    Row(
        "GET",
        "/group/info",
        "groupInfo",
        "group",
        "Group Info",
        "differs",
        "group_info",
        fields=(GROUP_ID_QUERY,),
        result="group_info",
        message="Success get group info",
        differs="the whatsmeow GroupInfo fields wagw's group_info knows (as `/user/my/groups`)",
    ),
    Row(
        "POST",
        "/group",
        "createGroup",
        "group",
        "Create group and add participant",
        "same",
        "create_group",
        body="json",
        fields=(Field("title", "body", "text", "name", required=True), PARTICIPANTS),
        result="create_group",
        message="Success created group with id {group_id}",
    ),
    Row(
        "GET",
        "/group/participants",
        "getGroupParticipants",
        "group",
        "Get list of participants in a group",
        "same",
        "group_info",
        fields=(GROUP_ID_QUERY,),
        result="participants",
        missing=NO_GROUP_ID,
        message="Success getting group participants",
    ),
    *(
        Row(
            "POST",
            path,
            operation_id,
            "group",
            summary,
            "differs",
            "group_participants",
            body="json",
            fields=(GROUP_ID, PARTICIPANTS),
            fixed={"action": action},
            result="participant_changes",
            message=message,
            differs="a participant WhatsApp refused (its code: 409 already in, 404 not in, 403 privacy, 408 left "
            "recently) has status `error` and the code in its message (that server says `success` except for "
            "a 403 with an invite)",
        )
        for path, operation_id, summary, action, message in (
            (
                "/group/participants",
                "addParticipantToGroup",
                "Adding more participants to group",
                "add",
                "Success add participants",
            ),
            (
                "/group/participants/remove",
                "removeParticipantFromGroup",
                "Remove participants from group",
                "remove",
                "Success delete participants",
            ),
            (
                "/group/participants/promote",
                "promoteParticipantToAdmin",
                "Promote participants to admin",
                "promote",
                "Success promote participants",
            ),
            (
                "/group/participants/demote",
                "demoteParticipantToMember",
                "Demote participants to member",
                "demote",
                "Success demote participants",
            ),
        )
    ),
    Row(
        "GET",
        "/group/participants/export",
        "exportGroupParticipants",
        "group",
        "Export group participants as CSV",
        "same",
        "group_info",
        fields=(GROUP_ID_QUERY,),
        result="participants_csv",
        missing=NO_GROUP_ID,
        message="",
    ),
    Row(
        "POST",
        "/group/join-with-link",
        "joinGroupWithLink",
        "group",
        "Join group with link",
        "same",
        "join_group",
        body="json",
        fields=(Field("link", "body", "text", "link", required=True),),
        result="join",
        message="Success joined group",
    ),
    Row(
        "GET",
        "/group/info-from-link",
        "getGroupInfoFromLink",
        "group",
        "Get group information from invitation link",
        "differs",
        "group_info_from_link",
        fields=(Field("link", "query", "text", "link", required=True),),
        result="info_from_link",
        message="Success get group info from link",
        differs="`is_ephemeral` is left out (neonize does not pass it on); `description` is the topic",
    ),
    Row(
        "GET",
        "/group/participant-requests",
        "getGroupParticipantRequests",
        "group",
        "Get list of participant requests to join group",
        "differs",
        "group_requests",
        fields=(GROUP_ID_QUERY,),
        result="requests",
        missing=NO_GROUP_ID,
        message="Success getting list requested participants",
        differs="no `display_name` (wagw reads no contact names for requests)",
    ),
    *(
        Row(
            "POST",
            path,
            operation_id,
            "group",
            summary,
            "not supported",
            body="json",
            reason="neonize 0.5.2 does not pass on whatsmeow's UpdateGroupRequestParticipants",
            instead="`GET /group/participant-requests` lists them; approve or reject on the phone, or send the "
            "person `GET /group/invite-link`",
        )
        for path, operation_id, summary in (
            (
                "/group/participant-requests/approve",
                "approveGroupParticipantRequest",
                "Approve participant request to join group",
            ),
            (
                "/group/participant-requests/reject",
                "rejectGroupParticipantRequest",
                "Reject participant request to join group",
            ),
        )
    ),
    Row(
        "POST",
        "/group/leave",
        "leaveGroup",
        "group",
        "Leave group",
        "same",
        "leave_group",
        body="json",
        fields=(GROUP_ID,),
        message="Success leave group",
    ),
    Row(
        "POST",
        "/group/photo",
        "setGroupPhoto",
        "group",
        "Set group photo",
        "differs",
        "set_group_photo",
        body="multipart",
        fields=(GROUP_ID, Field("photo", "file", "file", "image", required=True)),
        result="photo",
        message="Success update group photo",
        differs="`photo` is required: removing a group's photo is not available (neonize 0.5.2)",
    ),
    Row(
        "POST",
        "/group/name",
        "setGroupName",
        "group",
        "Set group name",
        "same",
        "set_group_name",
        body="json",
        fields=(GROUP_ID, Field("name", "body", "text", "name", required=True)),
        message="Success update group name to '{name}'",
    ),
    Row(
        "POST",
        "/group/locked",
        "setGroupLocked",
        "group",
        "Set group locked status",
        "same",
        "set_group_locked",
        body="json",
        fields=(GROUP_ID, Field("locked", "body", "bool", "locked", required=True)),
        result="locked",
        message="{message}",
    ),
    Row(
        "POST",
        "/group/announce",
        "setGroupAnnounce",
        "group",
        "Set group announce mode",
        "same",
        "set_group_announce",
        body="json",
        fields=(GROUP_ID, Field("announce", "body", "bool", "announce", required=True)),
        result="announce",
        message="{message}",
    ),
    Row(
        "POST",
        "/group/topic",
        "setGroupTopic",
        "group",
        "Set group topic",
        "same",
        "set_group_topic",
        body="json",
        fields=(GROUP_ID, Field("topic", "body", "text", "topic")),
        fixed={"topic": ""},
        result="topic",
        message="{message}",
    ),
    Row(
        "GET",
        "/group/invite-link",
        "groupInviteLink",
        "group",
        "Group Invite Link",
        "same",
        "group_invite_link",
        fields=(GROUP_ID_QUERY, Field("reset", "query", "bool", "reset")),
        result="invite_link",
        message="Success get group invite link",
    ),
    # -- newsletter --------------------------------------------------------------------------
    Row(
        "POST",
        "/newsletter/unfollow",
        "unfollowNewsletter",
        "newsletter",
        "Unfollow newsletter",
        "not supported",
        body="json",
        reason=_NEWSLETTER,
        instead="unfollow the channel on the phone",
    ),
    Row(
        "GET",
        "/newsletter/messages",
        "getNewsletterMessages",
        "newsletter",
        "Get latest newsletter (channel) messages",
        "not supported",
        reason=_NEWSLETTER,
        instead="channel posts arrive as `newsletter.message` webhook events",
    ),
    # -- chatwoot ----------------------------------------------------------------------------
    *(
        Row(
            method,
            path,
            operation_id,
            "chatwoot",
            summary,
            "not supported",
            body="json" if method in ("POST", "PUT") else None,
            reason=_CHATWOOT,
            instead=_CHATWOOT_INSTEAD,
        )
        for method, path, operation_id, summary in (
            ("POST", "/chatwoot/sync", "chatwootSyncHistory", "Sync message history to Chatwoot"),
            ("GET", "/chatwoot/sync/status", "chatwootSyncStatus", "Get Chatwoot sync progress"),
            ("POST", "/chatwoot/webhook", "chatwootWebhook", "Chatwoot webhook endpoint"),
            ("POST", "/chatwoot/webhook/{device_id}", "chatwootDeviceWebhook", "Per-device Chatwoot webhook endpoint"),
            ("GET", "/chatwoot/configs", "chatwootListConfigs", "List per-device Chatwoot configs"),
            (
                "GET",
                "/devices/{device_id}/chatwoot/config",
                "chatwootGetDeviceConfig",
                "Get a device's Chatwoot config",
            ),
            (
                "PUT",
                "/devices/{device_id}/chatwoot/config",
                "chatwootUpsertDeviceConfig",
                "Create or update a device's Chatwoot config",
            ),
            (
                "DELETE",
                "/devices/{device_id}/chatwoot/config",
                "chatwootDeleteDeviceConfig",
                "Delete a device's Chatwoot config",
            ),
        )
    ),
)

BY_KEY: dict[tuple[str, str], Row] = {row.key: row for row in ROWS}


def counts() -> dict[str, int]:
    """How many operations are the same, differ, or are not supported."""
    tally = {"same": 0, "differs": 0, "not supported": 0}
    for row in ROWS:
        tally[row.status] += 1
    return tally
