"""Sending order and pacing: which of an account's sends may go now, and where the others wait.

docs/jobs.md "Sending order and pacing" is the design; in short, per account:

- every job a wa-worker of the account takes gets a ticket from one counter in the step that
  takes it (wagw.rqcompat.TakerQueue.ticket_keys), so tickets follow the queue's order; a send
  is registered in its chat (the operation's target) with its ticket, and before it decides
  anything it registers the jobs taken before it that their takers have not registered yet
  (those takers may be slow or dead), so no send decides before an earlier one of its chat is
  known;
- a send runs only when it is the lowest registered send of its chat; it stays registered
  through its retries and leaves at its final end (finished, failed for good, outcome
  unknown, reaped), which requeues the next one at the front of its queue;
- a first contact (a person this account has exchanged no message with: KNOWN_CHATS, fed by
  the session's inbound messages and by sends that went out) waits while WhatsApp's reach-out
  hold lasts (wagw.reachout), and every send takes a slot of the account's pace (one GCRA per
  rate, shared in Redis by every worker and host);
- a send that may not go now waits off the queue (rq status deferred, `waiting_for` in its
  meta, in WAITING with the time it is looked at again), holding no worker: its predecessor's
  end, or the scheduler once that time has come (its slot, the hold's end, its typing's end,
  or SAFETY_RECHECK for a turn, in case a release was lost), requeues it.

All of a decision is one Lua script: the inputs are the job, the chat and `now` (the clock
seam the tests use).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from wagw import keys, rqcompat
from wagw.addresses import person_chat, shown

if TYPE_CHECKING:
    from redis import Redis
    from redis.client import Pipeline
    from rq.job import Job
    from rq.queue import Queue

    from wagw.config import Settings

# Job meta an enqueuer sets to JSON false to take a send out of its chat's order: it neither
# waits for earlier sends to the chat nor holds later ones back (its pace still applies).
IN_ORDER = "wagw_in_order"
# Job meta wagw writes on a waiting send: why, and until when (shown by rq-dashboard).
WAITING_FOR = "waiting_for"

TURN, PACING, REACHOUT, TYPING = "turn", "pacing", "reachout", "typing"
EARLIER = "earlier"
REASONS = (TURN, PACING, REACHOUT, TYPING)
# A send waiting for its turn is looked at again this often even if no release comes (one
# lost with a process killed at the wrong moment): a chat is never stuck for longer.
SAFETY_RECHECK = 60.0
CHAT_TTL = 7 * 86_400  # a chat's order outlives its last registered send by this long
GATE_TTL = 7 * 86_400
KNOWN_CHATS_MAX = 200_000  # the newest chats kept as known; older ones count as first contacts again
# Typing shown before a send: a person types about 5 characters a second; at least a second,
# at most TYPING_MAX (WhatsApp drops "typing…" after about 25 s without a refresh).
TYPING_PER_CHAR = 0.2
TYPING_MIN = 1.0
TYPING_MAX = 20.0

# The decision for one taken send. KEYS: chat order, ticket counter, order jobs, the job's gate,
# reach-out hold, pace all, pace first, known chats, tickets, pending takes. ARGV: id, now, in
# order (1/0), "<account>\t<chat>", chat, send interval, first-contact interval (seconds, 0
# off), person (1/0), chat ttl, gate ttl. Returns {'run'}, {'earlier', ids…} (taken before it
# and not registered yet: the caller registers them, then asks again), {'turn', head id},
# {'reachout', until} or {'pacing', slot}.
_ADMIT = """
local function decide()
local id, now = ARGV[1], tonumber(ARGV[2])
redis.call('ZREM', KEYS[10], id)
if ARGV[3] == '1' then
  local ticket = redis.call('HGET', KEYS[9], id)
  if not ticket then
    ticket = redis.call('INCR', KEYS[2])
    redis.call('HSET', KEYS[9], id, ticket)
  end
  if not redis.call('ZSCORE', KEYS[1], id) then
    redis.call('ZADD', KEYS[1], ticket, id)
    redis.call('HSET', KEYS[3], id, ARGV[4])
  end
  redis.call('EXPIRE', KEYS[1], ARGV[9])
  local earlier = redis.call('ZRANGEBYSCORE', KEYS[10], '-inf', '(' .. ticket)
  if #earlier > 0 then return {'earlier', unpack(earlier)} end
  local head = redis.call('ZRANGE', KEYS[1], 0, 0)[1]
  if head ~= id then return {'turn', head} end
