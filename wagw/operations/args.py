"""Arguments of the public `workers.wa.*` jobs: one strict pydantic model per operation.

Jobs arrive as JSON from any app, so nothing here trusts a type. A bad argument is the
caller's bug: it fails the job at once with a readable message (InvalidArguments, never
retried) and never reaches the native host.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from wagw.addresses import (
    FAKE_USERS,
    GROUP_SERVER,
    USER_SERVER,
    check_length,
    normalize_jid,
    normalize_phone,
    normalize_target,
    shown,
)
from wagw.errors import InvalidArguments as InvalidArguments  # raised by wagw.operations.validate

# WhatsApp's own limits, rounded down where WhatsApp is vague.
MAX_TEXT = 65_536  # characters in one text message
MAX_CAPTION = 4_096
MAX_IMAGE_BYTES = 16 * 1024 * 1024
MAX_IMAGE_ARG = 23_000_000  # characters: 16 MiB of base64 plus slack
# WhatsApp's cap for a document is 100 MB (2 GB in newer apps; whatsmeow uploads what it is
# given). Larger than the image cap, a document comes by URL or media-folder path: as base64 a
# job argument is at most MAX_IMAGE_ARG characters (it is stored in Redis with the job).
MAX_DOCUMENT_BYTES = 100 * 1024 * 1024
MAX_FILENAME = 255
MAX_AUDIO_BYTES = 16 * 1024 * 1024  # WhatsApp's cap for audio and video
# A sticker is a 512x512 WebP of at most 100 KB (static) on WhatsApp; the image it is made from
# may be at most 1 MiB (base64: 1.4 million characters).
MAX_STICKER_BYTES = 1024 * 1024
MAX_STICKER_ARG = 1_400_000
STICKER_SIZE = 512
MAX_GROUP_NAME = 100  # characters in a group's name (subject)
MAX_GROUP_TOPIC = 2048  # characters in a group's topic (description)
MAX_LIST = 100  # JIDs, phones or message ids in one call
MAX_ID = 128  # characters in a message id
MAX_REACTION = 32  # characters: the longest emoji ZWJ sequences are about a dozen code points

# https://chat.whatsapp.com/<code> (scheme optional), or the code alone: whatsmeow's
# InviteLinkPrefix is the only host, and a code is letters and digits (22 today).
_INVITE = re.compile(r"(?:(?:https?://)?chat\.whatsapp\.com/(?:invite/)?)?(?P<code>[A-Za-z0-9]{16,32})/?")
_MESSAGE_ID = re.compile(r"[A-Za-z0-9_\-.:]+")


def _fake(info: ValidationInfo) -> bool:
    return bool(info.context and info.context.get("fake"))


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _address(value: str, info: ValidationInfo) -> str:
    """A phone number or JID, normalised (wagw.addresses: the rules and their messages); the
    fake backend's crash/hang/fail targets pass when the caller checks for the fake."""
    return normalize_target(value, fake=_fake(info))


# Whom or where a job goes, or what it is about: the one way an argument is read as an address.
Address = Annotated[str, AfterValidator(_address)]

# A channel (…@newsletter) takes media only with the handle of whatsmeow's newsletter upload
# (send.go: SendRequestExtra.MediaHandle, from UploadNewsletter), which goneonize's SendMessage
# never passes (main.go: SendMessage fills AdditionalNodes only); and a post's reactions go
# through whatsmeow's NewsletterSendReaction by its server id, not BuildReaction and
# SendMessage (send.go: BuildReaction's doc).
CHANNEL = "newsletter"
NO_MEDIA_TO_CHANNELS = (
    "a channel (…@newsletter) takes text, location, contact, link and poll messages only: "
    "neonize cannot send media to one"
)
NO_REACTIONS_IN_CHANNELS = "reacting to a channel's post (…@newsletter) is not available: neonize cannot send one"


def _not_a_channel(value: str) -> str:
    if value.endswith("@" + CHANNEL):
        raise ValueError(NO_MEDIA_TO_CHANNELS)
    return value


# Where a media message goes: an address that is not a channel.
MediaTarget = Annotated[Address, AfterValidator(_not_a_channel)]


