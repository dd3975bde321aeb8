"""The steady load of the chaos run, through wagw's public interface only.

- InboundLoad pushes fake WhatsApp events onto `wagw:fake:inbound` (unique message ids over
  several chats, some reactions, some deliberate redeliveries of an earlier event, some
  malformed control messages) and remembers when each was pushed.
- JobLoad enqueues `workers.wa.*` jobs with plain rq and the JSON serializer: normal calls,
  `fail` targets, malformed arguments, the odd `hang`; and, in a lane of their own, jobs to
  one `crash` target, one at a time, so that each native crash is attributed to its job
  (and, all crashes coming from one target, no other job may fail for them).
- JobTracker follows every job to its final status; CrashCollector copies `wagw:crashes`.
Every loop survives Redis going away (the daemon restarting) and retries.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import random
import secrets
import threading
import time
from dataclasses import dataclass

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Retry
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from wagw import keys
from wagw.operations import OPERATIONS, validate
from wagw.operations.args import InvalidArguments

INBOUND_KEY = "wagw:fake:inbound"  # SPEC
REJECTED_KEY = "wagw:fake:rejected"
CRASHES_KEY = "wagw:crashes"
WA_QUEUE = "wa"
TERMINAL = {JobStatus.FINISHED.value, JobStatus.FAILED.value, JobStatus.STOPPED.value, JobStatus.CANCELED.value}
CHATS = [f"1555010{n:04d}@s.whatsapp.net" for n in range(6)] + ["120363000000000077@g.us"]


def _connect(url: str) -> Redis:
    return Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2)


class _Paced(threading.Thread):
    """A loop running `step` `rate` times a second while not paused, until stopped."""

    def __init__(self, name: str, rate: float) -> None:
        super().__init__(name=name, daemon=True)
        self.rate = rate
        self.stopping = threading.Event()
        self.paused = threading.Event()
        self.refused = 0  # steps that met no Redis (the daemon restarting)

    def run(self) -> None:
        next_at = time.monotonic()
        while not self.stopping.is_set():
            if self.paused.is_set():
                self.stopping.wait(0.05)
                next_at = time.monotonic()
                continue
            try:
                self.step()
            except RedisError:
                self.refused += 1
                self.stopping.wait(0.2)
            next_at += 1.0 / self.rate
            delay = next_at - time.monotonic()
            if delay > 0:
                self.stopping.wait(delay)
            else:
                next_at = time.monotonic()

    def step(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=10)


# Inbound --------------------------------------------------------------------------------
MALFORMED_INBOUND = [  # each made unique by a number, so its rejection can be found
    lambda n: b"{not json at all #%d" % n,
    lambda n: b'["a list is not an event", %d]' % n,
    lambda n: b'{"type": "message", "chat": "15551234567@s.whatsapp.net", "text": "no id %d"}' % n,
    lambda n: b'{"type": "no-such-type", "id": "X%d"}' % n,
    lambda n: b'{"type": "message", "id": %d, "chat": "15551234567@s.whatsapp.net"}' % n,
]


MEDIA_KINDS = [
    {"kind": "image", "mimetype": "image/jpeg", "caption": "chaos picture"},
    {"kind": "audio", "mimetype": "audio/ogg; codecs=opus"},
    {"kind": "document", "mimetype": "application/pdf", "filename": "chaos.pdf"},
    {"kind": "video", "mimetype": "video/mp4"},
    {"kind": "sticker", "mimetype": "image/webp"},
]
# One media message in 40 (about one every 40 s at 10 events/s) has a download that dies of a
# real Go panic in its native host, on every attempt; another has expired.
STAGED_DOWNLOADS = {57: "crash", 257: "expired"}


def media_of(n: int) -> dict:
    media = dict(MEDIA_KINDS[(n // 10) % len(MEDIA_KINDS)])
    if n % 400 in STAGED_DOWNLOADS:
        media["download"] = STAGED_DOWNLOADS[n % 400]
    return media


class InboundLoad(_Paced):
    def __init__(self, redis_url: str, rate: float, tag: str | None = None) -> None:
        super().__init__("inbound-load", rate)
        self.redis = _connect(redis_url)
        self.tag = tag or secrets.token_hex(2).upper()
        self.pushed: dict[str, float] = {}  # payload id -> push time (first push)
        self.uncertain: set[str] = set()  # push raised after possibly reaching Redis
        self.redelivered = 0
        self.malformed: list[bytes] = []
        self._seq = itertools.count(1)
        self._lock = threading.Lock()
        self._history: list[bytes] = []  # raw valid messages, for redeliveries
        self.media: dict[str, str] = {}  # payload id -> "ok" | a staged download ("crash", "expired")

    def step(self) -> None:
        n = next(self._seq)
        if n % 97 == 0:
            self._push_malformed(MALFORMED_INBOUND[(n // 97) % len(MALFORMED_INBOUND)](n))
            return
        if n % 53 == 0 and self._history:
            self._push_redelivery(random.choice(self._history))
            return
        message_id = f"3EB0{self.tag}{n:012X}"
        chat = CHATS[n % len(CHATS)]
        sender = chat if chat.endswith("@s.whatsapp.net") else CHATS[n % 5]
        if n % 10 == 3 and n > 3:
            data = {
                "type": "reaction",
                "id": message_id,
                "chat": chat,
                "sender": sender,
                "target_id": f"3EB0{self.tag}{n - 3:012X}",
                "emoji": "👍",
            }
        else:
            data = {
                "type": "message",
                "id": message_id,
                "chat": chat,
                "sender": sender,
                "push_name": f"Chaos {n % 7}",
                "text": f"chaos message {n}",
                "timestamp": int(time.time()),
            }
            if n % 10 == 7:  # a media message: with WAGW_MEDIA_AUTO_DOWNLOAD a wa-worker downloads it
                data.pop("text")
                data["media"] = media_of(n)
        raw = json.dumps(data).encode()
        self._push(message_id, raw)
        if "media" in data:
            with self._lock:
                self.media.setdefault(message_id, data["media"].get("download", "ok"))
        if len(self._history) < 500:
            self._history.append(raw)

    def _push(self, message_id: str, raw: bytes) -> None:
        at = time.time()
        try:
            self.redis.rpush(INBOUND_KEY, raw)
        except RedisError as error:
            if "connecting to" not in str(error):  # not a refused connect: it may have arrived
                with self._lock:
                    self.uncertain.add(message_id)
            raise
        with self._lock:
            self.pushed.setdefault(message_id, at)

    def _push_redelivery(self, raw: bytes) -> None:
        self.redis.rpush(INBOUND_KEY, raw)
        with self._lock:
            self.redelivered += 1

    def _push_malformed(self, raw: bytes) -> None:
        self.redis.rpush(INBOUND_KEY, raw)
        with self._lock:
            self.malformed.append(raw)

    def push_session_crash(self) -> None:
        """{"type": "crash"}: the session dies of a real Go panic (fake backend, SPEC)."""
        self.redis.rpush(INBOUND_KEY, json.dumps({"type": "crash"}))

    def burst(self, count: int) -> None:
        """Push `count` events at once (a backlog right before a stop)."""
        for _ in range(count):
            self.step()

    def snapshot(self) -> tuple[dict[str, float], set[str]]:
        with self._lock:
            return dict(self.pushed), set(self.uncertain)

    def media_snapshot(self) -> dict[str, str]:
        with self._lock:
            return dict(self.media)

    def rejected_count(self) -> int:
        """How many of our malformed messages the fake backend rejected (wagw:fake:rejected)."""
        ours = {raw.decode("utf-8", "replace") for raw in self.malformed}
        found = 0
        for record in self.redis.lrange(REJECTED_KEY, 0, -1):
            if json.loads(record).get("raw") in ours:
                found += 1
        return found


# Jobs -----------------------------------------------------------------------------------
@dataclass
class TrackedJob:
    id: str
    kind: str  # normal | fail | malformed | hang | crash
    operation: str
    enqueued: float
    status: str = "queued"
    ended: float | None = None
    exc: str = ""
    retries_used: int = 0
    where: str | None = None  # where RQ holds it, for a job that never ended
    target: str | None = None  # what the job is about (wagw.operations' target), if valid


SEND_TEXT = "chaos job "  # + the job's number: each normal send_text has a text of its own
NORMAL_CALLS = [
    ("send_text", lambda n: {"to": f"+1 555 020 {n % 10000:04d}", "text": f"{SEND_TEXT}{n}"}),
    ("fetch_avatar", lambda n: {"jid": CHATS[n % 6]}),
    ("user_info", lambda n: {"jids": [CHATS[n % 6], CHATS[(n + 1) % 6]]}),
    ("is_on_whatsapp", lambda n: {"phones": [f"+1555030{n % 10000:04d}"]}),
    ("mark_read", lambda n: {"chat": CHATS[n % 6], "ids": [f"3EB0READ{n:08X}"]}),
    ("group_info", lambda n: {"jid": "120363000000000077@g.us"}),
    ("joined_groups", lambda n: {}),
]
FAIL_CALLS = [
    ("send_text", lambda n: {"to": "fail@s.whatsapp.net", "text": "this fails"}),
    ("fetch_avatar", lambda n: {"jid": "fail@s.whatsapp.net"}),
]
MALFORMED_CALLS = [
    ("send_text", lambda n: {"text": "no recipient"}),
    ("send_text", lambda n: {"to": "not a phone number", "text": "x"}),
    ("fetch_avatar", lambda n: {"jid": 12345}),
    ("user_info", lambda n: {"jids": "15551234567@s.whatsapp.net"}),
    ("send_text", lambda n: {"to": "+15551234567", "text": "x", "unexpected": True}),
    ("mark_read", lambda n: {"chat": "15551234567@s.whatsapp.net", "ids": []}),
]
CRASH_CALLS = [
    ("fetch_avatar", lambda n: {"jid": "crash@s.whatsapp.net"}),
    ("send_text", lambda n: {"to": "crash@s.whatsapp.net", "text": "boom"}),
    ("user_info", lambda n: {"jids": ["crash@s.whatsapp.net"]}),
    ("mark_read", lambda n: {"chat": "crash@s.whatsapp.net", "ids": ["3EB0CRASH"]}),
]
HANG_CALL = ("group_info", lambda n: {"jid": "hang@g.us"})  # an operation the crash lane leaves alone


class JobLoad(_Paced):
    """Steady wa jobs at `rate` per second; a separate lane sends crash jobs one at a time."""

    def __init__(
        self,
        redis_url: str,
        rate: float,
        *,
        retries: int = 2,
        timeout: int = 20,
        hang_timeout: int = 4,
        crash_gap: float = 0.5,
    ) -> None:
        super().__init__("job-load", rate)
        self.redis = _connect(redis_url)
        self.queue = Queue(WA_QUEUE, connection=self.redis, serializer=JSONSerializer)
        self.retries, self.timeout, self.hang_timeout = retries, timeout, hang_timeout
        self.jobs: dict[str, TrackedJob] = {}
        self._lock = threading.Lock()
        self._seq = itertools.count(1)
        self.crash_lane = _CrashLane(self, crash_gap)

    def start(self) -> None:
        super().start()
        self.crash_lane.start()

    def stop(self) -> None:
        self.crash_lane.stop()
        super().stop()

    def pause(self) -> None:
        self.paused.set()
        self.crash_lane.paused.set()

    def resume(self) -> None:
        self.paused.clear()
        self.crash_lane.paused.clear()

    def step(self) -> None:
        n = next(self._seq)
        if n % 9 == 0:
            kind, (op, make) = "malformed", MALFORMED_CALLS[(n // 9) % len(MALFORMED_CALLS)]
        elif n % 13 == 0:
            kind, (op, make) = "fail", FAIL_CALLS[(n // 13) % len(FAIL_CALLS)]
        else:
            kind, (op, make) = "normal", NORMAL_CALLS[n % len(NORMAL_CALLS)]
        self.enqueue(kind, op, make(n))

    def enqueue_hang(self) -> TrackedJob:
        op, make = HANG_CALL
        return self.enqueue("hang", op, make(0), timeout=self.hang_timeout, retries=0)

    def enqueue(
        self, kind: str, op: str, kwargs: dict, *, timeout: int | None = None, retries: int | None = None
    ) -> TrackedJob:
        retries = self.retries if retries is None else retries
        job = self.queue.enqueue_call(
            f"workers.wa.{op}",
            kwargs=kwargs,
            timeout=timeout or self.timeout,
            retry=Retry(max=retries, interval=1) if retries else None,
            # Long enough for the tracker (it looks twice a second), short enough that an
            # hour's soak does not count finished jobs as Redis memory growth.
            result_ttl=600,
            failure_ttl=3600,
            meta={"chaos": kind},
        )
        tracked = TrackedJob(job.id, kind, op, time.time(), target=_target(op, kwargs))
        with self._lock:
            self.jobs[job.id] = tracked
        return tracked

    def all_jobs(self) -> list[TrackedJob]:
        with self._lock:
            return list(self.jobs.values())


def _target(op: str, kwargs: dict) -> str | None:
    """The job's target as the wa-worker derives it (None for malformed arguments)."""
    try:
        return OPERATIONS[op].target_of(validate(op, (), kwargs, fake=True))
    except InvalidArguments:
        return None


