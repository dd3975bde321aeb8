"""Who created each recent call offer, as WhatsApp addressed them (LID or phone number).

whatsmeow's RejectCall (call.go) sends the rejection to the caller it is given, as the
offer's `call-creator`, and WhatsApp matches it to the offer by that JID: an offer created by
a LID is declined with the LID, one created by a number with the number. A `call.offer` body
gives the phone number in `from` whenever the pair is known and the LID in `from_lid`, so an
app cannot see which one the offer used. The session therefore notes each offer's creator
and its other address for OFFER_TTL seconds, and `reject_call` sends the noted creator when
the caller it is given is either of them (both backends: tests/conformance holds them to it).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from wagw import keys
from wagw.addresses import USER_SERVER, normalize_jid
from wagw.redisconn import hash_text

if TYPE_CHECKING:
    from redis import Redis

OFFER_TTL = 600  # seconds: a call rings for about a minute; a late reject_call still finds it
_CALL_ID = re.compile(r"[A-Za-z0-9_\-.:]{1,128}")  # what reject_call's call_id accepts


def note_offer(conn: Redis, account: str, call_id: str, creator: str, alt: str | None) -> None:
    """Note an offer's creator (non-AD JID text) and its other address, if WhatsApp gave one."""
    if not _CALL_ID.fullmatch(call_id) or not creator:
        return  # not a call id a job could name: nothing to look up later
    key = keys.CALL_OFFER.format(account=account, call_id=call_id)
    pipe = conn.pipeline(transaction=True)
    pipe.delete(key)
    pipe.hset(key, mapping={"creator": creator, "alt": alt or ""})
    pipe.expire(key, OFFER_TTL)
    pipe.execute()


def caller_to_reject(conn: Redis, account: str, call_id: str, caller: str) -> str:
    """The JID to decline call `call_id` with: the offer's creator when `caller` names the
    same person (its creator or its other address), else `caller` as given."""
    noted = hash_text(conn.hgetall(keys.CALL_OFFER.format(account=account, call_id=call_id)))
    creator = noted.get("creator")
    if creator and caller in (creator, noted.get("alt")) and _is_user(creator):
        return creator
    return caller


def _is_user(jid: str) -> bool:
    """A user's JID as the session notes one (anyone with Redis access can write the note:
    only a user's number or LID replaces the caller given)."""
    try:
        return normalize_jid(jid) == jid and jid.rpartition("@")[2] in (USER_SERVER, "lid")
    except ValueError:
        return False