# Argument models ------------------------------------------------------------------------
# Show "typing…" in the chat before a send ("recording…" before a voice note): True for a time that
# follows the text's length, or seconds; the wa-worker waits without holding itself (wagw.sendorder).
Typing = bool | Annotated[float, Field(ge=0, le=20)] | None


class JobArgs(BaseModel):
    """Strict: JSON types only, no coercion ("true" is not a bool), no unknown arguments."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class FetchAvatarArgs(JobArgs):
    jid: Address
    preview: bool = False
    is_community: bool = False


class SendTextArgs(JobArgs):
    to: Address
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    reply_to: str | None = Field(None, min_length=1, max_length=MAX_ID, pattern=f"^{_MESSAGE_ID.pattern}$")
    # Who sent the quoted message: WhatsApp finds it by id *and* sender (docs/jobs.md).
    reply_to_sender: Address | None = None
    # Whom the message mentions (notifies): users, never read from the text (docs/jobs.md).
    mentions: list[str] | None = Field(None, max_length=MAX_LIST)
    # The quoted message's text, shown in the quote on this account's own devices.
    reply_to_text: str | None = Field(None, max_length=MAX_TEXT)
    typing: Typing = None

    @field_validator("mentions")
    @classmethod
    def _mentions(cls, values: list[str] | None, info: ValidationInfo) -> list[str] | None:
        return None if values is None else _people(values, info)

    @model_validator(mode="after")
    def _quoted_sender(self) -> SendTextArgs:
        if self.reply_to_sender is not None and self.reply_to is None:
            raise ValueError("reply_to_sender is only meaningful with reply_to")
        if self.reply_to_text is not None and self.reply_to is None:
            raise ValueError("reply_to_text is only meaningful with reply_to")
        # In a group the quoted message could be anybody's: without its sender the quote
        # would point at nobody (recipients could not find the message).
        if self.reply_to is not None and self.reply_to_sender is None and self.to.endswith("@" + GROUP_SERVER):
            raise ValueError("reply_to_sender (who sent the quoted message) is required when replying in a group")
        return self

    @field_validator("text")
    @classmethod
    def _text(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text is blank")
        return value


class SendImageArgs(JobArgs):
    to: MediaTarget
    image: str = Field(min_length=1, max_length=MAX_IMAGE_ARG)
    caption: str | None = Field(None, max_length=MAX_CAPTION)
    view_once: bool = False  # the recipient can open it once (WhatsApp's "view once")
    typing: Typing = None


MAX_PLACE = 1_024  # characters in a location's name or address


class SendLocationArgs(JobArgs):
    to: Address
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    name: str | None = Field(None, max_length=MAX_PLACE)
    address: str | None = Field(None, max_length=MAX_PLACE)
    typing: Typing = None

    @field_validator("latitude", "longitude", mode="before")
    @classmethod
    def _number(cls, value: object) -> object:
        # JSON numbers only: an int is a float here, a bool (a JSON true) is not a coordinate.
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("Input should be a number")
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("Input should be a finite number")
        return float(value)


MAX_CONTACT_NAME = 256
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


class SendContactArgs(JobArgs):
    to: Address
    name: str = Field(min_length=1, max_length=MAX_CONTACT_NAME)
    phone: str
    typing: Typing = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("name is blank")
        # The name becomes a line of the contact card (vCard): a line break would add fields.
        if _CONTROL.search(value):
            raise ValueError("name must not contain line breaks or control characters")
        return value.strip()

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        check_length(value)
        if value.endswith("@" + USER_SERVER):  # a user JID names a phone number too
            value = normalize_jid(value).split("@", 1)[0]
        digits = normalize_phone(value)
        # The card shows the number formatted by country (wagw.operations.vcard, with the
        # phonenumbers library): a number without a known country code cannot be shown.
        import phonenumbers

        try:
            phonenumbers.parse("+" + digits)
        except phonenumbers.NumberParseException:
            raise ValueError(f"phone number {shown(value)} has no known country code") from None
        return digits


MAX_URL = 2_048


class SendLinkArgs(JobArgs):
    to: Address
    url: str = Field(min_length=1, max_length=MAX_URL)
    caption: str | None = Field(None, max_length=MAX_CAPTION)
    typing: Typing = None

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        # Message text for WhatsApp, never fetched by wagw: it only has to be one http(s) link.
        from urllib.parse import urlsplit

        if _CONTROL.search(value) or any(c.isspace() for c in value):
            raise ValueError("url must not contain spaces, line breaks or control characters")
        try:
            parts = urlsplit(value)
        except ValueError:
            raise ValueError(f"{shown(value)} is not a URL") from None
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{shown(value)} is not an http(s) URL with a host")
        return value


MAX_QUESTION = 255  # WhatsApp's app limits for a poll
MAX_OPTION = 100
MIN_OPTIONS, MAX_OPTIONS = 2, 12


class SendPollArgs(JobArgs):
    to: Address
    question: str = Field(min_length=1, max_length=MAX_QUESTION)
    options: list[str] = Field(min_length=MIN_OPTIONS, max_length=MAX_OPTIONS)
    max_answers: int = Field(1, ge=1, le=MAX_OPTIONS)
    typing: Typing = None

    @field_validator("question")
    @classmethod
    def _question(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("question is blank")
        return value

    @field_validator("options")
    @classmethod
    def _options(cls, values: list[str]) -> list[str]:
        for value in values:
            if not value.strip():
                raise ValueError("an option is blank")
            if len(value) > MAX_OPTION:
                raise ValueError(f"an option has more than {MAX_OPTION} characters")
        # A vote names options by the sha256 of their text: two equal options could not be told apart.
        if len(set(values)) != len(values):
            raise ValueError("options must be unique")
        return values

    @model_validator(mode="after")
    def _answers(self) -> SendPollArgs:
        if self.max_answers > len(self.options):
            raise ValueError(f"max_answers ({self.max_answers}) is more than the {len(self.options)} options")
        return self


class SendFileArgs(JobArgs):
    to: MediaTarget
    file: str = Field(min_length=1, max_length=MAX_IMAGE_ARG)
    filename: str | None = Field(None, min_length=1, max_length=MAX_FILENAME)
    caption: str | None = Field(None, max_length=MAX_CAPTION)
    # A hint only: used when the bytes do not show their type (workers/wa/media.py).
    mimetype: str | None = Field(None, min_length=3, max_length=255)
    typing: Typing = None

    @field_validator("filename")
    @classmethod
    def _filename(cls, value: str | None) -> str | None:
        return None if value is None else file_name(value)


def file_name(value: str) -> str:
    """A document's file name as recipients see it: a plain name, stripped; ValueError if not."""
    if (
        _CONTROL.search(value)
        or "/" in value
        or "\\" in value
        or value.strip() in ("", ".", "..")
        or len(value) > MAX_FILENAME
    ):
        raise ValueError("filename must be a plain file name (no path, line breaks or control characters)")
    return value.strip()


