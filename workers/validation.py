"""Arguments of the public `workers.wa.*` jobs: pydantic models, JID and phone normalisation.

Jobs arrive as JSON from any app, so nothing here trusts a type. A bad argument is the
caller's bug: it fails the job at once with a readable message (InvalidArguments, never
retried) and never reaches the native host.
"""

from __future__ import annotations

import base64
import binascii
import re
from pathlib import Path
from typing import Any, ClassVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

# WhatsApp's own limits, rounded down where WhatsApp is vague.
MAX_TEXT = 65_536  # characters in one text message
MAX_CAPTION = 4_096
MAX_IMAGE_BYTES = 16 * 1024 * 1024
MAX_IMAGE_ARG = 23_000_000  # characters: 16 MiB of base64 plus slack
MAX_LIST = 100  # JIDs, phones or message ids in one call
MAX_ID = 128  # characters in a message id
MAX_ADDRESS = 256  # characters in a JID or phone argument, checked before any parsing

USER_SERVER = "s.whatsapp.net"
GROUP_SERVER = "g.us"
# The user parts the fake backend turns into a Go panic, a hang or an error (SPEC).
FAKE_USERS = frozenset({"crash", "hang", "fail"})

_SERVERS = {
    USER_SERVER: re.compile(r"\d{5,20}"),
    "c.us": re.compile(r"\d{5,20}"),  # legacy name of s.whatsapp.net
    "lid": re.compile(r"\d{1,25}"),
    GROUP_SERVER: re.compile(r"\d{5,20}(-\d{5,20})?"),
    "newsletter": re.compile(r"\d{5,25}"),
    "broadcast": re.compile(r"status|\d{5,20}"),
}
# user[.agent][:device]@server; agent and device name one linked device of that user.
_JID = re.compile(r"(?P<user>[^@:.\s]+)(?:\.\d+)?(?::\d+)?@(?P<server>[A-Za-z.]+)")
_PHONE_NOISE = re.compile(r"[\s\-.()/]")
_MESSAGE_ID = re.compile(r"[A-Za-z0-9_\-.:]+")


class InvalidArguments(ValueError):
    """A job's arguments are wrong: fail now, retrying cannot help."""

    permanent = True  # read by the wa-worker: no RQ retry for this failure


# Normalisation -------------------------------------------------------------------------
def normalize_phone(value: str) -> str:
    """'+1 (555) 123-4567' -> '15551234567' (E.164 digits, no '+')."""
    digits = _PHONE_NOISE.sub("", value.strip())
    digits = digits.removeprefix("+")
    if not digits.isdigit():
        raise ValueError(f"{_show(value)} is neither a JID nor a phone number")
    if digits.startswith("0"):
        raise ValueError(f"phone number {_show(value)} must be in international format (+<country code><number>)")
    if not 7 <= len(digits) <= 15:
        raise ValueError(f"phone number {_show(value)} must have 7 to 15 digits")
    return digits


def normalize_jid(value: str, *, fake: bool = False) -> str:
    """A JID in canonical form: lowercase server, no agent/device part, c.us -> s.whatsapp.net."""
    match = _JID.fullmatch(value.strip())
    if not match:
        raise ValueError(f"{_show(value)} is not a valid JID (expected user@server)")
    user, server = match["user"], match["server"].lower()
    if server == "c.us":
        server = USER_SERVER
    pattern = _SERVERS.get(server)
    if pattern is None:
        raise ValueError(f"{_show(value)} is not a valid JID: unknown server {server!r} "
                         f"(known: {', '.join(sorted(_SERVERS))})")
    if not pattern.fullmatch(user) and not (fake and user in FAKE_USERS):
        raise ValueError(f"{_show(value)} is not a valid JID: bad user part for @{server}")
    return f"{user}@{server}"


