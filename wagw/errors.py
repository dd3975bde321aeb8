"""Every error wagw shows an app, a job's record or an operator, defined once.

- `WagwError` is the root of them all.
- `Permanent` is a failure that retrying cannot fix: a wa-worker fails such a job at once,
  whatever its Retry (workers/wa/worker.py reads it, nothing else). They are exactly the
  failures docs/jobs.md lists as not retried: bad arguments, a refused job, a poisoned
  target, a quarantine, a send's unknown outcome, and a slot logged out or replaced.
- Each keeps the name job failures and logs have always shown (its `__module__`, e.g.
  `workers.validation.InvalidArguments`; apps match on these, docs/jobs.md "Errors"), and
  that module re-exports it: the name a failed job shows is where to import it from
  (`from workers.host_client import HostCrashed`). tests/unit/test_errors.py checks both.

This module imports nothing heavy: the native host and the supervisor load it, and must not
load rq, so HostTimeout (an rq JobTimeoutException) is made on first use.

Errors that never leave the module that raises them stay there, next to the code that turns
them into one of these or into a message (tests/unit/test_errors.py holds this list to the
code):

- `workers.wa.safe_open.Refused`, `workers.wa.safe_open.TooLarge`: a media-folder path
  refused; the media checks (workers/wa/media.py) turn them into InvalidArguments.
- `workers.wa.fetch.UnusableURL`, `workers.wa.fetch.BlockedAddress`,
  `workers.wa.fetch.EncodedBody`, `workers.wa.fetch.FetchFailed`: a media URL not fetched;
  the media checks turn them into InvalidArguments or MediaDownloadFailed. Two are httpx
  errors, so that httpx's own handling applies to them (httpx is loaded only with a
  wa-worker's first URL).
- `workers.webhooks.delivery.RefusedDelivery`: a delivery job refused before anything is
  signed; `deliver` raises DeliveryFailed with its reason.
- `workers.webhooks.media.RefusedResult`: a download job's outcome a delivery does not
  trust; it becomes the body's `download_error`.
- `wagw.whatsapp.fake_inbound.fields.Malformed`: a fake control message refused; its reason
  goes to the fake's rejected list.
- `wagw.exporter.Malformed`: a metric entry the exporter skips.
- `wagw.session.sink.NotStored`: the session's own signal to leave an event unacknowledged,
  so that the backend hands it over again.
- `wagw.whatsapp.pairing.PairingError`: `wagw pair` prints its message and exits 64.
- `wagw.api.envelope.ApiError`: what an HTTP API route answers (its status and envelope); the
  app sees the answer, never the exception.
- `wagw.api.guard.BodyTooLarge`: a request body past its cap, noticed while it arrives; the
  guard answers 413.
- `wagw.api.gowa.requests.RequestInvalid`: a go-whatsapp-web-multidevice request that cannot
  become a job's arguments; its routes answer it as that API's 400 (wagw.api.gowa.answers).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from wagw import panics
from wagw.exitcodes import HOST_CLEAN_EXITS, ExitCode

if TYPE_CHECKING:
    from rq.job import Job
    from rq.timeouts import JobTimeoutException


class WagwError(Exception):
    """The root of every error wagw shows an app, a job's record or an operator."""

    @property
    def permanent(self) -> bool:
        """Whether retrying cannot fix it: said by the type (Permanent), here for code that
        asked the flag before there was one."""
        return isinstance(self, Permanent)


class Permanent(WagwError):
    """Retrying cannot fix it: the job fails at once, whatever its Retry."""


# A job that fails for good, before or instead of its call --------------------------------
class InvalidArguments(Permanent, ValueError):
    """A job's arguments are wrong: fail now, retrying cannot help."""

    __module__ = "workers.validation"


class RefusedJob(Permanent, RuntimeError):
    """A job names a function path, instance or callback that this process does not run."""

    __module__ = "wagw.rqcompat"


class Quarantined(Permanent, RuntimeError):
    """The operation is quarantined: the job fails without touching the native host."""

    __module__ = "wagw.quarantine"


class PoisonedTarget(Permanent, RuntimeError):
    """The job's target keeps crashing this operation: the job fails without touching the host."""

    __module__ = "wagw.quarantine"


