"""WAGW_MEDIA_AUTO_DOWNLOAD on the delivery side: a delivery's body follows its download job.

With auto-download on, the session enqueues, in the transaction that stores a media event,
one `workers.wa.download_media(media)` job on the wa queue and the event's deliveries, each
naming that job's id as a fifth argument under the session's seal
(wagw/webhooks/enqueue.py). A delivery is taken at once like any other; once its seal is
checked (and only then), the webhook worker reads the download job (JSON only) and:

- while the job is neither finished nor failed, defers the delivery (the scheduled registry,
  no attempt spent) and looks again a moment later, for at most `patience()` seconds from
  the delivery's enqueue; then it goes without the file;
- finished: the result is checked (below) and the body gets the local path in the media
  field, in go-whatsapp-web-multidevice's auto-download shape;
- failed for any reason (a native crash, expired media, retries exhausted, failed by the
  reaper after its worker died, stopped, canceled), gone (expired, deleted), unreadable,
  or a result that does not pass the checks: the body keeps the URL object and gets a
  `download_error`.

Nothing waits for RQ to release the delivery: its outcome is read, so every way a download
can end (or never end) ends in exactly one delivery per endpoint.

Whoever can write to Redis can rewrite a job's result, so a result is used only if it reads
like download_media's: `path` is exactly WAGW_MEDIA_DIR/<sha256>.<ext>, named by the result's
`sha256`, which is the event's own `file_sha256` (sealed in the body). The worker never opens
the file (it may run on another host): the path is only a string put in the body it signs.
The job read is the one the seal names, must be a download_media job, and must have been
given this event's `media` object.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from wagw.client import exception_line
from wagw.operations import OPERATIONS
from wagw.redisconn import SERIALIZER

if TYPE_CHECKING:
    from datetime import datetime
    from pathlib import Path

    from redis import Redis

    from wagw.config import Settings

DOWNLOAD_JOB = OPERATIONS["download_media"].path
# What rq's (and enqueue_calls') job ids look like: a uuid4 string.
JOB_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# download_media's file names (workers/wa/downloads.py STORED): <sha256>.<ext>
STORED = re.compile(r"([0-9a-f]{64})\.[a-z0-9]{1,8}")
# go-whatsapp-web-multidevice sends these as a bare path even when they have a caption.
PATH_ONLY = frozenset({"audio", "sticker"})
ERROR_CHARS = 300
# Margin beyond a download's own worst case (every attempt to its timeout, the retry
# intervals) for queueing behind other wa jobs and a worker's restart.
PATIENCE_MARGIN = 600


def patience() -> int:
    """Seconds a delivery waits for its download before it goes without the file."""
    op = OPERATIONS["download_media"]
    return (op.retries + 1) * op.timeout + op.retries * op.interval + PATIENCE_MARGIN


@dataclass(frozen=True)
class Pending:
    """The download has not ended: look again in `delay` seconds."""

    delay: float


class RefusedResult(ValueError):
    """A finished download's result that does not read like download_media's."""


def valid_job_id(value: object) -> bool:
    return isinstance(value, str) and JOB_ID.fullmatch(value) is not None


def wait_delay(age: float) -> float:
    """How long a delivery waits before looking at its download again: a fresh download
    usually ends within a second; a slow one (retries, a queue behind it) need not be polled."""
    if age < 10:
        return 0.2  # the scheduler's next whole second
    if age < 120:
        return 1.0
    return 5.0


# ---- the body (pure) -----------------------------------------------------------------------------


def _dump(body: dict) -> str:
    # As wagw.events.build_body writes it.
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def _media_of(body: dict) -> tuple[dict, str, dict] | None:
    payload = body.get("payload")
    if not isinstance(payload, dict):
        return None
    media = payload.get("media")
    kind = media.get("kind") if isinstance(media, dict) else None
    if not isinstance(kind, str) or not isinstance(payload.get(kind), dict):
        return None
    return payload, kind, media  # type: ignore[return-value]


def checked_path(result: object, media: dict, media_dir: Path) -> str:
    """The path of a finished download's result, if it reads like download_media's for this
    event's media; RefusedResult (saying why) if not."""
    if not isinstance(result, dict):
        raise RefusedResult("the result is not an object")
    path, digest = result.get("path"), result.get("sha256")
    if not isinstance(digest, str) or not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise RefusedResult("the result has no sha256")
    if not isinstance(path, str):
        raise RefusedResult("the result has no path")
    name = path.rsplit("/", 1)[-1]
    stored = STORED.fullmatch(name)
    if stored is None or stored.group(1) != digest:
        raise RefusedResult("the result's path is not a content-addressed download")
    if path != str(media_dir / name):
        raise RefusedResult("the result's path is not in WAGW_MEDIA_DIR")
    expected = media.get("file_sha256")
    if expected is not None:
        try:
            wanted = base64.b64decode(expected, validate=True).hex() if isinstance(expected, str) else None
        except (binascii.Error, ValueError):
            wanted = None
        if wanted != digest:
            raise RefusedResult("the result's sha256 is not the event's file_sha256")
    return path