else
  redis.call('HDEL', KEYS[9], id)
end
local first = ARGV[8] == '1' and not redis.call('ZSCORE', KEYS[8], ARGV[5])
if first then
  local held = tonumber(redis.call('HGET', KEYS[5], 'until') or '')
  if held and held > now then return {'reachout', tostring(held)} end
end
local every, every_first = tonumber(ARGV[6]), tonumber(ARGV[7])
-- A slot of one rate, taken once per send and kept in its gate (field): max(now, the rate's
-- next time); the rate's next time moves on by its interval.
local function slot_of(field, key, every_)
  local slot = tonumber(redis.call('HGET', KEYS[4], field) or '')
  if slot then return slot end
  slot = math.max(now, tonumber(redis.call('GET', key) or '0'))
  local next_ = slot + every_
  redis.call('SET', key, string.format('%.4f', next_), 'PX', math.ceil((next_ - now) * 1000) + 1000)
  redis.call('HSET', KEYS[4], field, string.format('%.4f', slot))
  redis.call('EXPIRE', KEYS[4], ARGV[10])
  return slot
end
-- First the first-contact rate, then (once that slot has come) the rate of all sends: a first
-- contact waiting for its slot keeps no slot of all sends, so replies do not wait behind it.
if first and every_first > 0 then
  local slot = slot_of('first_slot', KEYS[7], every_first)
  if slot > now + 0.0005 then return {'pacing', string.format('%.4f', slot)} end
end
if every <= 0 then return {'run'} end
local slot = slot_of('slot', KEYS[6], every)
if slot > now + 0.0005 then return {'pacing', string.format('%.4f', slot)} end
return {'run'}
end
"""
# What _ADMIT's "run" becomes for a send asking for typing first (ARGV[11] seconds) that has
# not typed yet: {'typing', until}, noted in its gate.
_TYPING = """
local typing = tonumber(ARGV[11])
if typing > 0 and not redis.call('HGET', KEYS[4], 'typed') then
  redis.call('HSET', KEYS[4], 'typed', '1')
  redis.call('EXPIRE', KEYS[4], ARGV[10])
  return {'typing', string.format('%.4f', tonumber(ARGV[2]) + typing)}
end
return {'run'}
"""
# Register a taken job in its chat (ARGV[2]: "<account>\t<chat>", '' for a job that is not
# an ordered send) with its ticket, on behalf of its taker. KEYS: chat order, order jobs,
# tickets, pending takes. ARGV: id, entry.
_REGISTER = """
redis.call('ZREM', KEYS[4], ARGV[1])
local ticket = redis.call('HGET', KEYS[3], ARGV[1])
if ARGV[2] == '' or not ticket then
  redis.call('HDEL', KEYS[3], ARGV[1])
  return 0
end
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], ticket, ARGV[1])
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
end
return 1
"""

# A send's final end, and the next send of its chat back at the front of its queue if it waits
# for its turn. KEYS: chat order, order jobs, its gate, known chats, tickets, pending takes,
# waiting set, waiting info. ARGV: id, went out (1/0), chat ('' none), now, known cap, then
# rqcompat.UNPARK_PREFIXES.
_ENDED = (
    rqcompat.UNPARK_FUNCTION
    + """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('DEL', KEYS[3])
redis.call('HDEL', KEYS[5], ARGV[1])
redis.call('ZREM', KEYS[6], ARGV[1])
if ARGV[3] == '' then return 0 end
if ARGV[2] == '1' then
  redis.call('ZADD', KEYS[4], ARGV[4], ARGV[3])
  redis.call('ZREMRANGEBYRANK', KEYS[4], 0, -tonumber(ARGV[5]) - 1)
