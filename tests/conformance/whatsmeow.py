"""The other side of neonize's Go boundary: what goneonize + whatsmeow answer, offline.

`World` is a small simulated WhatsApp account. Its methods are the network-touching Go
entries (GetProfilePicture, IsOnWhatsApp, SendMessage, …), each answering with the
`…ReturnFunction` proto goneonize builds, or goneonize's error text, with whatsmeow's exact
error strings (errors.go, user.go). The `encode_*` functions build event protos the way
goneonize's encoder.go does: message timestamps in milliseconds, receipts/calls/groups in
seconds, every JID set (an empty JID is User "" Server "" IsEmpty true, never unset), and
an enum value the encoder has no case for left unset, so that marshalling fails exactly as
Go's proto.Marshal does (`marshal`).

Facts used here, from goneonize (neonize 0.5.2) and whatsmeow:
- GroupInfo.GroupCreated is float32(unix seconds);
- IsOnWhatsApp: whatsmeow builds "<phone>@c.us" and queries with addressing_mode "lid", so
  a registered number is answered with its LID; goneonize keeps JID/Query/IsIn only and
  answers an empty list with "Function returned nothing.";
- EncodeReceipts: "played-self" is written as SERVER_ERROR, "server-error" has no case;
- EncodeTemporaryBan knows codes 101-104 and 106; EncodeConnectFailureReason knows 400-409,
  500, 501, 503 (not 413/414/415/418).
"""

from __future__ import annotations

import hashlib
import io
import queue
import sqlite3
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from neonize.proto import Neonize_pb2 as N
from neonize.proto.waE2E import WAWebProtobufsE2E_pb2 as E

from tests.conformance.names import (
    ACCOUNT,
    ALICE,
    ALICE_LID,
    ERR_FUNCTION_RETURNED_NOTHING,
    ERR_GROUP_NOT_FOUND,
    ERR_INVALID_DISAPPEARING_TIMER,
    ERR_INVALID_IMAGE_FORMAT,
    ERR_INVITE_LINK_INVALID,
    ERR_INVITE_LINK_REVOKED,
    ERR_INVITE_LINK_UNAUTHORIZED,
    ERR_IQ_BAD_REQUEST,
    ERR_IQ_FORBIDDEN,
    ERR_IQ_NOT_AUTHORIZED,
    ERR_IQ_NOT_FOUND,
    ERR_IQ_TIMED_OUT,
    ERR_NO_PUSH_NAME,
    ERR_NOT_CONNECTED,
    ERR_NOT_IN_GROUP,
    ERR_PROFILE_PICTURE_NOT_SET,
    ERR_PROFILE_PICTURE_UNAUTHORIZED,
    ERR_REACH_OUT_LIMITED,
    ERR_RECIPIENT_AD_JID,
    GROUP,
    GROUP_CREATED,
    HIDDEN_USER,
    INVITE_CODE,
    LEGACY_GROUP,
    PRIVATE_USER,
    PROTO_PREFIX,
    REACH_OUT_USER,
    REVOKED_CODE,
    SLOW_USER,
)

INVITE_LINK_PREFIX = "https://chat.whatsapp.com/"  # whatsmeow group.go


# JIDs -------------------------------------------------------------------------------------
def jid(text: str | None) -> N.JID:
    """EncodeJidProto: "user[:device]@server" -> JID with every field set; None -> empty JID."""
    if not text:
        return N.JID(User="", RawAgent=0, Device=0, Integrator=0, Server="", IsEmpty=True)
    user, _, server = text.partition("@")
    user, _, device = user.partition(":")
    return N.JID(User=user, RawAgent=0, Device=int(device or 0), Integrator=0, Server=server, IsEmpty=False)


def jid_text(value: N.JID) -> str:
    return f"{value.User}:{value.Device}@{value.Server}" if value.Device else f"{value.User}@{value.Server}"


def picture_size(data: bytes) -> list[int] | None:
    """[width, height] of bytes that are a picture (what a test reads of an upload), else None."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as picture:
            return list(picture.size)
    except (UnidentifiedImageError, OSError):
        return None


def float32(value: float) -> float:
    return struct.unpack("<f", struct.pack("<f", value))[0]


# Marshalling, as Go's proto.Marshal ------------------------------------------------------------
class MarshalError(Exception):
    """Go's proto.Marshal refused the message; str() is the Go error text."""


def marshal(message: Any) -> bytes:
    """proto.Marshal: refuses a message whose required fields are unset, naming the first."""
    missing = message.FindInitializationErrors()
    if missing:
        raise MarshalError(f"{PROTO_PREFIX}required field {_full_name(message, missing[0])} not set")
    return message.SerializeToString()


def _full_name(message: Any, path: str) -> str:
    descriptor = message.DESCRIPTOR
    *parents, name = path.split(".")
    for part in parents:
        descriptor = descriptor.fields_by_name[part.split("[")[0]].message_type
    return f"{descriptor.full_name}.{name}"


# Event encoders (goneonize utils/encoder.go) -----------------------------------------------------
RECEIPT_TYPES = {  # EncodeReceipts' switch; "server-error" has no case
    "": N.Receipt.DELIVERED,
    "sender": N.Receipt.SENDER,
    "retry": N.Receipt.RETRY,
    "read": N.Receipt.READ,
    "read-self": N.Receipt.READ_SELF,
    "played": N.Receipt.PLAYED,
    "played-self": N.Receipt.SERVER_ERROR,
    "inactive": N.Receipt.INACTIVE,
    "peer_msg": N.Receipt.PEER_MSG,
    "hist_sync": N.Receipt.HISTORY_SYNC,
}
TEMP_BAN_CODES = {101: 1, 102: 2, 103: 3, 104: 4, 106: 5}  # EncodeTemporaryBan
CONNECT_FAILURE_REASONS = {400: 1, 401: 2, 402: 3, 403: 4, 406: 5, 405: 6, 409: 7, 500: 8, 501: 9, 503: 10}

# neonize.events.EVENT_TO_INT codes
DEVICE_CODE, CONNECTED, LOGGED_OUT, TEMPORARY_BAN, CONNECT_FAILURE = 0, 3, 6, 8, 9
KEEPALIVE_TIMEOUT, KEEPALIVE_RESTORED = 4, 5
MESSAGE, RECEIPT, JOINED_GROUP, GROUP_INFO, CALL_OFFER = 17, 18, 21, 22, 36
CHAT_PRESENCE, NEWSLETTER_JOIN, NEWSLETTER_LEAVE, NEWSLETTER_MUTE_CHANGE, NEWSLETTER_LIVE_UPDATE = 19, 32, 33, 34, 35


