"""The one table of outbound operations: the public `workers.wa.<name>` jobs.

Everything about an operation derives from its row: the argument model (checked by the
client and again by the worker), the defaults applied when an enqueuer sets no timeout or
Retry, the Backend method the native host calls (the same name), the `wagw.client`
functions, the `operation` label of the wa job metrics, the job's *target* (what a poison
target is: wagw.quarantine), whether it *sends* (not repeated after an unknown outcome),
and docs/jobs.md's defaults table (tests/unit/test_operations.py holds the docs to it).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from wagw.operations.args import (
    ContactsArgs,
    CreateGroupArgs,
    DownloadMediaArgs,
    EditMessageArgs,
    FetchAvatarArgs,
    GroupInfoArgs,
    GroupInfoFromLinkArgs,
    GroupInviteLinkArgs,
    GroupParticipantsArgs,
    GroupRequestsArgs,
    InvalidArguments,
    IsOnWhatsAppArgs,
    JobArgs,
    JoinedGroupsArgs,
    JoinGroupArgs,
    LeaveGroupArgs,
    MarkReadArgs,
    MyPrivacyArgs,
    ReactArgs,
    RejectCallArgs,
    RevokeArgs,
    SendAudioArgs,
    SendChatPresenceArgs,
    SendContactArgs,
    SendFileArgs,
    SendImageArgs,
    SendLinkArgs,
    SendLocationArgs,
    SendPollArgs,
    SendPresenceArgs,
    SendStickerArgs,
    SendTextArgs,
    SendVideoArgs,
    SetDisappearingArgs,
    SetGroupAnnounceArgs,
    SetGroupLockedArgs,
    SetGroupNameArgs,
    SetGroupPhotoArgs,
    SetGroupTopicArgs,
    UserInfoArgs,
    describe,
)

JOB_PREFIX = "workers.wa."
# Job meta an enqueuer sets (JSON true) to have a send retried per its Retry even when its
# outcome is unknown, accepting that the message may arrive twice (docs/jobs.md).
RESEND_ON_UNKNOWN = "resend_on_unknown"
# Arguments the wa-worker acts on itself before a send and never passes to the backend
# ("typing…" first: wagw.sendorder).
WORKER_ARGUMENTS = frozenset({"typing"})
# What such a send fails with: workers.wa.OutcomeUnknown, or this name in the exception text
# the reaper writes for a send whose wa-worker died mid-call.
OUTCOME_UNKNOWN = "workers.wa.OutcomeUnknown"


def outcome_unknown(operation: str, to: str | None, cause: str) -> str:
    """The message of a send that may have reached WhatsApp ("outcome unknown: …"); `to` is
    the target as shown (masked), `cause` what happened after the hand-over."""
    where = f" to {to}" if to else ""
    return (
        f"outcome unknown: {operation}{where} may have reached WhatsApp, so it is not sent again "
        f'(enqueue with meta={{"{RESEND_ON_UNKNOWN}": true}} to have it retried); {cause}'
    )


@dataclass(frozen=True)
class Operation:
    name: str
    args: type[JobArgs]
    summary: str  # the job's docstring: what it does and the shape of its result
    timeout: int  # seconds for the whole job: validation, connect wait and the call
    retries: int  # RQ Retry(max=retries): attempts = retries + 1
    interval: int  # seconds between attempts (needs the scheduler)
    # The argument naming whom or what the job is about (a JID, phone number or a list of
    # them): a crash that repeats on one target poisons that target only (wagw.quarantine).
    # None: the job has no target, and each of its crashes counts against the operation.
    target: str | None = None
    # A send delivers something to people on WhatsApp that a second call would deliver again
    # (neonize cannot reuse a message id). Once such a request reached the backend, a crash
    # or timeout leaves its outcome unknown: the job fails "outcome unknown", not retried,
    # unless the enqueuer opted in (docs/jobs.md "Send semantics").
    sends: bool = False
    # The media argument (URL, media-folder path or base64): the wa-worker turns it into bytes
    # and a sniffed mimetype (workers/wa/media.py), the bytes cross to the host as
    # params["<media>_b64"] and reach the backend as bytes.
    media: str | None = None

    @property
    def path(self) -> str:
        """The job's function path, as apps enqueue it."""
        return JOB_PREFIX + self.name

    @property
    def parameters(self) -> list[str]:
        return list(self.args.model_fields)

    def target_of(self, args: JobArgs) -> str | None:
        """The job's target from its validated arguments: the address, or a list's addresses
        sorted and joined with "," (a batch is one target); None when the job has none."""
        if self.target is None:
            return None
        value = getattr(args, self.target)
        if isinstance(value, list):
            return ",".join(sorted(value)) or None
        return value or None

    def signature(self, *extra: inspect.Parameter) -> inspect.Signature:
        """The job's Python signature (its argument model's fields, then `extra`)."""
        return inspect.Signature(
            [
                *(
                    inspect.Parameter(
                        name,
                        inspect.Parameter.POSITIONAL_OR_KEYWORD,
                        default=inspect.Parameter.empty if field.is_required() else field.default,
                        annotation=field.annotation,
                    )
                    for name, field in self.args.model_fields.items()
                ),
                *extra,
            ]
        )


