"""What a neonize Message proto carries, read the way go-whatsapp-web-multidevice reads
whatsmeow's: its text, media, location, contact cards, poll or vote, a Click-to-WhatsApp ad's
referral, and which content field wagw does not map; and JIDs as text.

Works on the proto objects by field name only and never imports neonize itself (like
neonize_events, which builds the events from these).
"""

from __future__ import annotations

import base64
from typing import Any

from wagw import events

# Message fields that wrap the real content (whatsmeow's UnwrapRaw, go-whatsapp's UnwrapMessage).
_WRAPPERS = (
    "deviceSentMessage",
    "ephemeralMessage",
    "viewOnceMessage",
    "viewOnceMessageV2",
    "viewOnceMessageV2Extension",
    "documentWithCaptionMessage",
    "editedMessage",
)
# Message kinds that are plumbing, not something a person sent.
PLUMBING = ("senderKeyDistributionMessage", "fastRatchetKeySenderKeyDistributionMessage", "messageContextInfo")
# The versions of a poll's creation message (all of type PollCreationMessage).
_POLLS = (
    "pollCreationMessage",
    "pollCreationMessageV2",
    "pollCreationMessageV3",
    "pollCreationMessageV5",
    "pollCreationMessageV6",
)
_MEDIA_FIELDS = {
    "imageMessage": "image",
    "videoMessage": "video",
    "audioMessage": "audio",
    "documentMessage": "document",
    "stickerMessage": "sticker",
    "ptvMessage": "video_note",
}


def jid_str(jid: Any) -> str | None:
    """A neonize JID proto -> "user@server" (device part dropped), or None when empty."""
    if jid is None or not getattr(jid, "Server", ""):
        return None
    if getattr(jid, "IsEmpty", False):
        return None
    return f"{jid.User}@{jid.Server}" if jid.User else jid.Server


def has_field(message: Any, field: str) -> bool:
    try:
        return message.HasField(field)
    except ValueError:
        return False


def unwrap(message: Any) -> tuple[Any, bool]:
    """(innermost content, view_once): peel ephemeral/view-once/edit/device-sent wrappers."""
    view_once = False
    for _ in range(8):  # wrappers nest a few levels at most
        for wrapper in _WRAPPERS:
            if has_field(message, wrapper):
                view_once = view_once or wrapper.startswith("viewOnce")
                inner = getattr(message, wrapper)
                message = inner.message
                break
        else:
            return message, view_once
    return message, view_once


def text_of(message: Any) -> str | None:
    """The text a person wrote: conversation, extended text, or a media caption."""
    if message is None:
        return None
    message, _ = unwrap(message)
    if message.conversation:
        return message.conversation
    if has_field(message, "extendedTextMessage") and message.extendedTextMessage.text:
        return message.extendedTextMessage.text
    for field in ("imageMessage", "videoMessage", "documentMessage"):
        if has_field(message, field) and getattr(message, field).caption:
            return getattr(message, field).caption
    return None


def _b64(data: bytes) -> str | None:
    return base64.b64encode(data).decode() if data else None


def media_of(message: Any) -> tuple[str, dict[str, Any]] | None:
    """(kind, object) for a media message: what a consumer needs to show or download it."""
    for field, kind in _MEDIA_FIELDS.items():
        if not has_field(message, field):
            continue
        media = getattr(message, field)
        obj: dict[str, Any] = {
            "url": media.URL or None,
            "mime_type": media.mimetype or None,
            "caption": getattr(media, "caption", "") or None,
            "filename": getattr(media, "fileName", "") or None,
            "file_length": media.fileLength or None,
            "seconds": getattr(media, "seconds", 0) or None,
            "direct_path": media.directPath or None,
            "media_key": _b64(media.mediaKey),
            "file_sha256": _b64(media.fileSHA256),
            "file_enc_sha256": _b64(media.fileEncSHA256),
        }
        if kind == "audio" and media.PTT:
            obj["ptt"] = True
        return kind, obj
    return None