def source(
    chat: str, sender: str, *, from_me: bool = False, sender_alt: str | None = None, recipient_alt: str | None = None
) -> N.MessageSource:
    return N.MessageSource(
        Chat=jid(chat),
        Sender=jid(sender),
        IsFromMe=from_me,
        IsGroup=chat.endswith("@g.us"),
        SenderAlt=jid(sender_alt),
        RecipientAlt=jid(recipient_alt),
        BroadcastListOwner=jid(None),
    )


def encode_message(
    content: E.Message, *, id: str, chat: str, sender: str, push_name: str = "", unix: int, **src: Any
) -> tuple[int, N.Message]:
    """EncodeEventTypesMessage + EncodeMessageInfo (Timestamp: UnixMilli)."""
    info = N.MessageInfo(
        MessageSource=source(chat, sender, **src),
        ID=id,
        ServerID=0,
        Type="text",
        Pushname=push_name,
        Timestamp=unix * 1000,
        Category="",
        Multicast=False,
        MediaType="",
        Edit="",
    )
    flags = dict.fromkeys(
        ("IsEphemeral", "IsViewOnce", "IsViewOnceV2", "IsViewOnceV2Extension", "IsDocumentWithCaption"), False
    )
    event = N.Message(
        Info=info, Message=content, IsLottieSticker=False, IsEdit=False, UnavailableRequestID="", RetryCount=0, **flags
    )
    event.Raw.CopyFrom(content)
    return MESSAGE, event


def encode_receipt(
    receipt_type: str, *, ids: list[str], chat: str, sender: str, unix: int, **src: Any
) -> tuple[int, N.Receipt]:
    event = N.Receipt(MessageSource=source(chat, sender, **src), MessageIDs=ids, Timestamp=unix)
    if receipt_type in RECEIPT_TYPES:
        event.Type = RECEIPT_TYPES[receipt_type]
    return RECEIPT, event


def encode_temporary_ban(code: int, expire: int = 3600) -> tuple[int, N.TemporaryBan]:
    event = N.TemporaryBan(Expire=expire)
    if code in TEMP_BAN_CODES:
        event.Code = TEMP_BAN_CODES[code]
    return TEMPORARY_BAN, event


def encode_connect_failure(reason: int, message: str = "") -> tuple[int, N.ConnectFailure]:
    event = N.ConnectFailure(Message=message, Raw=N.Node(Tag="failure", Nil=True))
    if reason in CONNECT_FAILURE_REASONS:
        event.Reason = CONNECT_FAILURE_REASONS[reason]
    return CONNECT_FAILURE, event


def encode_call_offer(
    call_id: str, *, caller: str, caller_alt: str | None, unix: int, group: str | None = None
) -> tuple[int, N.CallOffer]:
    """EncodeBasicCallMeta has no GroupJID: whatsmeow's group of a call is lost here."""
    meta = N.BasicCallMeta(timestamp=unix, callCreator=jid(caller), callCreatorAlt=jid(caller_alt), callID=call_id)
    getattr(meta, "from").CopyFrom(jid(caller))
    remote = N.CallRemoteMeta(remotePlatform="android", remoteVersion="2.24.1.5")
    return CALL_OFFER, N.CallOffer(basicCallMeta=meta, callRemoteMeta=remote, data=N.Node(Tag="offer", Nil=True))


def encode_group_join(group: str, members: list[str], *, by: str, unix: int) -> tuple[int, N.GroupInfoEvent]:
    return encode_group_change(group, {"join": members}, by=by, unix=unix)


def encode_group_change(
    group: str, changes: dict[str, list[str]], *, by: str | None, unix: int
) -> tuple[int, N.GroupInfoEvent]:
    """EncodeGroupInfoEvent: whatsmeow's Join/Leave/Promote/Demote as WhatsApp named the people
    (in a LID-addressed group, by LID only: whatsmeow stores the numbers the notification
    carried in its LID map first, group.go parseGroupNotification), Sender likewise."""
    event = N.GroupInfoEvent(
        JID=jid(group),
        Notify="",
        Sender=jid(by),
        Timestamp=unix,
        PrevParticipantsVersionID="",
        ParticipantVersionID="",
        JoinReason="",
        **{change.capitalize(): [jid(m) for m in members] for change, members in changes.items()},
    )
    return GROUP_INFO, event


# whatsmeow's LID map (store/sqlstore/lidmap.go) ------------------------------------------------
def store_lid_pair(store: str, lid: str, pn: str) -> None:
    """PutLIDMapping on a sqlite store: one number per LID and one LID per number, a new pair
    replacing the old (its two statements, verbatim). Written to the file directly, since no
    Go entry stores a pair: whatsmeow answers from the file for a LID it was not asked about
    yet, but caches its answers, so a pair written after it answered "unknown" for that LID
    stays unknown to the running client (its own PutLIDMapping would update the cache)."""
    lid_user, pn_user = lid.partition("@")[0].partition(":")[0], pn.partition("@")[0].partition(":")[0]
    with sqlite3.connect(store) as db:
        db.execute("DELETE FROM whatsmeow_lid_map WHERE (lid<>? AND pn=?)", (lid_user, pn_user))
        db.execute(
            "INSERT INTO whatsmeow_lid_map (lid, pn) VALUES (?, ?)"
            " ON CONFLICT (lid) DO UPDATE SET pn=excluded.pn WHERE whatsmeow_lid_map.pn<>excluded.pn",
            (lid_user, pn_user),
        )


def store_contacts(store: str, own: str, contacts: dict[str, tuple[str, str, str, str]]) -> None:
    """The contacts as whatsmeow's contact store holds them once the phone synced them (app
    state: sqlstore PutAllContactNames, PutPushName, PutBusinessName), written to the file
    directly since only a phone's sync makes them; GetAllContacts reads the file on each call."""
    with sqlite3.connect(store) as db:
        db.execute("DELETE FROM whatsmeow_contacts WHERE our_jid=?", (own,))
        db.executemany(
            "INSERT INTO whatsmeow_contacts (our_jid, their_jid, first_name, full_name, push_name, business_name)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(own, their, *names) for their, names in contacts.items()],
        )


def _store_pair(store: str, first: N.JID, second: N.JID) -> None:
    """Client.StoreLIDPNMapping (client.go): a LID and a phone number, in either order."""
    if first.Server == "s.whatsapp.net" and second.Server == "lid":
        first, second = second, first
    if first.Server == "lid" and second.Server == "s.whatsapp.net":
        store_lid_pair(store, jid_text(first), jid_text(second))