class OutcomeUnknown(Permanent, RuntimeError):
    """A send's request was handed to the backend, then its host crashed or the call timed
    out: WhatsApp may or may not have it. Not sent again (unless the enqueuer set
    meta={"resend_on_unknown": True}), so that nobody gets the same message twice."""

    __module__ = "workers.wa"


class IdempotencyConflict(Permanent, ValueError):
    """An idempotency key reused for other arguments or another operation within its TTL
    (the HTTP API answers 422): a key stands for one request."""

    __module__ = "wagw.idempotency"


class DuplicateJob(Permanent, RuntimeError):
    """A job whose idempotency key another job holds, and whose result it cannot take: that
    job has not ended, failed, or is gone. It never reaches WhatsApp."""

    __module__ = "wagw.idempotency"


# A wa job's media ------------------------------------------------------------------------
class MediaDownloadFailed(WagwError, RuntimeError):
    """A media URL could not be fetched now (network, 5xx): worth a retry."""

    __module__ = "workers.wa"


class ImageDownloadFailed(MediaDownloadFailed):
    """The image URL could not be fetched now (network, 5xx): worth a retry."""

    __module__ = "workers.wa"


# The native host (workers/wa/host_client.py) ---------------------------------------------
class HostError(WagwError, RuntimeError):
    """The native host could not run the call."""

    __module__ = "workers.host_client"


class HostCrashed(HostError):
    """The host died during the call. RQ's Retry applies; a native crash counts toward quarantine."""

    __module__ = "workers.host_client"

    def __init__(self, slot: int, operation: str, pid: int, returncode: int, stderr: list[str]):
        self.operation = operation
        self.pid = pid
        self.returncode = returncode
        self.exit = ExitCode.describe(returncode)
        self.native = returncode not in HOST_CLEAN_EXITS
        self.panic = panics.panic_text(stderr)
        what = "died of" if returncode < 0 else "exited with"
        message = f"native host of slot {slot} (pid {pid}) {what} {self.exit} during {operation}"
        tail = panics.render_tail(stderr)
        if tail:
            message += "\n--- last lines of the host's stderr ---\n" + tail
        super().__init__(message)


if TYPE_CHECKING:

    class HostTimeout(HostError, JobTimeoutException):
        """The call did not answer in time; its host was killed."""

else:

    def __getattr__(name: str) -> type:
        if name == "HostTimeout":
            return _host_timeout()
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

    @functools.cache
    def _host_timeout() -> type:
        from rq.timeouts import JobTimeoutException

        class HostTimeout(HostError, JobTimeoutException):
            """The call did not answer in time; its host was killed."""

            __module__ = "workers.host_client"
            __qualname__ = "HostTimeout"

        return HostTimeout


class SlotNotPaired(HostError):
    """This slot's linked device has no keys."""

    __module__ = "workers.host_client"


class SlotLoggedOut(Permanent, HostError):
    """The phone removed this slot's linked device: nothing runs on it until `wagw pair`
    (the slot waits for someone at the phone)."""

    __module__ = "workers.host_client"


class SlotReplaced(Permanent, HostError):
    """Another client connected with this slot's keys: nothing runs on it until the operator
    acts (connecting again would fight the other client)."""

    __module__ = "workers.host_client"


class SlotBanned(HostError):
    """WhatsApp temporarily banned the account; the slot's host tries again after a long pause.
    RQ's Retry applies: a retry after the pause can succeed."""

    __module__ = "workers.host_client"


class HostUnavailable(HostError):
    """The host did not connect within the wait bound."""

    __module__ = "workers.host_client"


class HostCallError(HostError):
    """The host raised something other than a BackendError (a bug in the host or backend)."""

    __module__ = "workers.host_client"


# WhatsApp calls (the backends, wagw/whatsapp/) -------------------------------------------
class BackendError(WagwError):
    """An ordinary failure of a WhatsApp call (the job fails; the process lives on)."""

    __module__ = "wagw.backends.base"
    exit_code: ExitCode = ExitCode.FAILURE


class NotPaired(BackendError):
    __module__ = "wagw.backends.base"
    exit_code = ExitCode.NOT_PAIRED


class LoggedOut(BackendError):
    __module__ = "wagw.backends.base"
    exit_code = ExitCode.LOGGED_OUT


class StreamReplaced(BackendError):
    __module__ = "wagw.backends.base"
    exit_code = ExitCode.STREAM_REPLACED