OPERATIONS: dict[str, Operation] = {
    op.name: op
    for op in (
        Operation(
            "fetch_avatar",
            FetchAvatarArgs,
            "Profile picture of a user, group or newsletter: {jid, url, id, type, direct_path}.",
            timeout=30,
            retries=2,
            interval=2,
            target="jid",
        ),
        Operation(
            "send_text",
            SendTextArgs,
            "Send a text message, optionally replying to a message id and mentioning people (only those listed "
            "in mentions, never read from the text): {id, timestamp, to}.",
            timeout=60,
            retries=2,
            interval=5,
            target="to",
            sends=True,
        ),
        Operation(
            "send_image",
            SendImageArgs,
            "Send an image (http(s) URL, file path or base64) with a caption, optionally view once: "
            "{id, timestamp, to}.",
            timeout=120,
            retries=2,
            interval=5,
            target="to",
            sends=True,
            media="image",
        ),
        Operation(
            "send_location",
            SendLocationArgs,
            "Send a location pin (latitude, longitude, optional name and address): {id, timestamp, to}.",
            timeout=60,
            retries=2,
            interval=5,
            target="to",
            sends=True,
        ),
        Operation(
            "send_contact",
            SendContactArgs,
            "Send a contact card (a name and a phone number): {id, timestamp, to}.",
            timeout=60,
            retries=2,
            interval=5,
            target="to",
            sends=True,
        ),
        Operation(
            "send_link",
            SendLinkArgs,
            "Send an http(s) link as a message, with an optional caption before it: {id, timestamp, to}.",
            timeout=60,
            retries=2,
            interval=5,
            target="to",
            sends=True,
        ),
        Operation(
            "send_poll",
            SendPollArgs,
            "Send a poll (a question, 2 to 12 unique options, how many answers a voter may pick): {id, timestamp, to}.",
            timeout=60,
            retries=2,
            interval=5,
            target="to",
            sends=True,
        ),
        Operation(
            "send_file",
            SendFileArgs,
            "Send a document (http(s) URL, file path or base64; up to 100 MB) with a file name and "
            "caption: {id, timestamp, to}.",
            timeout=300,
            retries=2,
            interval=5,
            target="to",
            sends=True,
            media="file",
        ),
        Operation(
            "send_sticker",
            SendStickerArgs,
            "Send a static sticker made from an image (JPEG, PNG or WebP up to 1 MB; URL, file path "
            "or base64), scaled to fit 512x512: {id, timestamp, to}.",
            timeout=120,
            retries=2,
            interval=5,
            target="to",
            sends=True,
            media="sticker",
        ),
        Operation(
            "send_video",
            SendVideoArgs,
            "Send an MP4 video (up to 16 MB; URL, file path or base64) with a caption, optionally view "
            "once: {id, timestamp, to}.",
            timeout=120,
            retries=2,
            interval=5,
            target="to",
            sends=True,
            media="video",
        ),
        Operation(
            "send_audio",
            SendAudioArgs,
            "Send audio (Ogg Opus, MP3 or M4A up to 16 MB; URL, file path or base64), or a voice note "
            "with ptt=true (Ogg Opus): {id, timestamp, to}.",
            timeout=120,
            retries=2,
            interval=5,
            target="to",
            sends=True,
            media="audio",
        ),
        Operation(
            "user_info",
            UserInfoArgs,
            "Status, picture id, verified name and devices of users: {users: [...]}.",
            timeout=30,
            retries=2,
            interval=2,
            target="jids",
        ),
        Operation(
            "is_on_whatsapp",
            IsOnWhatsAppArgs,
            "Which phone numbers have WhatsApp: {results: [...]}.",
            timeout=30,
            retries=2,
            interval=2,
            target="phones",
        ),
        Operation(
            "group_info",
            GroupInfoArgs,
            "A group's name, topic, settings and participants.",
            timeout=30,
            retries=2,
            interval=2,
            target="jid",
        ),
        Operation(
            "joined_groups",
            JoinedGroupsArgs,
            "Every group this slot's account is in: {groups: [...]}.",
            timeout=60,
            retries=2,
            interval=2,
        ),
        Operation(
            "leave_group",
            LeaveGroupArgs,
            "Leave a group (this slot's account stops being a participant): {jid, left}.",
            timeout=30,
            retries=2,
            interval=2,
            target="jid",
        ),
        Operation(
            "set_group_name",
            SetGroupNameArgs,
            "Rename a group (announced to its members): {jid, name}.",
            timeout=30,
            retries=2,
            interval=2,
            target="jid",
            sends=True,
        ),
        Operation(
            "set_group_topic",
            SetGroupTopicArgs,
            'Set or remove ("") a group\'s topic, its description (announced to its members): {jid, topic}.',
            timeout=30,
            retries=2,
            interval=2,
            target="jid",
            sends=True,
        ),
        Operation(
            "set_group_locked",
            SetGroupLockedArgs,
            "Lock a group's info (only admins may edit it) or unlock it: {jid, locked}.",
            timeout=30,
            retries=2,
            interval=2,
            target="jid",
        ),
        Operation(
            "set_group_announce",
            SetGroupAnnounceArgs,
            "Make a group announcement-only (only admins may send) or open it again: {jid, announce}.",
            timeout=30,
            retries=2,
            interval=2,
            target="jid",
        ),
        Operation(
            "group_invite_link",
            GroupInviteLinkArgs,
            "A group's invite link; reset=True revokes it and makes a new one: {jid, link, reset}.",
            timeout=30,
            retries=2,
            interval=2,
            target="jid",
        ),
        Operation(
            "group_requests",
            GroupRequestsArgs,
            "Pending requests to join a group (needs admin approval): {jid, requests: [{jid, requested_at}]}.",
            timeout=30,
            retries=2,
            interval=2,
            target="jid",
        ),
        Operation(
            "create_group",
            CreateGroupArgs,
            "Create a group with these participants (this account its admin): the new group's group_info.",
            timeout=60,
            retries=2,
            interval=5,
            target="participants",
            sends=True,
        ),
        Operation(
            "group_participants",
            GroupParticipantsArgs,
            "Add, remove, promote or demote participants of a group: {jid, action, participants: [...]}.",
            timeout=60,
            retries=2,
            interval=5,
            target="jid",
        ),
        Operation(
            "join_group",
            JoinGroupArgs,
            "Join a group through its invite link or code: {jid} of the group joined (or asked to join).",
            timeout=30,
            retries=2,
            interval=2,
            target="link",
        ),
        Operation(
            "group_info_from_link",
            GroupInfoFromLinkArgs,
            "A group's group_info from its invite link or code, without joining it.",
            timeout=30,
            retries=2,
            interval=2,
            target="link",
        ),
        Operation(
            "set_group_photo",
            SetGroupPhotoArgs,
            "Set a group's photo (http(s) URL, file path or base64; announced to its members): {jid, picture_id}.",
            timeout=120,
            retries=2,
            interval=5,
            target="jid",
            sends=True,
            media="image",
        ),
        Operation(
            "download_media",
            DownloadMediaArgs,
            "Download, decrypt and verify an inbound message's media (the event's `media` object) into "
            "WAGW_MEDIA_DIR: {path, mimetype, size, sha256}.",
            timeout=300,
            retries=2,
            interval=5,
        ),
        Operation(
            "mark_read",
            MarkReadArgs,
            "Send read receipts for message ids in a chat: {chat, ids, sender, receipt_type}.",
            timeout=30,
            retries=2,
            interval=2,
            target="chat",
        ),
        Operation(
            "my_privacy",
            MyPrivacyArgs,
            "This account's privacy settings: {group_add, last_seen, status, profile, read_receipts, "
            "call_add, online}.",
            timeout=30,
            retries=2,
            interval=2,
        ),
        Operation(
            "contacts",
            ContactsArgs,
            "The contacts this slot's device holds (synced from the phone): {contacts: [{jid, name, first_name, "
            "full_name, push_name, business_name}]}.",
            timeout=30,
            retries=2,
            interval=2,
        ),
        Operation(
            "react",
            ReactArgs,
            "React to a message with an emoji (empty emoji removes the reaction): "
            "{id, timestamp, chat, message_id, emoji}.",
            timeout=60,
            retries=2,
            interval=5,
            target="chat",
            sends=True,
        ),
        Operation(
            "revoke",
            RevokeArgs,
            "Delete a message for everyone (this account's own, or a member's as a group admin): "
            "{id, timestamp, chat, message_id, sender}.",
            timeout=60,
            retries=2,
            interval=5,
            target="chat",
            sends=True,
        ),
        Operation(
            "edit_message",
            EditMessageArgs,
            "Replace the text of a message this account sent: {id, timestamp, chat, message_id, text}.",
            timeout=60,
            retries=2,
            interval=5,
            target="chat",
            sends=True,
        ),
        Operation(
            "send_presence",
            SendPresenceArgs,
            "Show this account as online (available) or offline (unavailable) to its contacts: {presence}.",
            timeout=30,
            retries=2,
            interval=2,
        ),
        Operation(
            "send_chat_presence",
            SendChatPresenceArgs,
            "Show typing (composing), recording audio (recording) or stop (paused) in a chat: {chat, state}.",
            timeout=30,
            retries=2,
            interval=2,
            target="chat",
        ),
        Operation(
            "set_disappearing",
            SetDisappearingArgs,
            "Set a chat's disappearing-messages timer (0 off, 86400, 604800 or 7776000 seconds): {chat, seconds}.",
            timeout=30,
            retries=2,
            interval=2,
            target="chat",
        ),
        Operation(
            "reject_call",
            RejectCallArgs,
            "Decline an incoming call (a call.offer event's call_id and from): {call_id, caller}.",
            timeout=30,
            retries=2,
            interval=2,
            target="caller",
        ),
    )
}