def store_message_pair(store: str, event: N.Message) -> None:
    """handleEncryptedMessage (message.go), before decrypting and dispatching a message: the
    sender's alternate address is stored with the sender, else the recipient's with the chat."""
    source = event.Info.MessageSource
    if not source.SenderAlt.IsEmpty:
        _store_pair(store, source.SenderAlt, source.Sender)
    elif not source.RecipientAlt.IsEmpty:
        _store_pair(store, source.RecipientAlt, source.Chat)


# EncodeChatPresence: whatsmeow's "composing"/"paused" and media "" (text) or "audio"; any other
# string has no case and leaves the required enum unset.
CHAT_PRESENCE_STATES = {"composing": N.ChatPresence.COMPOSING, "paused": N.ChatPresence.PAUSED}
CHAT_PRESENCE_MEDIA = {"": N.ChatPresence.TEXT, "audio": N.ChatPresence.AUDIO}
# EncodeNewsletterLeave / EncodeNewsletterMuteChange / EncodeNewsletterViewerMetadata
NEWSLETTER_ROLES = {"subscriber": 1, "guest": 2, "admin": 3, "owner": 4}
NEWSLETTER_MUTE_STATES = {"on": 1, "off": 2}


def encode_chat_presence(
    chat: str, sender: str, *, state: str, media: str, sender_alt: str | None = None
) -> tuple[int, N.ChatPresence]:
    """EncodeChatPresence: the MessageSource as for a message, State and Media as enums."""
    event = N.ChatPresence(MessageSource=source(chat, sender, sender_alt=sender_alt))
    if state in CHAT_PRESENCE_STATES:
        event.State = CHAT_PRESENCE_STATES[state]
    if media in CHAT_PRESENCE_MEDIA:
        event.Media = CHAT_PRESENCE_MEDIA[media]
    return CHAT_PRESENCE, event


def _newsletter_text(text: str) -> N.NewsletterText:
    return N.NewsletterText(Text=text, ID="", UpdateTime=0)  # EncodeNewsletterText sets all three


def encode_newsletter_join(
    newsletter: str, *, name: str, description: str, role: str = "subscriber", created: int = 1_700_000_000
) -> tuple[int, N.NewsletterJoin]:
    """NewsletterJoin{NewsletterMetadata: EncodeNewsLetterMessageMetadata(…)}: every required
    field set the way the encoder sets it (value enums, the preview picture always present)."""
    picture = N.ProfilePictureInfo(URL="", ID="", Type="", DirectPath="", Hash=b"")
    thread = N.NewsletterThreadMetadata(
        CreationTime=created,
        InviteCode="0029Va",
        Name=_newsletter_text(name),
        Description=_newsletter_text(description),
        SubscriberCount=1200,
        VerificationState=N.NewsletterThreadMetadata.UNVERIFIED,
        Preview=picture,
        Settings=N.NewsletterSetting(ReactionCodes=N.NewsletterReactionSettings(Value=1)),
    )
    meta = N.NewsletterMetadata(
        ID=jid(newsletter),
        State=N.WrappedNewsletterState(Type=N.WrappedNewsletterState.ACTIVE),
        ThreadMeta=thread,
        ViewerMeta=N.NewsletterViewerMetadata(Mute=NEWSLETTER_MUTE_STATES["off"], Role=NEWSLETTER_ROLES[role]),
    )
    return NEWSLETTER_JOIN, N.NewsletterJoin(NewsletterMetadata=meta)


def encode_newsletter_leave(newsletter: str, *, role: str) -> tuple[int, N.NewsletterLeave]:
    event = N.NewsletterLeave(ID=jid(newsletter))
    if role in NEWSLETTER_ROLES:
        event.Role = NEWSLETTER_ROLES[role]
    return NEWSLETTER_LEAVE, event


def encode_newsletter_mute(newsletter: str, *, mute: str) -> tuple[int, N.NewsletterMuteChange]:
    event = N.NewsletterMuteChange(ID=jid(newsletter))
    if mute in NEWSLETTER_MUTE_STATES:
        event.Mute = NEWSLETTER_MUTE_STATES[mute]
    return NEWSLETTER_MUTE_CHANGE, event


def encode_newsletter_live_update(
    newsletter: str, *, posts: list[dict], unix: int
) -> tuple[int, N.NewsletterLiveUpdate]:
    """EncodeNewsletterLiveUpdate: TIME in unix seconds; each post through EncodeNewsletterMessage,
    which keeps MessageServerID, ViewsCount and ReactionCounts (a Go map: any order) and drops
    whatsmeow's MessageID, Type and Timestamp."""
    messages = [
        N.NewsletterMessage(
            MessageServerID=post["server_id"],
            ViewsCount=post.get("views_count", 0),
            ReactionCounts=[N.Reaction(type=k, count=v) for k, v in reversed(post.get("reactions", {}).items())],
        )
        for post in posts
    ]
    return NEWSLETTER_LIVE_UPDATE, N.NewsletterLiveUpdate(JID=jid(newsletter), TIME=unix, Messages=messages)


def international(phone: str) -> str:
    """whatsmeow queries types.NewJID(phone, "c.us"); without "+" WhatsApp reads the number
    as a national one of the account's country."""
    return phone if phone.startswith("+") else "+" + ACCOUNT[0] + phone


# The simulated account ---------------------------------------------------------------------------
@dataclass
class Group:
    jid: str
    name: str
    created: int  # unix seconds (whatsmeow's exact time.Time)
    name_set_at: int
    participants: list[tuple[str, str, bool]]  # (phone JID, LID, is_admin)
    topic: str = ""
    invite_code: str = ""
    requests: list[tuple[str, int]] = field(default_factory=list)  # (who, requested at unix s)
    announce: bool = False
    locked: bool = False
    ephemeral: int = 0  # the disappearing timer, seconds (whatsmeow's GroupEphemeral; 0: off)