end
local head = redis.call('ZRANGE', KEYS[1], 0, 0)[1]
if not head then return 0 end
return unpark(KEYS[7], KEYS[8], head, 'turn', ARGV[6], ARGV[7], ARGV[8], ARGV[9])
"""
)

# Park guard (wagw.rqcompat.park): a send waiting for its turn parks only while it is still
# not the head of its chat (KEYS[7]; ARGV[6] its id), so a release between its decision and
# its parking is never lost.
_TURN_GUARD = """
if redis.call('ZRANGE', KEYS[7], 0, 0)[1] == ARGV[6] then return 'again' end
"""

# Drop a head that has ended without its release (ARGV[1]) if it is still the head.
_DROP_HEAD = """
if redis.call('ZRANGE', KEYS[1], 0, 0)[1] ~= ARGV[1] then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('DEL', KEYS[3])
return 1
"""

# What a job whose status is one of these is no more: a head in this state lets the next go.
ENDED_STATUSES = frozenset({"finished", "failed", "canceled", "stopped"})


@dataclass(frozen=True)
class Decision:
    kind: str  # "run" or one of REASONS
    head: str | None = None  # TURN: the send whose turn it is
    until: float | None = None  # PACING, REACHOUT, TYPING: when it may go
    earlier: list[str | bytes] | None = None  # EARLIER: ids taken before it, to register first


def interval(rate_per_minute: float) -> float:
    """Seconds between two sends at `rate_per_minute`; 0 = no limit."""
    return 60.0 / rate_per_minute if rate_per_minute > 0 else 0.0


def next_slot(tat: float, now: float, every: float) -> tuple[float, float]:
    """GCRA without burst (what _ADMIT does per rate): the send's slot and the next one's
    earliest time, given the earliest time stored (`tat`; 0 if none)."""
    slot = max(now, tat)
    return slot, slot + every


def is_person(chat: str) -> bool:
    """Only a chat with one person can be a first contact (groups, channels, broadcasts are not)."""
    return person_chat(chat)


def typing_seconds(typing: bool | float | None, text: str | None) -> float:
    """How long "typing…" shows before a send: as asked in seconds, or following the text's
    length (typing=True); capped at TYPING_MAX. 0: none."""
    if typing is None or typing is False:
        return 0.0
    if typing is True:
        return min(TYPING_MAX, max(TYPING_MIN, TYPING_PER_CHAR * len(text or "")))
    return min(TYPING_MAX, max(0.0, float(typing)))


def in_order(meta: object) -> bool:
    return not (isinstance(meta, dict) and meta.get(IN_ORDER) is False)


def _stamp(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds")


def waiting_text(decision: Decision, chat: str) -> str:
    """The `waiting_for` meta a waiting send shows (no content; the chat masked)."""
    if decision.kind == TURN:
        return f"its turn in chat {shown(chat)}: after job {decision.head}"
    if decision.kind == PACING:
        return f"the account's pace (WAGW_SEND_RATE / WAGW_FIRST_CONTACT_RATE): until {_stamp(decision.until or 0)}"
    if decision.kind == REACHOUT:
        return f"WhatsApp's reach-out limit on first contacts: until {_stamp(decision.until or 0)}"
    return f"typing shown in chat {shown(chat)}: until {_stamp(decision.until or 0)}"


class Gate:
    """The decisions and waiting room of one account's sends."""

    def __init__(self, conn: Redis, account: str, settings: Settings, clock=time.time) -> None:
        self.conn = conn
        self.account = account
        self.clock = clock
        send_rate, first_rate = settings.pace_of(account)
        self.every = interval(send_rate)
        self.every_first = interval(first_rate)
        self.waiting_key = keys.WAITING.format(account=account)
        self.info_key = keys.WAITING_INFO.format(account=account)
        self.ticket_keys = ticket_keys(account)
        self._register = conn.register_script(_REGISTER)
        self._admit = conn.register_script(
            _ADMIT + "local found = decide()\nif found[1] ~= 'run' then return found end\n" + _TYPING
        )
        self._drop_head = conn.register_script(_DROP_HEAD)

    def chat_key(self, chat: str) -> str:
        return keys.ORDER_CHAT.format(account=self.account, chat=chat)

    def admit(
        self, job_id: str, chat: str, ordered: bool = True, typing: float = 0.0, now: float | None = None
    ) -> Decision:
        """Register the send in its chat (once, under the ticket it was taken with) and decide:
        run now, register the jobs taken before it first (EARLIER), or wait for what (TYPING:
        show "typing…" now, and send when it ends)."""
        now = self.clock() if now is None else now
        reply = self._admit(
            keys=[
                self.chat_key(chat),
                keys.ORDER_TICKET.format(account=self.account),
                keys.ORDER_JOBS,
                keys.SEND_GATE.format(job_id=job_id),
                keys.REACHOUT_HOLD.format(account=self.account),
                keys.PACE.format(account=self.account, kind="all"),
                keys.PACE.format(account=self.account, kind="first"),
                keys.KNOWN_CHATS.format(account=self.account),
                self.ticket_keys[1],
                self.ticket_keys[2],
            ],
            args=[
                job_id,
                repr(now),
                int(ordered),
                f"{self.account}\t{chat}",
                chat,
                repr(self.every),
                repr(self.every_first),
                int(is_person(chat)),
                CHAT_TTL,
                GATE_TTL,
                repr(float(typing)),
            ],
        )
        kind = rqcompat.as_text(reply[0])
        if kind == EARLIER:
            return Decision(EARLIER, earlier=list(reply[1:]))  # as taken: an id may not be UTF-8
        if kind == TURN:
            return Decision(TURN, head=rqcompat.as_text(reply[1]))
        if kind in (PACING, REACHOUT, TYPING):
            return Decision(kind, until=float(reply[1]))
        return Decision("run")

    def head_ended(self, chat: str, head: str) -> bool:
        """Whether the send whose turn it is has ended without its release (or is gone); if
        so it is dropped from the chat's order, and True."""
        [status] = rqcompat.job_statuses(self.conn, [head])
        if status is not None and status not in ENDED_STATUSES:
            return False
        dropped = self._drop_head(
            keys=[self.chat_key(chat), keys.ORDER_JOBS, keys.SEND_GATE.format(job_id=head)], args=[head]
        )
        return bool(dropped)

    def park(self, job: Job, queue: Queue, decision: Decision, chat: str, now: float | None = None) -> str:
        """Take a send this worker took off to wait; 'parked', 'gone', or 'again' (its turn came
        meanwhile: decide again)."""
        now = self.clock() if now is None else now
        due = now + SAFETY_RECHECK if decision.kind == TURN else (decision.until or now)
        job.meta[WAITING_FOR] = waiting_text(decision, chat)
        info = f"{decision.kind}|{queue.name}|{due:.3f}"
        if decision.kind == TURN:
            return rqcompat.park(
                self.conn,
                job,
                queue,
                waiting_key=self.waiting_key,
                info_key=self.info_key,
                due=due,
                info=info,
                guard=_TURN_GUARD,
                guard_keys=[self.chat_key(chat)],
                guard_args=[job.id],
            )
        return rqcompat.park(
            self.conn, job, queue, waiting_key=self.waiting_key, info_key=self.info_key, due=due, info=info
        )

    def register(self, job_id: str | bytes, chat: str | None) -> None:
        """Register a job taken before the one deciding, for its taker (which may be slow, or
        dead), in its chat with its own ticket; `chat` None: it is no ordered send."""
        entry = f"{self.account}\t{chat}" if chat else ""
        self._register(
            keys=[self.chat_key(chat or ""), keys.ORDER_JOBS, self.ticket_keys[1], self.ticket_keys[2]],
            args=[job_id, entry],
        )

    def settle(self, job_id: str) -> None:
        """A taken job that is no ordered send: its ticket goes."""
        rqcompat.forget_ticket(self.conn, self.ticket_keys, job_id)


