"""WhatsApp addresses: the one place that knows what a JID and a phone number look like.

Every argument that names a person, group or number (jobs, the client, `wagw pair --phone`)
goes through these functions, so they accept and reject the same things everywhere.
"""

from __future__ import annotations

import re

MAX_ADDRESS = 256  # characters in a JID or phone argument, checked before any parsing

USER_SERVER = "s.whatsapp.net"
GROUP_SERVER = "g.us"
PERSON_SERVERS = ("@" + USER_SERVER, "@lid")  # the chats of one person (person_chat)
# The user parts the fake backend turns into a Go panic, a hang or an error, and the one
# that has no profile picture (SPEC).
FAKE_USERS = frozenset({"crash", "hang", "fail", "nopic"})

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


def normalize_phone(value: str) -> str:
    """'+1 (555) 123-4567' -> '15551234567' (E.164 digits, no '+')."""
    digits = _PHONE_NOISE.sub("", value.strip())
    digits = digits.removeprefix("+")
    if not digits.isdigit():
        raise ValueError(f"{shown(value)} is neither a JID nor a phone number")
    if digits.startswith("0"):
        raise ValueError(f"phone number {shown(value)} must be in international format (+<country code><number>)")
    if not 7 <= len(digits) <= 15:
        raise ValueError(f"phone number {shown(value)} must have 7 to 15 digits")
    return digits


def normalize_jid(value: str, *, fake: bool = False) -> str:
    """A JID in canonical form: lowercase server, no agent/device part, c.us -> s.whatsapp.net."""
    match = _JID.fullmatch(value.strip())
    if not match:
        raise ValueError(f"{shown(value)} is not a valid JID (expected user@server)")
    user, server = match["user"], match["server"].lower()
    if server == "c.us":
        server = USER_SERVER
    pattern = _SERVERS.get(server)
    if pattern is None:
        raise ValueError(
            f"{shown(value)} is not a valid JID: unknown server {server!r} (known: {', '.join(sorted(_SERVERS))})"
        )
    if not pattern.fullmatch(user) and not (fake and user in FAKE_USERS):
        raise ValueError(f"{shown(value)} is not a valid JID: bad user part for @{server}")
    return f"{user}@{server}"


def normalize_target(value: str, *, fake: bool = False) -> str:
    """A JID, or a phone number turned into its user JID."""
    check_length(value)
    if "@" in value:
        return normalize_jid(value, fake=fake)
    if fake and value.strip() in FAKE_USERS:
        return f"{value.strip()}@{USER_SERVER}"
    return f"{normalize_phone(value)}@{USER_SERVER}"


def person_chat(jid: str) -> bool:
    """Whether a normalised JID is one person's chat (a phone number's or a LID's), not a group,
    a channel or a broadcast: only such a chat can be a first contact (WhatsApp's reach-out limit)."""
    return jid.endswith(PERSON_SERVERS)


def check_length(value: str) -> None:
    if len(value) > MAX_ADDRESS:
        raise ValueError(f"a JID or phone number has at most {MAX_ADDRESS} characters, got {len(value)}")


def shown(value: str) -> str:
    """A bounded repr of untrusted input, for error messages."""
    return repr(value if len(value) <= 40 else value[:40] + "…")


MASK_KEEP = 4  # trailing characters of a user part that a masked address keeps


def masked(address: str) -> str:
    """An address for logs and status lines: '15551234567@s.whatsapp.net' -> '…4567@s.whatsapp.net',
    '+15551234567' -> '+…4567'. The fake backend's `crash`/`hang`/`fail` stay readable."""
    user, at, server = address.partition("@")
    plus = "+" if user.startswith("+") else ""
    user = user.removeprefix("+")
    if len(user) > MASK_KEEP and user not in FAKE_USERS:
        user = "…" + user[-MASK_KEEP:]
    return f"{plus}{user}{at}{server}"