def normalize_target(value: str, *, fake: bool = False) -> str:
    """A JID, or a phone number turned into its user JID."""
    _check_length(value)
    if "@" in value:
        return normalize_jid(value, fake=fake)
    if fake and value.strip() in FAKE_USERS:
        return f"{value.strip()}@{USER_SERVER}"
    return f"{normalize_phone(value)}@{USER_SERVER}"


def _check_length(value: str) -> None:
    if len(value) > MAX_ADDRESS:
        raise ValueError(f"a JID or phone number has at most {MAX_ADDRESS} characters, got {len(value)}")


def _show(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:40] + "…")


def _fake(info: ValidationInfo) -> bool:
    return bool(info.context and info.context.get("fake"))


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


# Argument models ------------------------------------------------------------------------
class JobArgs(BaseModel):
    """Strict: JSON types only, no coercion ("true" is not a bool), no unknown arguments."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)
    operation: ClassVar[str]


class FetchAvatarArgs(JobArgs):
    operation = "fetch_avatar"
    jid: str
    preview: bool = False
    is_community: bool = False

    @field_validator("jid")
    @classmethod
    def _jid(cls, value: str, info: ValidationInfo) -> str:
        return normalize_target(value, fake=_fake(info))


class SendTextArgs(JobArgs):
    operation = "send_text"
    to: str
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    reply_to: str | None = Field(None, min_length=1, max_length=MAX_ID, pattern=f"^{_MESSAGE_ID.pattern}$")

    @field_validator("to")
    @classmethod
    def _to(cls, value: str, info: ValidationInfo) -> str:
        return normalize_target(value, fake=_fake(info))

    @field_validator("text")
    @classmethod
    def _text(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text is blank")
        return value


class SendImageArgs(JobArgs):
    operation = "send_image"
    to: str
    image: str = Field(min_length=1, max_length=MAX_IMAGE_ARG)
    caption: str | None = Field(None, max_length=MAX_CAPTION)

    @field_validator("to")
    @classmethod
    def _to(cls, value: str, info: ValidationInfo) -> str:
        return normalize_target(value, fake=_fake(info))


class UserInfoArgs(JobArgs):
    operation = "user_info"
    jids: list[str] = Field(min_length=1, max_length=MAX_LIST)

    @field_validator("jids")
    @classmethod
    def _jids(cls, values: list[str], info: ValidationInfo) -> list[str]:
        return _unique([normalize_target(value, fake=_fake(info)) for value in values])


class IsOnWhatsAppArgs(JobArgs):
    operation = "is_on_whatsapp"
    phones: list[str] = Field(min_length=1, max_length=MAX_LIST)

    @field_validator("phones")
    @classmethod
    def _phones(cls, values: list[str]) -> list[str]:
        phones = []
        for value in values:
            _check_length(value)
            # A user JID names a phone number too.
            if value.endswith("@" + USER_SERVER):
                value = normalize_jid(value).split("@", 1)[0]
            phones.append("+" + normalize_phone(value))
        return _unique(phones)


class GroupInfoArgs(JobArgs):
    operation = "group_info"
    jid: str

    @field_validator("jid")
    @classmethod
    def _jid(cls, value: str, info: ValidationInfo) -> str:
        _check_length(value)
        jid = normalize_jid(value, fake=_fake(info))
        if not jid.endswith("@" + GROUP_SERVER):
            raise ValueError(f"{_show(value)} is not a group JID (…@{GROUP_SERVER})")
        return jid


class JoinedGroupsArgs(JobArgs):
    operation = "joined_groups"


class MarkReadArgs(JobArgs):
    operation = "mark_read"
    chat: str
    ids: list[str] = Field(min_length=1, max_length=MAX_LIST)
    sender: str | None = None

    @field_validator("chat", "sender")
    @classmethod
    def _address(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else normalize_target(value, fake=_fake(info))

    @field_validator("ids")
    @classmethod
    def _ids(cls, values: list[str]) -> list[str]:
        for value in values:
            if not 1 <= len(value) <= MAX_ID or not _MESSAGE_ID.fullmatch(value):
                raise ValueError(f"{_show(value)} is not a message id")
        return _unique(values)

    @model_validator(mode="after")
    def _group_needs_sender(self) -> MarkReadArgs:
        # WhatsApp needs to know whose message is read in a group.
        if self.chat.endswith("@" + GROUP_SERVER) and self.sender is None:
            raise ValueError("sender is required when chat is a group")
        return self


ARGS: dict[str, type[JobArgs]] = {
    model.operation: model
    for model in (
        FetchAvatarArgs, SendTextArgs, SendImageArgs, UserInfoArgs,
        IsOnWhatsAppArgs, GroupInfoArgs, JoinedGroupsArgs, MarkReadArgs,
    )
}


def validate(operation: str, args: tuple | list, kwargs: dict[str, Any], *, fake: bool = False) -> JobArgs:
    """Bind a job's positional and keyword arguments to its model, or raise InvalidArguments."""
    model = ARGS[operation]
    names = list(model.model_fields)
    if len(args) > len(names):
        raise InvalidArguments(f"invalid arguments for {operation}: takes at most {len(names)} "
                               f"positional arguments ({', '.join(names) or 'none'}), got {len(args)}")
    data = dict(zip(names, args))
    for name, value in kwargs.items():
        if name in data:
            raise InvalidArguments(f"invalid arguments for {operation}: {name}: given twice")
        data[name] = value
    try:
        return model.model_validate(data, context={"fake": fake})
    except ValidationError as error:
        raise InvalidArguments(f"invalid arguments for {operation}: {describe(error)}") from None


