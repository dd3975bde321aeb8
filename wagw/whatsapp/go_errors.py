"""The error texts neonize's Go side (goneonize + whatsmeow) hands to Python, and how to read them.

Pure Python, no neonize import: the texts are facts about neonize 0.5.2 and whatsmeow,
measured against their source and pinned by tests/conformance.
"""

from __future__ import annotations

import re
from typing import Any

# whatsmeow errors.go: ErrProfilePictureNotSet and ErrProfilePictureUnauthorized. whatsmeow
# wraps the IQ error but its Error() is only this human text.
PROFILE_PICTURE_NOT_SET = "that user or group does not have a profile picture"
PROFILE_PICTURE_UNAUTHORIZED = "the user has hidden their profile picture from you"
NO_PICTURE = (PROFILE_PICTURE_NOT_SET, PROFILE_PICTURE_UNAUTHORIZED)

# goneonize IsOnWhatsApp: whatsmeow answered without a single entry (a lone invalid number).
NOTHING_RETURNED = "Function returned nothing."

# whatsmeow send.go SendMessage: the server answered the message with an error code, made
# fmt.Errorf("%w %d", ErrServerReturnedError, code); goneonize hands on err.Error(). Code 463
# is WhatsApp's reach-out limit ("reach-out timelock"): the account may not start chats with
# new people for now. The text carries no end time (wagw.reachout).
SERVER_RETURNED_ERROR = "server returned error"
REACH_OUT_LIMITED = f"{SERVER_RETURNED_ERROR} 463"
_REACH_OUT = re.compile(re.escape(REACH_OUT_LIMITED) + r"(?!\d)")


def reach_out_limited(text: str) -> bool:
    """Whether a send's error text is WhatsApp's reach-out limit (463, not 4630)."""
    return _REACH_OUT.search(text) is not None


# goneonize CallbackFunction: proto.Marshal of an event failed, which ends neonize's event
# loop and makes Neonize() (connect()) return this text. protobuf-go writes "proto:" followed
# by a space or a no-break space (chosen per build, on purpose), so match the rest only.
_UNENCODABLE = re.compile(r"required field (?P<field>neonize\.(?P<event>\w+)(?:\.\w+)+) not set")


def error_text(error: BaseException) -> str:
    """The Go error text an exception from neonize carries.

    Most neonize exceptions carry the text; some (GetProfilePictureError) carry the whole
    `…ReturnFunction` proto, whose str() is protobuf text format ('Error: "…"\\n').
    """
    first: Any = error.args[0] if error.args else None
    if isinstance(first, bytes):  # e.g. SendPresenceError: the C string's bytes, undecoded
        return first.decode("utf-8", "replace")
    if first is not None and not isinstance(first, str) and hasattr(first, "Error"):
        return str(first.Error)
    return str(error)


def unencodable_event(text: str) -> tuple[str, str] | None:
    """(event name, unset field) when `text` says neonize could not encode an event.

    It happens when whatsmeow sends a value goneonize's encoder has no enum for (a receipt
    "server-error", temporary-ban code 105, connect-failure reasons 413/414/415/418): the
    proto2 field stays unset and Go's proto.Marshal refuses the event. Example text:
    "proto: required field neonize.Receipt.Type not set" -> ("Receipt", "neonize.Receipt.Type").
    """
    match = _UNENCODABLE.search(text)
    return (match["event"], match["field"]) if match else None


# whatsmeow download.go / errors.go: what DownloadMediaWithPath fails with. goneonize hands on
# err.Error() as it is; whatsmeow may wrap a host's error ("failed to download media from last
# host: …"), so these are matched as parts of the text. A status of 403/404/410
# (DownloadHTTPError: "download failed with status code %d") means the media is gone from
# WhatsApp's servers (expired, usually after some weeks) and a retry cannot bring it back;
# the others mean the object does not describe the file (wrong key or hashes). Only texts the
# Go library in neonize's wheel holds (tests/conformance/test_go_error_texts.py).
MEDIA_GONE = tuple(f"download failed with status code {code}" for code in (403, 404, 410))
MEDIA_MISMATCH = (
    "invalid media hmac",
    "hash of media ciphertext doesn't match",
    "hash of media plaintext doesn't match",
    "file too short",
)


def media_download_refused(text: str) -> str | None:
    """Why a failed media download cannot succeed on a retry (None: it may, e.g. network or a
    5xx from the media host)."""
    if any(gone in text for gone in MEDIA_GONE):
        return "the media is no longer on WhatsApp's servers (expired or deleted); ask for it to be sent again"
    if any(mismatch in text for mismatch in MEDIA_MISMATCH):
        return "the media object does not match the file on WhatsApp's servers (key or hashes)"
    return None