class SendStickerArgs(JobArgs):
    to: MediaTarget
    sticker: str = Field(min_length=1, max_length=MAX_STICKER_ARG)
    typing: Typing = None


class SendVideoArgs(JobArgs):
    to: MediaTarget
    video: str = Field(min_length=1, max_length=MAX_IMAGE_ARG)
    caption: str | None = Field(None, max_length=MAX_CAPTION)
    view_once: bool = False
    typing: Typing = None


class SendAudioArgs(JobArgs):
    to: MediaTarget
    audio: str = Field(min_length=1, max_length=MAX_IMAGE_ARG)
    ptt: bool = False  # a voice note ("push to talk"): Ogg Opus only
    typing: Typing = None


# download_media: what an inbound message's `media` object holds (docs/events.md). Each kind
# has WhatsApp's cap; a file_length above it is refused before anything is downloaded.
MAX_DOWNLOAD_BYTES = {
    "image": MAX_IMAGE_BYTES,
    "video": MAX_AUDIO_BYTES,
    "audio": MAX_AUDIO_BYTES,
    "video_note": MAX_AUDIO_BYTES,
    "sticker": MAX_STICKER_BYTES,
    "document": MAX_DOCUMENT_BYTES,
}
MAX_DIRECT_PATH = 2_048
# A direct path on WhatsApp's media hosts: "/v/t62.7118-24/…enc?ccb=…" (no scheme, no host,
# no dot segments, nothing outside printable ASCII).
_DIRECT_PATH = re.compile(r"/[A-Za-z0-9._~/?&=%+:@,;!*()-]*")
_B64_32 = re.compile(r"[A-Za-z0-9+/]{43}=")