def error_text(text: str) -> str:
    """A download's failure as one line for the body: control characters escaped, capped."""
    line = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text.strip())
    return line[:ERROR_CHARS] or "download failed"


def with_path(body: str, path: str) -> str:
    """The body with the local path in its media field, as go-whatsapp-web-multidevice's
    auto-download sends it: the bare path, or {path, caption} when there is a caption
    (never for audio and stickers)."""
    data = json.loads(body)
    found = _media_of(data)
    if found is None:
        return body
    payload, kind, _ = found
    caption = payload[kind].get("caption")
    payload[kind] = path if kind in PATH_ONLY or not caption else {"path": path, "caption": caption}
    return _dump(data)


def with_error(body: str, error: str) -> str:
    """The body as it is (the URL object) plus `download_error` in its payload."""
    data = json.loads(body)
    if not isinstance(data.get("payload"), dict):
        return body
    data["payload"]["download_error"] = error_text(error)
    return _dump(data)


# ---- the download job (Redis) ----------------------------------------------------------------------


def outcome(conn: Redis, download_id: str, media: dict) -> tuple[str, Any]:
    """("pending", None), ("finished", result) or ("failed", why) for the download job."""
    try:
        job = Job.fetch(download_id, connection=conn, serializer=SERIALIZER)
    except NoSuchJobError:
        return "failed", "the download job is gone (expired or deleted)"
    except RedisError:
        raise
    except Exception:  # not JSON (a pickle is never loaded), not a job
        return "failed", "the download job is unreadable"
    try:
        ours = job.func_name == DOWNLOAD_JOB and list(job.args) + list(job.kwargs.values()) == [media]
    except Exception:
        ours = False
    if not ours:
        return "failed", "the download job is not this event's download_media"
    status = job.get_status(refresh=False)
    if status == JobStatus.FINISHED:
        result = job.latest_result()
        if result is None:
            return "failed", "the download finished but its result is gone"
        return "finished", result.return_value
    if status in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED):
        result = job.latest_result()
        line = exception_line(result.exc_string or "") if result is not None else ""
        return "failed", line or f"the download job was {status.value}"
    return "pending", None


def follow(
    conn: Redis, settings: Settings, body: str, download_id: str, enqueued_at: datetime | None, now: float | None = None
) -> Pending | str:
    """The body to sign and send for a delivery that follows `download_id`, or Pending."""
    data = json.loads(body)
    found = _media_of(data)
    if found is None:
        return body  # nothing to download in it (the session never seals such a job)
    _, _, media = found
    if not valid_job_id(download_id):
        return with_error(body, "the download job id is not a job id")
    current = time.time() if now is None else now
    age = current - enqueued_at.timestamp() if enqueued_at is not None else 0.0
    try:
        state, value = outcome(conn, download_id, media)
    except RedisError:
        return Pending(1.0)
    if state == "pending":
        if age < patience():
            return Pending(wait_delay(age))
        return with_error(body, f"the download did not end within {patience()} s")
    if state == "failed":
        return with_error(body, value)
    try:
        return with_path(body, checked_path(value, media, settings.media_path))
    except RefusedResult as refused:
        return with_error(body, f"the download's result was refused: {refused}")


def retry_interval(pending: Pending) -> int:
    """Whole seconds for a stock RQ worker's retry interval (RQ truncates to the second)."""
    return max(1, math.ceil(pending.delay))