def ticket_keys(account: str) -> tuple[str, str, str]:
    """The account's ticket counter, tickets and pending takes (wagw.rqcompat.TakerQueue)."""
    return (
        keys.ORDER_TICKET.format(account=account),
        keys.ORDER_TAKEN.format(account=account),
        keys.ORDER_PENDING.format(account=account),
    )


_scripts: dict[tuple[int, str], Any] = {}


def _script(conn: Redis, source: str) -> Any:
    """`source` registered once per connection (EVALSHA: the text is not sent each time)."""
    key = (id(conn), source)
    found = _scripts.get(key)
    if found is None:
        found = _scripts[key] = conn.register_script(source)
    return found


def end_send(
    conn: Redis,
    account: str,
    job_id: str,
    chat: str | None,
    went_out: bool,
    now: float | None = None,
    pipeline: Pipeline | None = None,
) -> None:
    """A send's final end: out of its chat's order, its chat known if it went out, and the
    chat's next send (if it waits for its turn) back at the front of its queue. One script; on
    `pipeline` (a MULTI) it is queued there, by its text (no NOSCRIPT inside a transaction)."""
    now = time.time() if now is None else now
    tickets = ticket_keys(account)
    script_keys = [
        keys.ORDER_CHAT.format(account=account, chat=chat or ""),
        keys.ORDER_JOBS,
        keys.SEND_GATE.format(job_id=job_id),
        keys.KNOWN_CHATS.format(account=account),
        tickets[1],
        tickets[2],
        keys.WAITING.format(account=account),
        keys.WAITING_INFO.format(account=account),
    ]
    args: list[Any] = [job_id, int(went_out), chat or "", repr(now), KNOWN_CHATS_MAX, *rqcompat.UNPARK_PREFIXES]
    if pipeline is not None:
        pipeline.eval(_ENDED, len(script_keys), *script_keys, *args)
    else:
        _script(conn, _ENDED)(keys=script_keys, args=args)