def _key32(value: str, name: str) -> str:
    """32 bytes as standard base64 (how the event carries keys and hashes)."""
    if not _B64_32.fullmatch(value):
        raise ValueError(f"{name} must be 32 bytes as base64")
    return value


class DownloadMedia(JobArgs):
    """The `media` object of an inbound media message, as docs/events.md describes it."""

    kind: Literal["image", "video", "audio", "document", "sticker", "video_note"]
    direct_path: str = Field(min_length=2, max_length=MAX_DIRECT_PATH)
    media_key: str
    file_enc_sha256: str
    # Required: goneonize asks whatsmeow to check the file against it (allowNoHash=false), so
    # without it every download would fail after fetching the file.
    file_sha256: str
    file_length: int = Field(gt=0)
    mime_type: str | None = Field(None, min_length=3, max_length=255)

    @field_validator("direct_path")
    @classmethod
    def _direct_path(cls, value: str) -> str:
        path = value.split("?", 1)[0]
        if (
            not _DIRECT_PATH.fullmatch(value)
            or value.startswith("//")
            or any(part in (".", "..") for part in path.split("/"))
        ):
            raise ValueError('direct_path must be a path on WhatsApp\'s media hosts ("/v/…"), as the event gives it')
        return value

    @field_validator("media_key")
    @classmethod
    def _media_key(cls, value: str) -> str:
        return _key32(value, "media_key")

    @field_validator("file_enc_sha256")
    @classmethod
    def _enc(cls, value: str) -> str:
        return _key32(value, "file_enc_sha256")

    @field_validator("file_sha256")
    @classmethod
    def _plain(cls, value: str) -> str:
        return _key32(value, "file_sha256")

    @field_validator("mime_type")
    @classmethod
    def _mime_type(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if _CONTROL.search(value) or not re.fullmatch(r"[\x21-\x7e]+/[\x20-\x7e]+", value):
            raise ValueError("mime_type must be a media type such as image/jpeg")
        return value

    @model_validator(mode="after")
    def _cap(self) -> DownloadMedia:
        cap = MAX_DOWNLOAD_BYTES[self.kind]
        if self.file_length > cap:
            raise ValueError(f"file_length {self.file_length} is more than the {cap} bytes a {self.kind} may have")
        return self


class DownloadMediaArgs(JobArgs):
    media: DownloadMedia


class UserInfoArgs(JobArgs):
    jids: list[str] = Field(min_length=1, max_length=MAX_LIST)

    @field_validator("jids")
    @classmethod
    def _jids(cls, values: list[str], info: ValidationInfo) -> list[str]:
        return _unique([_address(value, info) for value in values])


class IsOnWhatsAppArgs(JobArgs):
    phones: list[str] = Field(min_length=1, max_length=MAX_LIST)

    @field_validator("phones")
    @classmethod
    def _phones(cls, values: list[str]) -> list[str]:
        phones = []
        for value in values:
            check_length(value)
            # A user JID names a phone number too.
            if value.endswith("@" + USER_SERVER):
                value = normalize_jid(value).split("@", 1)[0]
            elif "@" in value:  # a LID, a group: no number to ask WhatsApp about
                raise ValueError(f"{shown(value)} is not a phone number (a LID or group JID has none to look up)")
            phones.append("+" + normalize_phone(value))
        return _unique(phones)


class GroupInfoArgs(JobArgs):
    jid: str

    @field_validator("jid")
    @classmethod
    def _jid(cls, value: str, info: ValidationInfo) -> str:
        check_length(value)
        jid = normalize_jid(value, fake=_fake(info))
        if not jid.endswith("@" + GROUP_SERVER):
            raise ValueError(f"{shown(value)} is not a group JID (…@{GROUP_SERVER})")
        return jid


class LeaveGroupArgs(GroupInfoArgs):
    """jid: the group to leave."""


class SetGroupNameArgs(GroupInfoArgs):
    name: str = Field(min_length=1, max_length=MAX_GROUP_NAME)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("name is blank")
        return value


class SetGroupTopicArgs(GroupInfoArgs):
    topic: str = Field(max_length=MAX_GROUP_TOPIC)  # "" removes the topic


class SetGroupLockedArgs(GroupInfoArgs):
    locked: bool


class SetGroupAnnounceArgs(GroupInfoArgs):
    announce: bool


class GroupInviteLinkArgs(GroupInfoArgs):
    reset: bool = False  # revoke the current link and make a new one


class GroupRequestsArgs(GroupInfoArgs):
    """jid: the group whose pending join requests to list."""


def _people(values: list[str], info: ValidationInfo) -> list[str]:
    """Users only (phone numbers, user JIDs or LIDs), no duplicates: a group's participants,
    the people a message mentions."""
    people = []
    for value in values:
        jid = _address(value, info)
        if jid.rpartition("@")[2] not in (USER_SERVER, "lid"):
            raise ValueError(f"{shown(value)} is not a user (a phone number, …@{USER_SERVER} or …@lid)")
        people.append(jid)
    return _unique(people)


class CreateGroupArgs(JobArgs):
    name: str = Field(min_length=1, max_length=MAX_GROUP_NAME)
    participants: list[str] = Field(min_length=1, max_length=MAX_LIST)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("name is blank")
        return value

    @field_validator("participants")
    @classmethod
    def _participants(cls, values: list[str], info: ValidationInfo) -> list[str]:
        return _people(values, info)


class GroupParticipantsArgs(GroupInfoArgs):
    action: Literal["add", "remove", "promote", "demote"]
    participants: list[str] = Field(min_length=1, max_length=MAX_LIST)

    @field_validator("participants")
    @classmethod
    def _participants(cls, values: list[str], info: ValidationInfo) -> list[str]:
        return _people(values, info)


def invite_code(value: str, *, fake: bool = False) -> str:
    """A chat.whatsapp.com invite link, or its code alone -> the code (never fetched: wagw
    hands only the code to WhatsApp). The fake's crash/hang/fail pass as codes."""
    check_length(value)
    text = value.strip()
    if fake and text in FAKE_USERS:
        return text
    match = _INVITE.fullmatch(text)
    if match is None:
        raise ValueError(f"{shown(value)} is not a chat.whatsapp.com invite link or invite code")
    return match.group("code")


class _InviteLinkArgs(JobArgs):
    link: str

    @field_validator("link")
    @classmethod
    def _link(cls, value: str, info: ValidationInfo) -> str:
        return invite_code(value, fake=_fake(info))


class JoinGroupArgs(_InviteLinkArgs):
    """link: the invite link (https://chat.whatsapp.com/<code>) or the code."""


class GroupInfoFromLinkArgs(_InviteLinkArgs):
    """link: the invite link (https://chat.whatsapp.com/<code>) or the code."""


class SetGroupPhotoArgs(GroupInfoArgs):
    image: str = Field(min_length=1, max_length=MAX_IMAGE_ARG)  # as send_image's


class JoinedGroupsArgs(JobArgs):
    """No arguments."""


class MessageActionArgs(JobArgs):
    """A message to act on: its chat, its id and (in a group) whose it is."""

    chat: Address
    message_id: str = Field(min_length=1, max_length=MAX_ID, pattern=f"^{_MESSAGE_ID.pattern}$")


class ReactArgs(MessageActionArgs):
    emoji: str = Field(max_length=MAX_REACTION)
    # Who sent the message reacted to: WhatsApp finds it by id *and* sender (docs/jobs.md).
    sender: Address | None = None

    @field_validator("chat")
    @classmethod
    def _not_a_channel(cls, value: str) -> str:
        if value.endswith("@" + CHANNEL):
            raise ValueError(NO_REACTIONS_IN_CHANNELS)
        return value

    @field_validator("emoji")
    @classmethod
    def _emoji(cls, value: str) -> str:
        # "" removes this account's reaction; anything else must be one visible emoji-ish text.
        if value and (not value.strip() or any(ch.isspace() or ord(ch) < 32 for ch in value)):
            raise ValueError("emoji must be an emoji (or empty to remove the reaction), without spaces")
        return value

    @model_validator(mode="after")
    def _group_needs_sender(self) -> ReactArgs:
        if self.chat.endswith("@" + GROUP_SERVER) and self.sender is None:
            raise ValueError("sender (who sent the message) is required when chat is a group")
        return self


# What the backends answer a revoke of someone else's message in a direct chat (only they know
# this account's own number).
REVOKE_OTHERS = (
    "invalid arguments for revoke: sender: only a group admin can revoke someone else's message;"
    " in a direct chat only this account's own (leave sender out)"
)


class RevokeArgs(MessageActionArgs):
    # Whose message: None is this account's own; another member's (in a group, as an admin).
    sender: Address | None = None


class EditMessageArgs(MessageActionArgs):
    text: str = Field(min_length=1, max_length=MAX_TEXT)

    @field_validator("text")
    @classmethod
    def _text(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text is blank")
        return value


class SendPresenceArgs(JobArgs):
    presence: Literal["available", "unavailable"]


class SendChatPresenceArgs(JobArgs):
    chat: Address
    state: Literal["composing", "recording", "paused"]


# WhatsApp's disappearing-message timers (whatsmeow's DisappearingTimer* constants): phones
# ignore any other value in a direct chat, and the server rejects it in a group.
DISAPPEARING_TIMERS = {0: "off", 86_400: "24 hours", 604_800: "7 days", 7_776_000: "90 days"}
_DISAPPEARING_SERVERS = (USER_SERVER, GROUP_SERVER, "lid")


class SetDisappearingArgs(JobArgs):
    chat: str
    seconds: int

    @field_validator("chat")
    @classmethod
    def _chat(cls, value: str, info: ValidationInfo) -> str:
        jid = _address(value, info)
        if jid.rpartition("@")[2] not in _DISAPPEARING_SERVERS:
            raise ValueError(f"{shown(value)} is neither a user nor a group chat")
        return jid

    @field_validator("seconds")
    @classmethod
    def _seconds(cls, value: int) -> int:
        if value not in DISAPPEARING_TIMERS:
            allowed = ", ".join(f"{s} ({name})" for s, name in DISAPPEARING_TIMERS.items())
            raise ValueError(f"must be one of WhatsApp's timers: {allowed}")
        return value


class RejectCallArgs(JobArgs):
    call_id: str = Field(min_length=1, max_length=MAX_ID, pattern=f"^{_MESSAGE_ID.pattern}$")
    # Who is calling: the call.offer event's `from` (or `from_lid`).
    caller: Address


class ContactsArgs(JobArgs):
    """No arguments."""


class MyPrivacyArgs(JobArgs):
    """No arguments."""


class MarkReadArgs(JobArgs):
    chat: Address
    ids: list[str] = Field(min_length=1, max_length=MAX_LIST)
    sender: Address | None = None

    @field_validator("ids")
    @classmethod
    def _ids(cls, values: list[str]) -> list[str]:
        for value in values:
            if not 1 <= len(value) <= MAX_ID or not _MESSAGE_ID.fullmatch(value):
                raise ValueError(f"{shown(value)} is not a message id")
        return _unique(values)

    @model_validator(mode="after")
    def _group_needs_sender(self) -> MarkReadArgs:
        # WhatsApp needs to know whose message is read in a group.
        if self.chat.endswith("@" + GROUP_SERVER) and self.sender is None:
            raise ValueError("sender is required when chat is a group")
        return self


def describe(error: ValidationError) -> str:
    """'text: String should have at most 65536 characters; to: Field required' (never the input)."""
    parts = []
    for item in error.errors(include_url=False, include_input=False):
        loc = ".".join(str(part) for part in item["loc"]) or "arguments"
        message = item["msg"].removeprefix("Value error, ")
        parts.append(f"{loc}: {message}")
    return "; ".join(parts)