class _CrashLane(_Paced):
    """One crash job at a time: enqueue, wait for its end (bounded), pause, next operation."""

    def __init__(self, load: JobLoad, gap: float) -> None:
        super().__init__("crash-lane", 10.0)
        self.load = load
        self.gap = gap
        self._ops = itertools.cycle(CRASH_CALLS)
        self.current: TrackedJob | None = None

    def step(self) -> None:
        op, make = next(self._ops)
        job = self.load.enqueue("crash", op, make(0))
        self.current = job
        deadline = time.monotonic() + 90
        conn = self.load.redis
        while not self.stopping.is_set() and time.monotonic() < deadline:
            try:
                status = conn.hget(f"rq:job:{job.id}", "status")
            except RedisError:
                status = None
            if status and status.decode() in TERMINAL:
                break
            self.stopping.wait(0.1)
        self.stopping.wait(self.gap)


def sends_seen(redis: Redis) -> dict[str, int]:
    """How often the fake backend got each of the load's send_text texts (wagw:fake:sent): a
    text seen twice is a message a customer would have got twice."""
    seen: dict[str, int] = {}
    for raw in redis.lrange(keys.FAKE_SENT, 0, -1):
        record = json.loads(raw)
        text = (record.get("args") or {}).get("text") or ""
        if record.get("op") == "send_text" and text.startswith(SEND_TEXT):
            seen[text] = seen.get(text, 0) + 1
    return seen