@dataclass
class World:
    """What WhatsApp knows, and what this account did to it (sent, calls)."""

    pictures: dict[str, str] = field(default_factory=dict)  # user -> picture id
    hidden_pictures: set[str] = field(default_factory=set)
    registered: dict[str, str | None] = field(default_factory=dict)  # "+digits" -> LID or None (PN answer)
    groups: dict[str, Group] = field(default_factory=dict)
    # whatsmeow's contact store: JID -> types.ContactInfo (FirstName, FullName, PushName, BusinessName)
    contacts: dict[str, tuple[str, str, str, str]] = field(default_factory=dict)
    push_name: str = "Wagw Test"  # the account's push name, as synced to this device ("" before)
    contacts_unreadable: bool = False  # the store's contacts table cannot be read (a store error)
    online: bool = True  # whether the websocket is connected (sendNode fails otherwise)
    # whatsmeow's types.PrivacySettings (strings; "" when WhatsApp did not say)
    privacy: dict[str, str] = field(
        default_factory=lambda: {
            "GroupAdd": "contacts",
            "LastSeen": "contact_blacklist",
            "Status": "contacts",
            "Profile": "all",
            "ReadReceipts": "none",
            "CallAdd": "known",
            "Online": "",
        }
    )
    privacy_cached: bool = False  # whatsmeow's privacySettingsCache holds an answer
    calls: list[dict] = field(default_factory=list)  # every stubbed call: {"entry", …arguments}
    inbound: queue.Queue = field(default_factory=queue.Queue)  # (code, proto) or a callable
    lock: threading.Lock = field(default_factory=threading.Lock)
    revoked_codes: set[str] = field(default_factory=set)
    # WhatsApp's media hosts: direct path -> (plaintext, media key); a direct path's HTTP
    # status when it is not served (410: expired), or a network error text.
    media: dict[str, tuple[bytes, bytes]] = field(default_factory=dict)
    media_status: dict[str, int] = field(default_factory=dict)
    media_network_error: str = ""
    # People WhatsApp's reach-out limit keeps this account from messaging: every message to
    # them is answered with error 463 (the account is timelocked and they are new contacts).
    reach_out_limited: set[str] = field(default_factory=set)

    def record(self, entry: str, **arguments: Any) -> None:
        with self.lock:
            self.calls.append({"entry": entry, **arguments})

    # GetProfilePicture ------------------------------------------------------------------------
    def get_profile_picture(
        self, target: N.JID, params: N.GetProfilePictureParams
    ) -> N.GetProfilePictureReturnFunction:
        self.record("GetProfilePicture", jid=jid_text(target), preview=params.Preview)
        if target.User == SLOW_USER:
            return N.GetProfilePictureReturnFunction(Error=ERR_IQ_TIMED_OUT)
        if target.User in self.hidden_pictures:
            return N.GetProfilePictureReturnFunction(Error=ERR_PROFILE_PICTURE_UNAUTHORIZED)
        picture_id = self.pictures.get(target.User)
        if picture_id is None:  # the server answers 404 (or status 204): ErrProfilePictureNotSet
            return N.GetProfilePictureReturnFunction(Error=ERR_PROFILE_PICTURE_NOT_SET)
        kind = "preview" if params.Preview else "image"
        path = f"/v/t61.24694-24/{picture_id}_{kind}.jpg"
        picture = N.ProfilePictureInfo(
            URL=f"https://pps.whatsapp.net{path}?oh=x", ID=picture_id, Type=kind, DirectPath=path
        )
        return N.GetProfilePictureReturnFunction(Picture=picture)

    # IsOnWhatsApp ---------------------------------------------------------------------------------
    def is_on_whatsapp(self, numbers: str) -> N.IsOnWhatsAppReturnFunction:
        phones = numbers.split(" ")  # goneonize: strings.Split(C.GoString(numbers), " ")
        self.record("IsOnWhatsApp", phones=phones)
        answers = []
        for phone in phones:
            number = international(phone)
            digits = number[1:]
            if not digits.isdigit() or not 8 <= len(digits) <= 15:
                continue  # no <user> node for an invalid number
            response = N.IsOnWhatsAppResponse(Query=phone)
            if number in self.registered:
                lid = self.registered[number]
                response.JID.CopyFrom(jid(lid or f"{digits}@s.whatsapp.net"))
                response.IsIn = True
            else:
                response.JID.CopyFrom(jid(f"{digits}@s.whatsapp.net"))
                response.IsIn = False
            answers.append(response)
        if not answers:
            return N.IsOnWhatsAppReturnFunction(Error=ERR_FUNCTION_RETURNED_NOTHING)
        return N.IsOnWhatsAppReturnFunction(IsOnWhatsAppResponse=answers)

    # GetUserInfo ----------------------------------------------------------------------------------
    def get_user_info(self, jids: N.JIDArray) -> N.GetUserInfoReturnFunction:
        self.record("GetUserInfo", jids=[jid_text(j) for j in jids.JIDS])
        users = []
        for target in reversed(jids.JIDS):  # Go ranges over a map: no order to rely on
            info = N.UserInfo(Status="Hey there! I am using WhatsApp.", PictureID=self.pictures.get(target.User, ""))
            info.Devices.extend([jid(f"{target.User}@s.whatsapp.net"), jid(f"{target.User}:3@s.whatsapp.net")])
            users.append(N.GetUserInfoSingleReturnFunction(JID=jid(jid_text(target)), UserInfo=info))
        return N.GetUserInfoReturnFunction(UsersInfo=users)

    # SendMessage / Upload -----------------------------------------------------------------------
    def send_message(self, to: N.JID, message: E.Message) -> N.SendMessageReturnFunction:
        """whatsmeow's SendMessage (send.go) as goneonize returns it (err.Error() in Error):
        a recipient with a device part is refused before anything is sent."""
        if to.Device > 0:
            self.record("SendMessage (refused)", to=jid_text(to))
            return N.SendMessageReturnFunction(Error=ERR_RECIPIENT_AD_JID)
        if to.User in self.reach_out_limited:
            # The server answers the message node with error="463"; send.go reads the
            # attribute and returns fmt.Errorf("%w %d", ErrServerReturnedError, errorCode).
            self.record("SendMessage (463)", to=jid_text(to), message=message)
            return N.SendMessageReturnFunction(Error=ERR_REACH_OUT_LIMITED)
        message_id = "3EB0" + hashlib.sha256(message.SerializeToString() + to.SerializeToString()).hexdigest()[:16]
        self.record("SendMessage", to=jid_text(to), message=message, id=message_id.upper())
        timings = N.MessageDebugTimings(
            Queue=0, Marshal=0, GetParticipants=0, GetDevices=0, GroupEncrypt=0, PeerEncrypt=0, Send=0, Resp=0, Retry=0
        )
        response = N.SendResponse(Timestamp=int(time.time()), ID=message_id.upper(), ServerID=0, DebugTimings=timings)
        return N.SendMessageReturnFunction(SendResponse=response)

    def upload(self, data: bytes, media_type: int) -> N.UploadReturnFunction:
        self.record("Upload", size=len(data), media_type=media_type, image=picture_size(data))
        digest = hashlib.sha256(data).digest()
        response = N.UploadResponse(
            url="https://mmg.whatsapp.net/o1/v/t62.7118-24/f1/m1",
            DirectPath="/o1/v/t62.7118-24/f1/m1",
            Handle="",
            MediaKey=b"k" * 32,
            FileEncSHA256=digest,
            FileSHA256=digest,
            FileLength=len(data),
        )
        return N.UploadReturnFunction(UploadResponse=response)

    # Groups ---------------------------------------------------------------------------------------
    def get_group_info(self, target: N.JID) -> N.GetGroupInfoReturnFunction:
        self.record("GetGroupInfo", jid=jid_text(target))
        group = self.groups.get(jid_text(target))
        if group is None:
            return N.GetGroupInfoReturnFunction(Error=ERR_GROUP_NOT_FOUND)
        return N.GetGroupInfoReturnFunction(GroupInfo=encode_group_info(group))

    def get_joined_groups(self) -> N.GetJoinedGroupsReturnFunction:
        self.record("GetJoinedGroups")
        return N.GetJoinedGroupsReturnFunction(Group=[encode_group_info(g) for g in self.groups.values()])

    def mark_read(self, ids: str, timestamp: int, chat: N.JID, sender: N.JID, receipt_type: str) -> str:
        """whatsmeow's MarkRead: a receipt node; only sendNode can fail (ErrNotConnected)."""
        self.record(
            "MarkRead", ids=ids.split(" "), chat=jid_text(chat), sender=jid_text(sender), receipt_type=receipt_type
        )
        return "" if self.online else ERR_NOT_CONNECTED

    # GetPrivacySettings ---------------------------------------------------------------------------
    def get_privacy_settings(self) -> N.PrivacySettings:
        """goneonize: ProtoReturnV3(utils.EncodePrivacySettings(cli.GetPrivacySettings(ctx))):
        no error field; a setting WhatsApp did not send ("") is UNDEFINED. whatsmeow's
        privacysettings.go GetPrivacySettings: the first answer is cached; a query that fails
        (TryFetchPrivacySettings, e.g. disconnected) is logged and gives empty settings."""
        self.record("GetPrivacySettings")
        if not self.privacy_cached and not self.online:
            return N.PrivacySettings(**dict.fromkeys(self.privacy, PRIVACY_SETTING_VALUES[""]))
        self.privacy_cached = True
        return N.PrivacySettings(**{name: PRIVACY_SETTING_VALUES[value] for name, value in self.privacy.items()})

    # SendPresence --------------------------------------------------------------------------------
    def send_presence(self, presence: str) -> str:
        """whatsmeow's SendPresence: ErrNoPushName before the push name is known; goneonize
        returns err.Error() or "" as a C string."""
        self.record("SendPresence", presence=presence)
        if not self.push_name:
            return ERR_NO_PUSH_NAME
        return "" if self.online else ERR_NOT_CONNECTED  # then sendNode

    # SubscribePresence ---------------------------------------------------------------------------
    def subscribe_presence(self, target: N.JID) -> str:
        """whatsmeow's SubscribePresence (presence.go): ensureTCToken (the chat's privacy token,
        fetched when missing; a missing one is only logged unless ErrorOnSubscribePresenceWithoutToken),
        then a <presence type="subscribe"> node: only sendNode can fail (ErrNotConnected).
        goneonize returns err.Error() or "" as a C string."""
        self.record("SubscribePresence", jid=jid_text(target))
        return "" if self.online else ERR_NOT_CONNECTED

    # SendChatPresence ----------------------------------------------------------------------------
    def send_chat_presence(self, chat: N.JID, state: int, media: int) -> str:
        """goneonize: types.ChatPresence / ChatPresenceMedia by neonize's enum numbers
        (0 composing, 1 paused; 0 "" text, 1 "audio"), then whatsmeow's SendChatPresence."""
        self.record(
            "SendChatPresence",
            chat=jid_text(chat),
            state=("composing", "paused")[state],
            media=("", "audio")[media],
        )
        return "" if self.online else ERR_NOT_CONNECTED  # a chatstate node: only sendNode can fail

    # SetDisappearingTimer -------------------------------------------------------------------------
    def set_disappearing_timer(self, chat: N.JID, timer_ns: int, setting_ms: int) -> str:
        """goneonize: SetDisappearingTimer(ctx, chat, time.Duration(timer), time.UnixMilli(settingTS)).
        whatsmeow: a direct chat gets an EPHEMERAL_SETTING protocol message with
        EphemeralExpiration uint32(timer.Seconds()) and EphemeralSettingTimestamp
        settingTS.Unix() (time.Now() only when settingTS is Go's zero time, which UnixMilli
        never makes); a group an "ephemeral" IQ (the server answers 400 to a non-standard
        timer); any other server an error."""
        seconds = timer_ns / 1_000_000_000
        self.record("SetDisappearingTimer", chat=jid_text(chat), seconds=seconds, setting_unix=setting_ms // 1000)
        if chat.Server in ("s.whatsapp.net", "lid"):
            return ""
        if chat.Server == "g.us":
            if seconds and seconds not in (86_400, 604_800, 7_776_000):
                return ERR_INVALID_DISAPPEARING_TIMER
            if jid_text(chat) in self.groups:
                self.groups[jid_text(chat)].ephemeral = int(seconds)
            return ""
        return f"can't set disappearing time in a {chat.Server} chat"

    # RejectCall -----------------------------------------------------------------------------------
    def reject_call(self, caller: N.JID, call_id: str) -> str:
        """whatsmeow's RejectCall: a <call><reject call-id call-creator count="0"/></call> node,
        to and from non-AD JIDs; only sendNode can fail (ErrNotConnected), WhatsApp does not
        answer it. goneonize returns err.Error() or "" as a C string."""
        self.record("RejectCall", caller=f"{caller.User}@{caller.Server}", call_id=call_id)
        return "" if self.online else ERR_NOT_CONNECTED

    def _group_iq(self, entry: str, target: N.JID, **arguments: Any) -> Group | str:
        """A group IQ: the group, or whatsmeow's IQError text for a group the server does
        not know (status 404) or one this account is not in (403)."""
        self.record(entry, jid=jid_text(target), **arguments)
        group = self.groups.get(jid_text(target))
        if group is None:
            return ERR_IQ_NOT_FOUND
        if not any(phone == ACCOUNT + "@s.whatsapp.net" for phone, _, _ in group.participants):
            return ERR_IQ_FORBIDDEN
        return group

    def leave_group(self, target: N.JID) -> str:
        found = self._group_iq("LeaveGroup", target)
        if isinstance(found, str):
            return found
        found.participants = [p for p in found.participants if p[0] != ACCOUNT + "@s.whatsapp.net"]
        return ""

    def set_group_name(self, target: N.JID, name: str) -> str:
        found = self._group_iq("SetGroupName", target, name=name)
        if isinstance(found, str):
            return found
        found.name = name
        return ""

    def set_group_topic(self, target: N.JID, previous_id: str, new_id: str, topic: str) -> str:
        """whatsmeow's SetGroupTopic: without a previous id it reads the group's info first
        (and fails as that does); without a new id it makes one; "" deletes the topic."""
        self.record("SetGroupTopic", jid=jid_text(target), previous_id=previous_id, new_id=new_id, topic=topic)
        group = self.groups.get(jid_text(target))
        if group is None and not previous_id:
            return f"failed to get old group info to update topic: {ERR_GROUP_NOT_FOUND}"
        found = self._group_iq("SetGroupTopic (the IQ)", target)
        if isinstance(found, str):
            return found
        found.topic = topic
        return ""

    def set_group_locked(self, target: N.JID, locked: bool) -> str:
        found = self._group_iq("SetGroupLocked", target, locked=locked)
        if isinstance(found, str):
            return found
        found.locked = locked
        return ""

    def set_group_announce(self, target: N.JID, announce: bool) -> str:
        found = self._group_iq("SetGroupAnnounce", target, announce=announce)
        if isinstance(found, str):
            return found
        found.announce = announce
        return ""

    def get_group_invite_link(self, target: N.JID, reset: bool) -> N.GetGroupInviteLinkReturnFunction:
        """whatsmeow's GetGroupInviteLink: 401 -> ErrGroupInviteLinkUnauthorized (not an admin),
        404 -> ErrGroupNotFound, 403 -> ErrNotInGroup (the human text is the error's text)."""
        found = self._group_iq("GetGroupInviteLink", target, reset=reset)
        if found == ERR_IQ_NOT_FOUND:
            return N.GetGroupInviteLinkReturnFunction(InviteLink="", Error=ERR_GROUP_NOT_FOUND)
        if found == ERR_IQ_FORBIDDEN:
            return N.GetGroupInviteLinkReturnFunction(InviteLink="", Error=ERR_NOT_IN_GROUP)
        assert isinstance(found, Group)
        if not any(phone == ACCOUNT + "@s.whatsapp.net" and admin for phone, _, admin in found.participants):
            return N.GetGroupInviteLinkReturnFunction(InviteLink="", Error=ERR_INVITE_LINK_UNAUTHORIZED)
        if reset or not found.invite_code:
            found.invite_code = hashlib.sha256(f"{found.jid}{len(self.calls)}".encode()).hexdigest()[:22]
        return N.GetGroupInviteLinkReturnFunction(InviteLink=INVITE_LINK_PREFIX + found.invite_code)

    def get_group_request_participants(self, target: N.JID) -> N.GetGroupRequestParticipantsReturnFunction:
        """Plain IQ errors (whatsmeow wraps none here); only admins may list the requests (401)."""
        found = self._group_iq("GetGroupRequestParticipants", target)
        if isinstance(found, str):
            return N.GetGroupRequestParticipantsReturnFunction(Error=found)
        if not any(phone == ACCOUNT + "@s.whatsapp.net" and admin for phone, _, admin in found.participants):
            return N.GetGroupRequestParticipantsReturnFunction(Error=ERR_IQ_NOT_AUTHORIZED)
        # goneonize: GroupParticipantRequest{Participant, TimeAt: uint64(RequestedAt.UnixMicro())}
        requests = [
            N.GroupParticipantRequest(Participant=jid(who), TimeAt=at * 1_000_000) for who, at in found.requests
        ]
        return N.GetGroupRequestParticipantsReturnFunction(Participants=requests)

    def create_group(self, request: N.ReqCreateGroup) -> N.GetGroupInfoReturnFunction:
        """whatsmeow's CreateGroup: the new group's info, this account its super admin."""
        people = [jid_text(p) for p in request.Participants]
        self.record("CreateGroup", name=request.name, participants=people, create_key=request.CreateKey)
        if not request.name:
            return N.GetGroupInfoReturnFunction(Error=ERR_IQ_BAD_REQUEST)
        number = 120363400000000000 + len(self.groups)
        members = [(ACCOUNT + "@s.whatsapp.net", "100000000000001@lid", True)]
        members += [(p, "", False) for p in people]
        created = int(time.time())
        group = Group(f"{number}@g.us", request.name, created, created, members)
        self.groups[group.jid] = group
        return N.GetGroupInfoReturnFunction(GroupInfo=encode_group_info(group))

    def update_group_participants(
        self, target: N.JID, people: list[N.JID], action: str
    ) -> N.UpdateGroupParticipantsReturnFunction:
        """whatsmeow's UpdateGroupParticipants: each person comes back with WhatsApp's code
        when the change could not be made for them (409 already in, 404 not in the group)."""
        asked = [jid_text(p) for p in people]
        found = self._group_iq("UpdateGroupParticipants", target, people=asked, action=action)
        if isinstance(found, str):
            return N.UpdateGroupParticipantsReturnFunction(Error=found)
        members = {phone: (lid, admin) for phone, lid, admin in found.participants}
        answers = []
        for person in asked:
            error = 0
            request = None
            if action == "add":
                if person in members:
                    error = 409
                elif person == PRIVATE_USER:  # privacy: only an invite; whatsmeow's AddRequest
                    error = 403
                    request = N.GroupParticipantAddRequest(Code="PrivInv1te", Expiration=float32(1_764_671_400))
                else:
                    members[person] = ("", False)
            elif person not in members:
                error = 404
            elif action == "remove":
                del members[person]
            else:
                members[person] = (members[person][0], action == "promote")
            lid, admin = members.get(person, ("", False)) if error != 403 else ("", False)
            answers.append(
                N.GroupParticipant(
                    JID=jid(lid or person),
                    LID=jid(lid or None),
                    PhoneNumber=jid(person),
                    IsAdmin=admin,
                    IsSuperAdmin=False,
                    DisplayName="",
                    Error=error,
                    AddRequest=request,
                )
            )
        found.participants = [(phone, lid, admin) for phone, (lid, admin) in members.items()]
        return N.UpdateGroupParticipantsReturnFunction(participants=answers)

    def _invited_group(self, code: str) -> Group | str:
        """The group of an invite code, or whatsmeow's error: 406 -> ErrInviteLinkInvalid,
        410 -> ErrInviteLinkRevoked (the human text is the error's text)."""
        code = code.removeprefix(INVITE_LINK_PREFIX)  # whatsmeow's stripURLPrefix
        if code in self.revoked_codes:
            return ERR_INVITE_LINK_REVOKED
        for group in self.groups.values():
            if group.invite_code and group.invite_code == code:
                return group
        return ERR_INVITE_LINK_INVALID

    def join_group_with_link(self, code: str) -> N.JoinGroupWithLinkReturnFunction:
        self.record("JoinGroupWithLink", code=code)
        found = self._invited_group(code)
        if isinstance(found, str):
            return N.JoinGroupWithLinkReturnFunction(Jid=jid(None), Error=found)  # goneonize: always a Jid
        me = ACCOUNT + "@s.whatsapp.net"
        if all(phone != me for phone, _, _ in found.participants):
            found.participants.append((me, "100000000000001@lid", False))
        return N.JoinGroupWithLinkReturnFunction(Jid=jid(found.jid))

    def get_group_info_from_link(self, code: str) -> N.GetGroupInfoReturnFunction:
        self.record("GetGroupInfoFromLink", code=code)
        found = self._invited_group(code)
        if isinstance(found, str):
            return N.GetGroupInfoReturnFunction(Error=found)
        return N.GetGroupInfoReturnFunction(GroupInfo=encode_group_info(found))

    def set_group_photo(self, target: N.JID, avatar: bytes) -> N.SetGroupPhotoReturnFunction:
        """whatsmeow's SetGroupPhoto: WhatsApp refuses what is not a JPEG with 406, which
        whatsmeow words as ErrInvalidImageFormat."""
        is_jpeg = avatar.startswith(b"\xff\xd8\xff")
        found = self._group_iq("SetGroupPhoto", target, size=len(avatar), jpeg=is_jpeg)
        if isinstance(found, str):
            return N.SetGroupPhotoReturnFunction(PictureID="", Error=found)  # goneonize always sets the id
        if not is_jpeg:
            return N.SetGroupPhotoReturnFunction(PictureID="", Error=ERR_INVALID_IMAGE_FORMAT)
        picture_id = str(int(hashlib.sha256(avatar).hexdigest()[:8], 16))
        self.pictures[found.jid.partition("@")[0]] = picture_id
        return N.SetGroupPhotoReturnFunction(PictureID=picture_id)

    # DownloadMediaWithPath ------------------------------------------------------------------------
    def download_media_with_path(
        self,
        direct_path: str,
        enc_file_hash: bytes,
        file_hash: bytes,
        media_key: bytes,
        file_length: int,
        media_type: int,
        mms_type: str,
    ) -> N.DownloadReturnFunction:
        """whatsmeow's DownloadMediaWithPath (download.go) as goneonize returns it (err.Error()
        in Error): a 403/404/410 from the media host returns at once as DownloadHTTPError
        ("download failed with status code 410"); other failures are tried on every host,
        then wrapped ("failed to download media from last host: …"). A wrong key fails the
        HMAC check (download.go validateMedia), a wrong plaintext hash the check after
        decrypting (downloadAndDecrypt). goneonize's DownloadMediaWithPath (main.go) passes
        allowNoHash=false, so a missing hash becomes 32 zero bytes and can never match; it
        ignores the file length (kept only for its C signature), and so does whatsmeow."""
        self.record(
            "DownloadMediaWithPath",
            direct_path=direct_path,
            enc_file_hash=len(enc_file_hash),
            file_hash=len(file_hash),
            media_key=len(media_key),
            file_length=file_length,
            media_type=media_type,
            mms_type=mms_type,
        )
        if self.media_network_error:
            return N.DownloadReturnFunction(
                Error=f"failed to download media from last host: {self.media_network_error}"
            )
        status = self.media_status.get(direct_path, 200 if direct_path in self.media else 404)
        if status in (403, 404, 410):
            return N.DownloadReturnFunction(Error=f"download failed with status code {status}")
        if status != 200:
            return N.DownloadReturnFunction(
                Error=f"failed to download media from last host: download failed with status code {status}"
            )
        plaintext, key = self.media[direct_path]
        if media_key != key:
            return N.DownloadReturnFunction(Error="invalid media hmac")
        if hashlib.sha256(plaintext).digest() != (file_hash or bytes(32)):
            return N.DownloadReturnFunction(Error="hash of media plaintext doesn't match")
        return N.DownloadReturnFunction(Binary=plaintext)


# EncodePrivacySettings: whatsmeow's strings -> neonize's PrivacySettings.PrivacySetting
PRIVACY_SETTING_VALUES = {
    "": 1,
    "all": 2,
    "contacts": 3,
    "contact_blacklist": 4,
    "match_last_seen": 5,
    "known": 6,
    "none": 7,
}


def encode_group_info(group: Group) -> N.GroupInfo:
    """EncodeGroupInfo: GroupCreated is proto.Float32(float32(info.GroupCreated.Unix()))."""
    owner = group.participants[0]
    info = N.GroupInfo(
        JID=jid(group.jid),
        OwnerJID=jid(owner[1]),
        OwnerPN=jid(owner[0]),
        GroupName=N.GroupName(Name=group.name, NameSetAt=group.name_set_at, NameSetBy=jid(owner[0])),
        GroupTopic=N.GroupTopic(Topic=group.topic, TopicID="", TopicSetAt=0, TopicSetBy=jid(None), TopicDeleted=False),
        GroupLocked=N.GroupLocked(isLocked=group.locked),
        GroupAnnounce=N.GroupAnnounce(IsAnnounce=group.announce, AnnounceVersionID=""),
        GroupEphemeral=N.GroupEphemeral(IsEphemeral=bool(group.ephemeral), DisappearingTimer=group.ephemeral),
        GroupIncognito=N.GroupIncognito(IsIncognito=False),
        GroupParent=N.GroupParent(IsParent=False, DefaultMembershipApprovalMode=""),
        GroupLinkedParent=N.GroupLinkedParent(LinkedParentJID=jid(None)),
        GroupIsDefaultSub=N.GroupIsDefaultSub(IsDefaultSubGroup=False),
        GroupCreated=float32(group.created),
        ParticipantVersionID="",
    )
    for phone, lid, admin in group.participants:
        info.Participants.add(
            JID=jid(lid),
            LID=jid(lid),
            PhoneNumber=jid(phone),
            IsAdmin=admin,
            IsSuperAdmin=False,
            DisplayName="",
            Error=0,
        )
    return info


def encode_joined_group(group: Group, *, reason: str, version: str) -> tuple[int, N.JoinedGroup]:
    """EncodeJoinedGroup: Reason, Type (a copy of Reason, not whatsmeow's Type), CreateKey and
    EncodeGroupInfo(&GroupInfo); Sender and SenderPN are never set."""
    info = encode_group_info(group)
    info.ParticipantVersionID = version  # &info.ParticipantVersionID
    return JOINED_GROUP, N.JoinedGroup(Reason=reason, Type=reason, CreateKey="", GroupInfo=info)


def standard_world() -> World:
    world = World(pictures={"15551234567": "4184652986", "15557654321": "1234509876"}, hidden_pictures={HIDDEN_USER})
    world.revoked_codes = {REVOKED_CODE}
    world.reach_out_limited = {REACH_OUT_USER}
    world.registered = {"+15551234567": ALICE_LID, "+15557654321": None}
    world.contacts = {
        ALICE: ("Alice", "Alice Liddell", "Ali", ""),
        "15557654321@s.whatsapp.net": ("", "", "Bob", ""),
        "15559876543@s.whatsapp.net": ("", "", "", "Carol's Bakery"),
    }
    world.groups = {
        GROUP: Group(
            GROUP,
            "Team",
            GROUP_CREATED,
            GROUP_CREATED,
            [(ACCOUNT + "@s.whatsapp.net", "100000000000001@lid", True), (ALICE, ALICE_LID, False)],
            requests=[("15557654321@s.whatsapp.net", 1_764_412_200)],
        ),
        LEGACY_GROUP: Group(
            LEGACY_GROUP, "Old", 1_700_000_100, 1_700_000_900, [(ALICE, ALICE_LID, True)], invite_code=INVITE_CODE
        ),
    }
    return world


def encode(spec: dict) -> tuple[int, Any]:
    """A whatsmeow event described as JSON (from a test) -> (neonize event code, proto)."""
    from google.protobuf import json_format

    kind = spec["kind"]
    unix = spec.get("unix", 1_764_412_200)
    if kind == "message":
        content = json_format.ParseDict(spec["message"], E.Message())
        return encode_message(
            content,
            id=spec["id"],
            chat=spec.get("chat", spec["sender"]),
            sender=spec["sender"],
            push_name=spec.get("push_name", ""),
            unix=unix,
            sender_alt=spec.get("sender_alt"),
            recipient_alt=spec.get("recipient_alt"),
            from_me=spec.get("from_me", False),
        )
    if kind == "receipt":
        return encode_receipt(
            spec["type"],
            ids=spec["ids"],
            chat=spec["chat"],
            sender=spec["sender"],
            unix=unix,
            sender_alt=spec.get("sender_alt"),
            recipient_alt=spec.get("recipient_alt"),
            from_me=spec.get("from_me", False),
        )
    if kind == "temporary_ban":
        return encode_temporary_ban(spec["code"])
    if kind == "keepalive_timeout":
        # whatsmeow keepalive.go keepAliveLoop: a ping unanswered for KeepAliveResponseDeadline;
        # goneonize's CallbackFunction passes ErrorCount and LastSuccess as unix seconds. After
        # KeepAliveMaxFailTime whatsmeow forces a reconnect with Disconnect(), which emits no
        # Disconnected, then Connected once autoReconnect succeeds.
        event = N.KeepAliveTimeout(ErrorCount=spec["errors"], LastSuccess=spec["last_success"])
        return KEEPALIVE_TIMEOUT, event
    if kind == "keepalive_restored":  # keepAliveLoop: a ping answered after failures
        return KEEPALIVE_RESTORED, N.KeepAliveRestored()
    if kind == "connected":  # handleConnectSuccess, e.g. after autoReconnect
        return CONNECTED, N.Connected(status=True)
    if kind == "connect_failure":
        return encode_connect_failure(spec["reason"], spec.get("message", ""))
    if kind == "call_offer":
        return encode_call_offer(spec["call_id"], caller=spec["caller"], caller_alt=spec.get("caller_alt"), unix=unix)
    if kind == "group_join":
        return encode_group_join(spec["group"], spec["members"], by=spec["by"], unix=unix)
    if kind == "group_change":
        changes = {change: spec[change] for change in ("join", "leave", "promote", "demote") if change in spec}
        return encode_group_change(spec["group"], changes, by=spec.get("by"), unix=unix)
    if kind == "joined_group":
        members = [(ALICE, ALICE_LID, True), (ACCOUNT + "@s.whatsapp.net", "100000000000001@lid", False)]
        group = Group(spec["group"], spec.get("name", ""), GROUP_CREATED, GROUP_CREATED, members)
        return encode_joined_group(group, reason=spec.get("reason", ""), version=spec.get("version", ""))
    if kind == "chat_presence":
        return encode_chat_presence(
            spec.get("chat", spec["sender"]),
            spec["sender"],
            state=spec["state"],
            media=spec.get("media", ""),
            sender_alt=spec.get("sender_alt"),
        )
    if kind == "newsletter_join":
        return encode_newsletter_join(
            spec["newsletter"], name=spec.get("name", ""), description=spec.get("description", "")
        )
    if kind == "newsletter_leave":
        return encode_newsletter_leave(spec["newsletter"], role=spec["role"])
    if kind == "newsletter_mute":
        return encode_newsletter_mute(spec["newsletter"], mute=spec["mute"])
    if kind == "newsletter_live_update":
        return encode_newsletter_live_update(spec["newsletter"], posts=spec["posts"], unix=unix)
    if kind == "history_sync":
        return encode_history_sync(spec["conversations"], sync_type=spec.get("sync_type", "RECENT"))
    raise ValueError(f"unknown event kind {kind!r}")


HISTORY_SYNC = 13  # neonize events.EVENT_TO_INT[HistorySyncEv]


def encode_history_sync(conversations: list[dict], *, sync_type: str) -> tuple[int, Any]:
    """goneonize passes whatsmeow's events.HistorySync on as N.HistorySync{Data: evt.Data}: the
    waHistorySync.HistorySync proto WhatsApp sent, as it is (conversations in proto JSON)."""
    from google.protobuf import json_format
    from neonize.proto.waHistorySync import WAWebProtobufsHistorySync_pb2 as H

    data = json_format.ParseDict({"syncType": sync_type, "conversations": conversations}, H.HistorySync())
    return HISTORY_SYNC, N.HistorySync(Data=data)
