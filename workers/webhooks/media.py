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
  `download_error`, one of the fixed texts of `DownloadError` chosen by the kind of failure.
  Nothing the job says is copied into the body: its failure text is whatever was last
  written to Redis, and this body is signed.

Nothing waits for RQ to release the delivery: its outcome is read, so every way a download
can end (or never end) ends in exactly one delivery per endpoint.

Whoever can write to Redis can rewrite a job's result, so a result is used only if it reads
like download_media's: `path` is exactly WAGW_MEDIA_DIR/<sha256>.<ext>, named by the result's
`sha256`, which is the event's own `file_sha256`, with the extension wagw/mediatypes.py gives
for the event's own `mime_type` (both sealed in the body). The worker never opens the file
(it may run on another host): the path is only a string put in the body it signs.
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
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from wagw import mediatypes
from wagw.errors import exception_line
from wagw.operations import OPERATIONS
from wagw.redisconn import SERIALIZER
from wagw.whatsapp import go_errors

if TYPE_CHECKING:
    from datetime import datetime
    from pathlib import Path

    from redis import Redis

    from wagw.config import Settings

DOWNLOAD_JOB = OPERATIONS["download_media"].path
# What rq's (and enqueue_calls') job ids look like: a uuid4 string.
JOB_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# download_media's file names (workers/wa/downloads.py STORED): <sha256>.<ext>
STORED = re.compile(r"([0-9a-f]{64})\.([a-z0-9]{1,8})")
# go-whatsapp-web-multidevice sends these as a bare path even when they have a caption.
PATH_ONLY = frozenset({"audio", "sticker"})
# Margin beyond a download's own worst case (every attempt to its timeout, the retry
# intervals) for queueing behind other wa jobs and a worker's restart.
PATIENCE_MARGIN = 600


def patience() -> int:
    """Seconds a delivery waits for its download before it goes without the file."""
    op = OPERATIONS["download_media"]
    return (op.retries + 1) * op.timeout + op.retries * op.interval + PATIENCE_MARGIN


class DownloadError(StrEnum):
    """Every `download_error` a body can carry: texts wagw writes, one per kind of failure."""

    NOT_A_JOB_ID = "the download job id is not a job id"
    GONE = "the download job is gone (expired or deleted)"
    UNREADABLE = "the download job is unreadable"
    NOT_OURS = "the download job is not this event's download_media"
    RESULT_GONE = "the download finished but its result is gone"
    NEVER_ENDED = f"the download did not end within {patience()} s"
    OUTCOME_UNREADABLE = "the download's outcome could not be read"
    # A finished job whose result does not read like download_media's (checked_path).
    NOT_AN_OBJECT = "the download's result was refused: it is not an object"
    NO_SHA256 = "the download's result was refused: it has no sha256"
    NO_PATH = "the download's result was refused: it has no path"
    NOT_CONTENT_ADDRESSED = "the download's result was refused: its path is not a content-addressed download"
    OUTSIDE_MEDIA_DIR = "the download's result was refused: its path is not in WAGW_MEDIA_DIR"
    OTHER_FILE = "the download's result was refused: its sha256 is not the event's file_sha256"
    OTHER_TYPE = "the download's result was refused: its extension is not the one for the event's mimetype"
    # A failed job, by the kind of its failure (failure_of).
    MEDIA_GONE = "the media is no longer on WhatsApp's servers (expired or deleted)"
    MEDIA_MISMATCH = "the media object does not match the file on WhatsApp's servers (key or hashes)"
    INVALID = "download_media refused the media object (InvalidArguments)"
    CRASHED = "the native host died during the download (HostCrashed)"
    TIMED_OUT = "the download timed out"
    QUARANTINED = "downloads are quarantined after native crashes (Quarantined)"
    POISONED = "this media keeps crashing the native host (PoisonedTarget)"
    NO_DEVICE = "no linked device of a wa-worker could run the download (SlotNotPaired or HostUnavailable)"
    BACKEND = "WhatsApp's library failed the download (BackendError)"
    ABANDONED = "the wa-worker running the download died (AbandonedJobError)"
    STOPPED = "the download job was stopped"
    CANCELED = "the download job was canceled"
    FAILED = "the download failed"


# Exception class names (without their module) as download_media's failures show them.
_FAILURES = {
    "HostCrashed": DownloadError.CRASHED,
    "HostTimeout": DownloadError.TIMED_OUT,
    "JobTimeoutException": DownloadError.TIMED_OUT,
    "Quarantined": DownloadError.QUARANTINED,
    "PoisonedTarget": DownloadError.POISONED,
    "SlotNotPaired": DownloadError.NO_DEVICE,
    "HostUnavailable": DownloadError.NO_DEVICE,
    # wagw.whatsapp.backend's BackendError and its kinds
    **dict.fromkeys(
        ("BackendError", "NotPaired", "LoggedOut", "StreamReplaced", "TemporaryBan", "ConnectFailure"),
        DownloadError.BACKEND,
    ),
}