class JobTracker(threading.Thread):
    """Polls every tracked job until it reaches a final status."""

    def __init__(self, redis_url: str, load: JobLoad, interval: float = 0.5) -> None:
        super().__init__(name="job-tracker", daemon=True)
        self.redis = _connect(redis_url)
        self.load = load
        self.interval = interval
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            with contextlib.suppress(RedisError):
                self.poll()
            self.stopping.wait(self.interval)

    def poll(self) -> None:
        open_jobs = [j for j in self.load.all_jobs() if j.ended is None]
        for start in range(0, len(open_jobs), 200):
            chunk = open_jobs[start : start + 200]
            fetched = Job.fetch_many([j.id for j in chunk], connection=self.redis, serializer=JSONSerializer)
            for tracked, job in zip(chunk, fetched, strict=False):
                if job is None:
                    tracked.status, tracked.ended = "missing", time.time()
                    continue
                status = job.get_status(refresh=False)
                tracked.status = status.value if status else "unknown"
                tracked.retries_used = job.number_of_retries or 0
                if tracked.status in TERMINAL:
                    tracked.ended = time.time()
                    if tracked.status == JobStatus.FAILED.value:
                        result = job.latest_result()
                        tracked.exc = (result.exc_string if result else None) or job.exc_info or ""

    def open_count(self) -> int:
        return sum(1 for j in self.load.all_jobs() if j.ended is None)

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=10)


class CrashCollector(threading.Thread):
    """Copies every entry of the capped `wagw:crashes` list before it rolls over."""

    def __init__(self, redis_url: str, interval: float = 0.3) -> None:
        super().__init__(name="crash-collector", daemon=True)
        self.redis = _connect(redis_url)
        self.interval = interval
        self.stopping = threading.Event()
        self.entries: list[dict] = []
        self._seen: set[bytes] = set()

    def run(self) -> None:
        while not self.stopping.is_set():
            self.poll()
            self.stopping.wait(self.interval)

    def poll(self) -> None:
        try:
            raw = self.redis.lrange(CRASHES_KEY, 0, -1)
        except RedisError:
            return
        for item in reversed(raw):  # oldest first
            if item not in self._seen:
                self._seen.add(item)
                with contextlib.suppress(ValueError):
                    self.entries.append(json.loads(item))

    def native(self) -> list[dict]:
        """Crashes of native hosts during a job (they name the operation)."""
        return [e for e in self.entries if e.get("operation")]

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=10)
