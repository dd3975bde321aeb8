"""The fake backend's LID store: per account, the LID <-> phone number pairs it knows, with
the semantics of whatsmeow's (store/sqlstore/lidmap.go, CachedLIDMap).

whatsmeow learns pairs before it dispatches what names them: from a message's alternate
address (message.go handleEncryptedMessage: the sender's, else the recipient's), from group
notifications, history sync and user queries. The fake learns them from a message's
`sender_alt` (else, sent by this account, its `chat_alt`) the same way, and from the control
message `{"type": "lid_pair", "lid": "…@lid", "pn": "…@s.whatsapp.net"}` for everything
else. Each LID has one number and each number one LID: a new pair replaces the old ones
(PutLIDMapping). Kept in Redis (hash FAKE_LIDS), so it outlives the session as whatsmeow's
sqlite store does.
"""

from __future__ import annotations

from typing import Any

import redis

from wagw import keys
from wagw.addresses import USER_SERVER, normalize_jid
from wagw.events import KINDS, is_lid, non_ad
from wagw.redisconn import as_text

# The control message types that are messages to whatsmeow (events.Message: reactions, revokes
# and edits too).
MESSAGE_TYPES = frozenset(kind.fake for kind in KINDS.values() if kind.whatsmeow == "Message")
# PutLIDMapping: one number per LID and one LID per number; the pair replaces older ones.
_PUT = """
local old_lid = redis.call('HGET', KEYS[1], 'pn:' .. ARGV[2])
if old_lid and old_lid ~= ARGV[1] then redis.call('HDEL', KEYS[1], 'lid:' .. old_lid) end
local old_pn = redis.call('HGET', KEYS[1], 'lid:' .. ARGV[1])
if old_pn and old_pn ~= ARGV[2] then redis.call('HDEL', KEYS[1], 'pn:' .. old_pn) end
redis.call('HSET', KEYS[1], 'lid:' .. ARGV[1], ARGV[2], 'pn:' .. ARGV[2], ARGV[1])
return 1
"""


def pair(first: Any, second: Any) -> tuple[str, str] | None:
    """(LID user, phone number user) of two addresses, in either order, as whatsmeow's
    StoreLIDPNMapping takes them; None unless one is a LID and the other a phone number."""
    if not (isinstance(first, str) and isinstance(second, str)):
        return None
    try:
        first, second = normalize_jid(first), normalize_jid(second)
    except ValueError:
        return None
    if is_lid(second):
        first, second = second, first
    if not is_lid(first) or not second.endswith("@" + USER_SERVER):
        return None
    return first.partition("@")[0], second.partition("@")[0]


def learnt_from_message(data: dict) -> tuple[str, str] | None:
    """The pair whatsmeow stores from a message before dispatching it: the sender's alternate
    address, else (sent by this account) the recipient's (message.go, handleEncryptedMessage).
    None for a control message that is not a message (a receipt, a typing indicator …)."""
    if data.get("type") not in MESSAGE_TYPES:
        return None
    if data.get("sender_alt"):
        return pair(data.get("sender"), data["sender_alt"])
    if data.get("chat_alt") and data.get("is_from_me") is True:
        return pair(data.get("chat") or data.get("sender"), data["chat_alt"])
    return None


class FakeLids:
    """One account's pairs."""

    def __init__(self, conn: redis.Redis, account: str):
        self.conn = conn
        self.hash_name = keys.FAKE_LIDS.format(account=account)
        self._put = conn.register_script(_PUT)

    def put(self, lid_user: str, pn_user: str) -> None:
        self._put(keys=[self.hash_name], args=[lid_user, pn_user])

    def lid_for_pn(self, pn: str) -> str | None:
        """The LID of a phone-number JID, or None (not a number, no pair)."""
        pn = non_ad(pn) or ""
        if not pn.endswith("@" + USER_SERVER):
            return None
        user = as_text(self.conn.hget(self.hash_name, "pn:" + pn.partition("@")[0]))
        return f"{user}@lid" if user else None

    def pn_for_lid(self, lid: str) -> str | None:
        """The phone-number JID of `lid`, or None (not a LID, no pair)."""
        lid = non_ad(lid) or ""
        if not is_lid(lid):
            return None
        user = as_text(self.conn.hget(self.hash_name, "lid:" + lid.partition("@")[0]))
        return f"{user}@{USER_SERVER}" if user else None