def failure_of(exc_string: str, status: JobStatus) -> DownloadError:
    """The fixed text for a failed download job, chosen by the kind of failure its record
    names; the record's own words never leave this function."""
    if status == JobStatus.STOPPED:
        return DownloadError.STOPPED
    if status == JobStatus.CANCELED:
        return DownloadError.CANCELED
    line = exception_line(exc_string)
    if "AbandonedJobError" in line:  # rq's text for a job whose worker died
        return DownloadError.ABANDONED
    name = line.split(":", 1)[0].rsplit(".", 1)[-1].strip()
    if name == "InvalidArguments":  # download_media quotes whatsmeow's error when it refuses the media
        if any(gone in line for gone in go_errors.MEDIA_GONE):
            return DownloadError.MEDIA_GONE
        if any(mismatch in line for mismatch in go_errors.MEDIA_MISMATCH):
            return DownloadError.MEDIA_MISMATCH
        return DownloadError.INVALID
    return _FAILURES.get(name, DownloadError.FAILED)


@dataclass(frozen=True)
class Pending:
    """The download has not ended: look again in `delay` seconds."""

    delay: float


class RefusedResult(ValueError):
    """A finished download's result that does not read like download_media's."""

    def __init__(self, error: DownloadError) -> None:
        super().__init__(error.value)
        self.error = error


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
        raise RefusedResult(DownloadError.NOT_AN_OBJECT)
    path, digest = result.get("path"), result.get("sha256")
    if not isinstance(digest, str) or not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise RefusedResult(DownloadError.NO_SHA256)
    if not isinstance(path, str):
        raise RefusedResult(DownloadError.NO_PATH)
    name = path.rsplit("/", 1)[-1]
    stored = STORED.fullmatch(name)
    if stored is None or stored.group(1) != digest:
        raise RefusedResult(DownloadError.NOT_CONTENT_ADDRESSED)
    if path != str(media_dir / name):
        raise RefusedResult(DownloadError.OUTSIDE_MEDIA_DIR)
    expected = media.get("file_sha256")
    if expected is not None:
        try:
            wanted = base64.b64decode(expected, validate=True).hex() if isinstance(expected, str) else None
        except (binascii.Error, ValueError):
            wanted = None
        if wanted != digest:
            raise RefusedResult(DownloadError.OTHER_FILE)
    # download_media takes the extension from the event's mimetype (sealed in the body) when it
    # has one, else from the bytes: then it is at least one the table can give.
    mimetype = media.get("mime_type")
    ext = stored.group(2)
    if ext not in mediatypes.ALL or (isinstance(mimetype, str) and mimetype and ext != mediatypes.extension(mimetype)):
        raise RefusedResult(DownloadError.OTHER_TYPE)
    return path


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


def with_error(body: str, error: DownloadError) -> str:
    """The body as it is (the URL object) plus `download_error`, a text wagw wrote, in its payload."""
    data = json.loads(body)
    if not isinstance(data.get("payload"), dict):
        return body
    data["payload"]["download_error"] = DownloadError(error).value  # never any other text
    return _dump(data)


# ---- the download job (Redis) ----------------------------------------------------------------------


def outcome(conn: Redis, download_id: str, media: dict) -> tuple[str, Any]:
    """("pending", None), ("finished", result) or ("failed", DownloadError) for the download job."""
    try:
        job = Job.fetch(download_id, connection=conn, serializer=SERIALIZER)
    except NoSuchJobError:
        return "failed", DownloadError.GONE
    except RedisError:
        raise
    except Exception:  # not JSON (a pickle is never loaded), not a job
        return "failed", DownloadError.UNREADABLE
    try:
        ours = job.func_name == DOWNLOAD_JOB and list(job.args) + list(job.kwargs.values()) == [media]
    except Exception:
        ours = False
    if not ours:
        return "failed", DownloadError.NOT_OURS
    status = job.get_status(refresh=False)
    if status == JobStatus.FINISHED:
        result = job.latest_result()
        if result is None:
            return "failed", DownloadError.RESULT_GONE
        return "finished", result.return_value
    if status in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED):
        result = job.latest_result()
        exc_string = result.exc_string if result is not None else None
        return "failed", failure_of(exc_string if isinstance(exc_string, str) else "", status)
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
        return with_error(body, DownloadError.NOT_A_JOB_ID)
    current = time.time() if now is None else now
    age = current - enqueued_at.timestamp() if enqueued_at is not None else 0.0
    try:
        state, value = outcome(conn, download_id, media)
    except RedisError:
        return Pending(1.0)
    if state == "pending":
        if age < patience():
            return Pending(wait_delay(age))
        return with_error(body, DownloadError.NEVER_ENDED)
    if state == "failed":
        return with_error(body, value)
    try:
        return with_path(body, checked_path(value, media, settings.media_path))
    except RefusedResult as refused:
        return with_error(body, refused.error)


def retry_interval(pending: Pending) -> int:
    """Whole seconds for a stock RQ worker's retry interval (RQ truncates to the second)."""
    return max(1, math.ceil(pending.delay))
