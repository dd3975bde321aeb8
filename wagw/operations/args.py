"""Arguments of the public `workers.wa.*` jobs: one strict pydantic model per operation.

Jobs arrive as JSON from any app, so nothing here trusts a type. A bad argument is the
caller's bug: it fails the job at once with a readable message (InvalidArguments, never
retried) and never reaches the native host.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import (
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

# WhatsApp's own limits, rounded down where WhatsApp is vague.
MAX_TEXT = 65_536  # characters in one text message
MAX_CAPTION = 4_096
MAX_IMAGE_BYTES = 16 * 1024 * 1024
MAX_IMAGE_ARG = 23_000_000  # characters: 16 MiB of base64 plus slack
MAX_GROUP_NAME = 100  # characters in a group's name (subject)
MAX_GROUP_TOPIC = 2048  # characters in a group's topic (description)
MAX_LIST = 100  # JIDs, phones or message ids in one call
MAX_ID = 128  # characters in a message id

# https://chat.whatsapp.com/<code> (scheme optional), or the code alone: whatsmeow's
# InviteLinkPrefix is the only host, and a code is letters and digits (22 today).
_INVITE = re.compile(r"(?:(?:https?://)?chat\.whatsapp\.com/(?:invite/)?)?(?P<code>[A-Za-z0-9]{16,32})/?")
_MESSAGE_ID = re.compile(r"[A-Za-z0-9_\-.:]+")


class InvalidArguments(ValueError):
    """A job's arguments are wrong: fail now, retrying cannot help."""

    __module__ = "workers.validation"  # the name job failures have always shown (docs/jobs.md)

    permanent = True  # read by the wa-worker: no RQ retry for this failure


def _fake(info: ValidationInfo) -> bool:
    return bool(info.context and info.context.get("fake"))


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


# Argument models ------------------------------------------------------------------------
class JobArgs(BaseModel):
    """Strict: JSON types only, no coercion ("true" is not a bool), no unknown arguments."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class FetchAvatarArgs(JobArgs):
    jid: str
    preview: bool = False
    is_community: bool = False

    @field_validator("jid")
    @classmethod
    def _jid(cls, value: str, info: ValidationInfo) -> str:
        return normalize_target(value, fake=_fake(info))


class SendTextArgs(JobArgs):
    to: str
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    reply_to: str | None = Field(None, min_length=1, max_length=MAX_ID, pattern=f"^{_MESSAGE_ID.pattern}$")
    # Who sent the quoted message: WhatsApp finds it by id *and* sender (docs/jobs.md).
    reply_to_sender: str | None = None

    @field_validator("to", "reply_to_sender")
    @classmethod
    def _address(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else normalize_target(value, fake=_fake(info))

    @model_validator(mode="after")
    def _quoted_sender(self) -> SendTextArgs:
        if self.reply_to_sender is not None and self.reply_to is None:
            raise ValueError("reply_to_sender is only meaningful with reply_to")
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
    to: str
    image: str = Field(min_length=1, max_length=MAX_IMAGE_ARG)
    caption: str | None = Field(None, max_length=MAX_CAPTION)

    @field_validator("to")
    @classmethod
    def _to(cls, value: str, info: ValidationInfo) -> str:
        return normalize_target(value, fake=_fake(info))


class UserInfoArgs(JobArgs):
    jids: list[str] = Field(min_length=1, max_length=MAX_LIST)

    @field_validator("jids")
    @classmethod
    def _jids(cls, values: list[str], info: ValidationInfo) -> list[str]:
        return _unique([normalize_target(value, fake=_fake(info)) for value in values])


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
    """Participants of a group: users only (phone numbers, user JIDs or LIDs), no duplicates."""
    people = []
    for value in values:
        jid = normalize_target(value, fake=_fake(info))
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


class MarkReadArgs(JobArgs):
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