def release_due(conn: Redis, account: str, now: float | None = None, limit: int = 500) -> int:
    """Requeue every waiting send of `account` whose time has come (the scheduler, each pass)."""
    now = time.time() if now is None else now
    waiting_key, info_key = keys.WAITING.format(account=account), keys.WAITING_INFO.format(account=account)
    due = conn.zrangebyscore(waiting_key, "-inf", repr(now), start=0, num=limit)
    if not due:
        return 0
    pipe = conn.pipeline(transaction=False)
    for job_id in due:
        rqcompat.unpark(pipe, waiting_key, info_key, rqcompat.as_text(job_id))  # type: ignore[arg-type]
    return sum(1 for moved in pipe.execute() if moved == 1)


def waiting(conn: Redis, account: str, now: float | None = None) -> dict[str, dict[str, Any]]:
    """Per reason: how many of the account's sends wait, and when the first of them is next
    looked at (a turn's: at the latest; it usually comes earlier, with its predecessor's end)."""
    now = time.time() if now is None else now
    found: dict[str, dict[str, Any]] = {reason: {"count": 0, "next": None} for reason in REASONS}
    for value in conn.hvals(keys.WAITING_INFO.format(account=account)):
        reason, _, rest = rqcompat.as_text(value).partition("|")
        if reason not in found:
            continue
        entry = found[reason]
        entry["count"] += 1
        try:
            until = float(rest.rpartition("|")[2])
        except ValueError:
            continue
        if math.isfinite(until) and (entry["next"] is None or until < entry["next"]):
            entry["next"] = until
    return found


def waiting_accounts(conn: Redis) -> list[str]:
    """Accounts with sends waiting in this Redis (for the metrics exporter: no roster)."""
    prefix = keys.WAITING_INFO.format(account="")
    return sorted((rqcompat.as_text(key) or "")[len(prefix) :] for key in conn.scan_iter(match=prefix + "*", count=100))


def note_known(conn: Redis | Pipeline, account: str, chats: list[str], now: float | None = None) -> None:
    """Chats this account exchanged a message with (the session's inbound messages): no longer
    first contacts. On a pipeline, queued there."""
    people = [chat for chat in chats if chat and is_person(chat)]
    if people:
        at = time.time() if now is None else now
        conn.zadd(keys.KNOWN_CHATS.format(account=account), dict.fromkeys(people, at))


def release_ended(conn: Redis, job_ids: list[str]) -> int:
    """For the reaper: each registered send among `job_ids` that has now ended for good
    (failed, not retried) leaves its chat's order and lets the next one go."""
    if not job_ids:
        return 0
    entries = conn.hmget(keys.ORDER_JOBS, job_ids)
    registered = [(job_id, rqcompat.as_text(entry)) for job_id, entry in zip(job_ids, entries, strict=True) if entry]
    if not registered:
        return 0
    statuses = rqcompat.job_statuses(conn, [job_id for job_id, _ in registered])
    released = 0
    for (job_id, entry), status in zip(registered, statuses, strict=True):
        if status is not None and status not in ENDED_STATUSES:
            continue  # retried: it keeps its place, the next waits
        account, _, chat = entry.partition("\t")
        end_send(conn, account, job_id, chat, went_out=False)
        released += 1
    return released