def context_info(message: Any) -> Any | None:
    for field in ("extendedTextMessage", *_MEDIA_FIELDS, "locationMessage", "contactMessage", *_POLLS):
        if has_field(message, field):
            inner = getattr(message, field)
            if has_field(inner, "contextInfo"):
                return inner.contextInfo
            return None
    return None


def other_content(message: Any) -> dict[str, Any]:
    """Locations, contact cards and polls: go-whatsapp's field names where it has them."""
    extra: dict[str, Any] = {}
    for field in _POLLS:
        if has_field(message, field):
            poll = getattr(message, field)
            options = [option.optionName for option in poll.options]
            extra["poll"] = events.poll(poll.name, options, poll.selectableOptionsCount)
            break
    if has_field(message, "pollUpdateMessage"):
        # A vote; which options were chosen is encrypted, and decrypting it is a native call
        # the session does not make (docs/events.md).
        extra["poll_vote"] = {"poll_id": message.pollUpdateMessage.pollCreationMessageKey.ID}
    if has_field(message, "liveLocationMessage"):
        live = message.liveLocationMessage
        extra["live_location"] = events.live_location(live.degreesLatitude, live.degreesLongitude)
    if has_field(message, "contactsArrayMessage"):
        extra["contacts_array"] = [
            events.contact_card(c.displayName, c.vcard) for c in message.contactsArrayMessage.contacts
        ]
    if has_field(message, "locationMessage"):
        loc = message.locationMessage
        extra["location"] = events.location(loc.degreesLatitude, loc.degreesLongitude, loc.name, loc.address)
    if has_field(message, "contactMessage"):
        extra["contact"] = events.contact_card(message.contactMessage.displayName, message.contactMessage.vcard)
    return extra


# ExternalAdReplyInfo field -> go-whatsapp's referral name.
_REFERRAL = {
    "ctwaClid": "ctwa_clid",
    "sourceURL": "source_url",
    "sourceID": "source_id",
    "ref": "ref",
    "sourceApp": "source_app",
    "title": "ad_title",
    "body": "ad_body",
    "thumbnailURL": "thumbnail_url",
    "originalImageURL": "original_image_url",
    "mediaURL": "media_url",
    "greetingMessageBody": "greeting_message_body",
    "sourceType": "source_type",
    "showAdAttribution": "show_ad_attribution",
    "containsAutoReply": "contains_auto_reply",
    "automatedGreetingMessageShown": "automated_greeting_message_shown",
    "clickToWhatsappCall": "click_to_whatsapp_call",
    "mediaType": "media_type",
    "adType": "ad_type",
}


def referral_of(context: Any | None) -> dict[str, Any] | None:
    """A Click-to-WhatsApp ad's attribution from the message's context (go-whatsapp's
    ExtractExternalAdReply): only the fields WhatsApp set; enums by their proto names."""
    if context is None or not has_field(context, "externalAdReply"):
        return None
    ad = context.externalAdReply
    fields: dict[str, Any] = {}
    for proto_name, name in _REFERRAL.items():
        if not has_field(ad, proto_name):
            continue
        value = getattr(ad, proto_name)
        enum = ad.DESCRIPTOR.fields_by_name[proto_name].enum_type
        fields[name] = enum.values_by_number[value].name if enum is not None else value
    return events.referral(**fields)


# What wagw turns into a `message` (anything else is labelled `unsupported`).
_MAPPED = frozenset(
    {
        "conversation",
        "extendedTextMessage",
        *_MEDIA_FIELDS,
        "locationMessage",
        "liveLocationMessage",
        "contactMessage",
        "contactsArrayMessage",
        *_POLLS,
        "pollUpdateMessage",
    }
)


def unmapped_field(fields: list[str]) -> str | None:
    """The first content field wagw has no mapping for, when nothing it maps is there."""
    if any(field in _MAPPED for field in fields):
        return None
    return next((field for field in fields if field not in PLUMBING), None)
