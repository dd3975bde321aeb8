"""Each chat's disappearing-messages timer, as this account last learned it, so that what wagw
sends into the chat carries it.

A message into a chat with disappearing messages carries the chat's timer (its content's
`contextInfo.expiration`, in seconds); one without it stays, and the phones in the chat mark
it "This message will not disappear from the chat". whatsmeow keeps no timer per chat and
adds none (a group's is in its info, a direct chat's only in the messages that set or carry
it: tulir/whatsmeow#354), so wagw keeps them, per account, in one Redis hash (chat JID ->
"<seconds>:<unix ms it was so>"), the newest word winning:

- `set_disappearing`: what this account switched on or off itself (both backends);
- the session's inbound messages: a timer change (a ProtocolMessage EPHEMERAL_SETTING, at
  its setting time) and the timer every message in such a chat carries, which is how a
  timer set before wagw ran is learned; a group change of the timer, a group joined;
- a group's info (`group_info`, `joined_groups`, `create_group`).

A chat is noted under each address WhatsApp gave for it (a LID and its phone number).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from wagw import keys
from wagw.redisconn import as_text

if TYPE_CHECKING:
    from redis import Redis

MAX_TIMER = 2**32 - 1  # seconds: ContextInfo.expiration is a uint32
# The operations whose message carries the chat's timer: every message send (not reactions,
# edits and deletions, which act on a message already in the chat, nor group changes).
TIMED = frozenset(
    {
        "send_text",
        "send_image",
        "send_location",
        "send_contact",
        "send_link",
        "send_poll",
        "send_file",
        "send_sticker",
        "send_video",
        "send_audio",
    }
)

# HSET a chat's "seconds:ms" unless what is noted is newer. KEYS[1]: the account's hash;
# ARGV: seconds, ms, then the chats.
_NOTE = """
for i = 3, #ARGV do
  local old = redis.call('HGET', KEYS[1], ARGV[i])
  local at = old and tonumber(string.match(old, ':(%d+)$')) or -1
  if tonumber(ARGV[2]) >= at then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[1] .. ':' .. ARGV[2])
  end
end
return 0
"""


def note(conn: Redis, account: str, chats: Iterable[str | None], seconds: int, at: float | None = None) -> None:
    """The chat (under each of its addresses) has had `seconds` (0: off) since `at` (unix
    seconds, default now), unless a newer word is already noted."""
    named = sorted({chat for chat in chats if chat})
    if not named or not 0 <= seconds <= MAX_TIMER:
        return
    ms = round((time.time() if at is None else at) * 1000)
    conn.eval(_NOTE, 1, keys.DISAPPEARING.format(account=account), seconds, ms, *named)


def timer(conn: Redis, account: str, chat: str) -> int:
    """The chat's timer in seconds; 0 when it is off or was never learned."""
    noted = as_text(conn.hget(keys.DISAPPEARING.format(account=account), chat))
    if not noted:
        return 0
    seconds, _, _at = noted.partition(":")
    # Anyone with Redis access can write here (docs/security.md): only a timer a message can
    # carry is used, anything else is no timer.
    if not (seconds.isascii() and seconds.isdigit()) or int(seconds) > MAX_TIMER:
        return 0
    return int(seconds)