# Sends, as docs/jobs.md lists them.
SENDS = frozenset(name for name, op in OPERATIONS.items() if op.sends)

# What a wa-worker runs (wagw.rqcompat.confine_jobs): these paths and nothing else.
JOB_PATHS = frozenset(op.path for op in OPERATIONS.values())


def operation_of(func_name: str | None) -> Operation | None:
    """'workers.wa.fetch_avatar' -> its Operation (None for anything else)."""
    if func_name and func_name.startswith(JOB_PREFIX):
        return OPERATIONS.get(func_name[len(JOB_PREFIX) :])
    return None


def get(name: str) -> Operation:
    """The operation called `name`; ValueError naming the known ones otherwise."""
    try:
        return OPERATIONS[name]
    except KeyError:
        raise ValueError(f"unknown wa job {name!r} (known: {', '.join(OPERATIONS)})") from None


def validate(name: str, args: tuple | list, kwargs: dict[str, Any], *, fake: bool = False) -> JobArgs:
    """Bind a job's positional and keyword arguments to its model, or raise InvalidArguments."""
    model = OPERATIONS[name].args
    names = list(model.model_fields)
    if len(args) > len(names):
        raise InvalidArguments(
            f"invalid arguments for {name}: takes at most {len(names)} "
            f"positional arguments ({', '.join(names) or 'none'}), got {len(args)}"
        )
    data = dict(zip(names, args, strict=False))
    for key, value in kwargs.items():
        if key in data:
            raise InvalidArguments(f"invalid arguments for {name}: {key}: given twice")
        data[key] = value
    try:
        return model.model_validate(data, context={"fake": fake})
    except ValidationError as error:
        raise InvalidArguments(f"invalid arguments for {name}: {describe(error)}") from None