class TemporaryBan(BackendError):
    __module__ = "wagw.backends.base"
    exit_code = ExitCode.TEMP_BANNED


class ConnectFailure(BackendError):
    """Network trouble (or an unreadable device store): worth reconnecting with backoff."""

    __module__ = "wagw.backends.base"
    exit_code = ExitCode.TEMPFAIL


class MissingSystemLibrary(BackendError):
    """neonize cannot be loaded because a system library is missing (libmagic1): restarting
    cannot fix it, so the process exits as misconfigured (the supervisor does not retry)."""

    __module__ = "wagw.backends.base"
    exit_code = ExitCode.CONFIG


class ReachOutLimited(Permanent, BackendError):
    """WhatsApp refused a send with its reach-out limit (server error 463): the account may not
    start chats with new people for now. Not retried by RQ: the send path already warmed the
    chat up and tried once more (docs/jobs.md "Reach-out limits"). `until` is when the
    account's hold on first-contact sends ends (unix time): WhatsApp's own end when it gave
    one; None on a backend's answer that carried none."""

    __module__ = "workers.wa"

    def __init__(self, message: str = "", until: float | None = None):
        super().__init__(message)
        self.until = until


# Webhook deliveries (workers/webhooks/) --------------------------------------------------
class DeliveryError(WagwError):
    """A delivery attempt that did not get a 2xx."""

    __module__ = "workers.webhooks"


class DeliveryRetry(DeliveryError):
    """Will be tried again (stock RQ workers: RQ reschedules it)."""

    __module__ = "workers.webhooks"


class DeliveryFailed(DeliveryError):
    """Gave up: a non-retryable answer, or the retries ran out. Stays in the failed registry."""

    __module__ = "workers.webhooks"


# Apps' side: the typed client (wagw/client.py) -------------------------------------------
class JobFailed(WagwError, RuntimeError):
    """The job ended failed; `exc_string` is the worker's traceback (with any panic text)."""

    __module__ = "wagw.client"

    def __init__(self, job: Job, exc_string: str):
        self.job = job
        self.exc_string = exc_string or ""
        super().__init__(f"job {job.id} ({job.func_name}) failed: {exception_line(self.exc_string) or 'no details'}")


class WaitTimeout(WagwError, TimeoutError):
    """wait_for() gave up; the job itself may still finish later (see `job`)."""

    __module__ = "wagw.client"

    def __init__(self, job: Job, timeout: float):
        self.job = job
        super().__init__(f"job {job.id} ({job.func_name}) did not end within {timeout:g} s")


def exception_line(exc_string: str) -> str:
    """'workers.validation.InvalidArguments: invalid …' out of a formatted traceback: the first
    unindented line after the last "Traceback" header (the message may go on for more lines)."""
    lines = exc_string.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("Traceback (most recent call last)")]
    for line in lines[starts[-1] + 1 :] if starts else lines:
        if line and not line[0].isspace():
            return line
    return ""


# Operators' side: processes that cannot start ---------------------------------------------
class RedisServerError(WagwError, RuntimeError):
    """The embedded redis-server cannot be found, set up or started."""

    __module__ = "wagw.supervisor.embedded_redis"


class RedisUnreachable(WagwError, ConnectionError):
    """wagw.client cannot reach the Redis wagw's settings name: the message says which URL it
    tried and where that came from. A built-in ConnectionError (redis-py's is not one, and
    loading redis here would load it into every process)."""

    __module__ = "wagw.client"


class DashboardConfigError(WagwError, ValueError):
    """A setting combination the dashboard refuses to start with (it exits 78)."""

    __module__ = "wagw.dashboard"


class ApiConfigError(WagwError, ValueError):
    """A setting combination the HTTP API refuses to start with (it exits 78)."""

    __module__ = "wagw.api.process"


class AccountExists(WagwError, ValueError):
    """`wagw accounts add` (or the API's `POST /devices`) named an account that is configured already."""


class MigrationFailed(WagwError, RuntimeError):
    """The history store's migration (run in its own short-lived process) did not complete;
    the message is that process's one-line reason, without statements or the URL's password."""


class StoreMissing(WagwError, RuntimeError):
    """The history store was never made: nothing to read yet (the `history` process makes it
    at its start); `wagw history` and `wagw events replay` say so."""

    __module__ = "wagw.history.store"