def describe(error: ValidationError) -> str:
    """'text: String should have at most 65536 characters; to: Field required' (never the input)."""
    parts = []
    for item in error.errors(include_url=False, include_input=False):
        loc = ".".join(str(part) for part in item["loc"]) or "arguments"
        message = item["msg"].removeprefix("Value error, ")
        parts.append(f"{loc}: {message}")
    return "; ".join(parts)


# Images ---------------------------------------------------------------------------------
_MAGIC = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def sniff_image(data: bytes) -> str:
    """The image's mimetype from its first bytes; InvalidArguments if it is not an image."""
    for magic, mimetype in _MAGIC:
        if data.startswith(magic):
            return mimetype
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    raise InvalidArguments("invalid arguments for send_image: image: not a JPEG, PNG, GIF or WebP image")


def image_source(value: str) -> tuple[str, str]:
    """Classify send_image's `image`: ("url", url) | ("path", path) | ("bytes", base64 text).

    A JPEG's base64 starts with "/9j/", so a leading slash means a path only if that file exists.
    """
    text = value.strip()
    lowered = text[:8].lower()
    if lowered.startswith(("http://", "https://")):
        return "url", text
    if lowered.startswith("file://"):
        return "path", text[len("file://"):]
    if text.startswith("data:"):
        header, sep, payload = text.partition(",")
        if not sep or ";base64" not in header:
            raise InvalidArguments("invalid arguments for send_image: image: a data: URL must be base64")
        return "bytes", payload
    if len(text) < 4096 and text.startswith(("/", "./", "~")) and Path(text).expanduser().is_file():
        return "path", text
    return "bytes", text


def decode_base64(text: str) -> bytes:
    try:
        data = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidArguments(
            "invalid arguments for send_image: image: not an http(s) URL, an existing file path or base64 data"
        ) from None
    check_image_size(len(data))
    return data


def read_image_file(path: str) -> bytes:
    file = Path(path).expanduser()
    if not file.is_file():
        raise InvalidArguments(f"invalid arguments for send_image: image: no such file {_show(path)}")
    check_image_size(file.stat().st_size)
    return file.read_bytes()


def check_image_size(size: int) -> None:
    if size == 0:
        raise InvalidArguments("invalid arguments for send_image: image: empty")
    if size > MAX_IMAGE_BYTES:
        raise InvalidArguments(
            f"invalid arguments for send_image: image: {size} bytes is more than {MAX_IMAGE_BYTES} bytes"
        )
