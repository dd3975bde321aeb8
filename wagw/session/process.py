"""`wagw session`: the primary linked device ("session" role), inbound only.

Connects through make_backend, turns every inbound event into the event log and webhook
queue (wagw.session.sink, fed in batches by wagw.session.feed), and publishes the device
status heartbeat for `wagw status`.
Exit codes tell the supervisor what to do (wagw.exitcodes):

- not paired (80), logged out (81), stream replaced (82): fatal, with what the operator must do;
- temporary ban (83): long backoff;
- network trouble (75): after a short pause, so the supervisor counts a run and backs off
  instead of giving up on a string of instant failures.

SIGTERM/SIGINT only set a flag; the main loop then disconnects within shutdown_grace.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
import time

import redis
from loguru import logger

from wagw import accounts, devices, keys, refusals
from wagw.accounts import Account
from wagw.config import Settings
from wagw.devices import DeviceState
from wagw.exitcodes import ExitCode
from wagw.redisconn import connect
from wagw.session.feed import EventFeed
from wagw.session.sink import EventSink
from wagw.whatsapp import make_backend
from wagw.whatsapp.backend import (
    Backend,
    BackendError,
    ConnectFailure,
    LoggedOut,
    MissingSystemLibrary,
    NotPaired,
    StreamReplaced,
    TemporaryBan,
)

# Pause before exiting on network trouble: the run then counts as started for the supervisor.
NETWORK_PAUSE = 2.0
_POLL = 0.05

_ADVICE: dict[type[BackendError], str] = {
    NotPaired: "the session device is not paired: run `wagw pair --role session`; a running wagw then starts "
    "the session again by itself",
    LoggedOut: "the phone removed the session device (logged out): run `wagw pair --role session --force`; "
    "a running wagw then starts the session again by itself",
    StreamReplaced: "another client connected with the session device's keys (stream replaced): stop the "
    "other wagw/client using this device store, then restart wagw (or link a new device with "
    "`wagw pair --role session --force`)",
    TemporaryBan: "WhatsApp temporarily banned this account: wagw will retry after a long pause",
    MissingSystemLibrary: "a system library neonize needs is missing: install it (below), then restart wagw",
}


class Session:
    def __init__(self, settings: Settings, account: Account):
        self.settings = settings
        self.account = account
        self.stop_requested = False  # set by the signal handler, nothing else happens there
        self.conn = connect(settings)
        self.backend: Backend | None = None
        self.state = DeviceState.STARTING
        self.sink: EventSink | None = None
        self.feed: EventFeed | None = None
        self._thread_error: BaseException | None = None
        self._beat_warn = refusals.Every(60.0)

    # Signals --------------------------------------------------------------------------
    def _on_signal(self, signum, frame) -> None:
        self.stop_requested = True

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)

    # Status ---------------------------------------------------------------------------
    def _jid(self) -> str | None:
        try:
            return self.backend.device_jid() if self.backend else None
        except Exception:
            return None

    def publish_status(self) -> None:
        connected = bool(self.backend and self.state is DeviceState.CONNECTED and self.backend.is_connected())
        paired = self.state is not DeviceState.UNPAIRED
        extra: dict[str, str | int] = {"pid": os.getpid()}
        if self.sink is not None:
            extra.update(events=self.sink.stored, duplicates=self.sink.duplicates)
            if self.sink.last_event_at:
                extra["last_event"] = f"{self.sink.last_event_at:.3f}"
            # Empty when not blocked; rarely seen set, as Redis that refuses the event mostly
            # refuses this too (then the heartbeat is kept alive: devices.stalled).
            since, why = self.sink.blocked_since, self.sink.blocked_reason
            extra.update(blocked_since=f"{since:.3f}" if since else "", blocked_reason=why or "")
        devices.publish(
            self.conn,
            self.account.session_role,
            state=self.state,
            paired=paired,
            connected=connected,
            jid=self._jid() if paired else None,
            extra=extra,
        )

    def beat(self) -> None:
        """Publish the status; while Redis refuses it, keep the last one alive instead."""
        try:
            self.publish_status()
        except redis.RedisError as error:
            if self._beat_warn.due():
                logger.warning("cannot publish the session status: {}", refusals.reason(error))
            with contextlib.suppress(redis.RedisError):
                devices.keep_alive(self.conn, self.account.session_role)

    def _heartbeat(self, done: threading.Event) -> None:
        while not done.wait(devices.HEARTBEAT):
            self.beat()

    # Run ------------------------------------------------------------------------------
    def run(self) -> int:
        done = threading.Event()
        heartbeat = threading.Thread(target=self._heartbeat, args=(done,), name="heartbeat", daemon=True)
        try:
            backend = self.backend = make_backend(self.settings, self.account.session_role)
            self.sink = EventSink(
                self.settings,
                self.conn,
                backend.device_jid,
                lambda: self.stop_requested,
                account=self.account,
                phone_of=backend.pn_for_lid,
            )
            feed = self.feed = EventFeed(self.sink)
            self.state = DeviceState.CONNECTING
            heartbeat.start()
            # On a thread, so that a stop request is not stuck behind a stalled connect.
            starter = self._on_thread(lambda: backend.start(feed), "backend-start")
            if self.stop_requested:
                return self._shutdown(starter)
            if self._thread_error is not None:
                raise self._thread_error
            self.state = DeviceState.CONNECTED
            self.beat()
            logger.info(
                "session of account {} connected as {} (backend {})",
                self.account.name,
                self._jid(),
                self.settings.backend,
            )
            waiter = self._on_thread(backend.wait, "backend-wait")
            if self.stop_requested:
                return self._shutdown(waiter)
            if self._thread_error is None:
                logger.warning("the session connection ended without a reason")
                raise ConnectFailure("connection ended")
            raise self._thread_error
        except BackendError as error:
            self._store_the_rest()
            return self._ended(error)
        finally:
            done.set()

    def _store_the_rest(self, deadline: float | None = None) -> None:
        """The events handed over and not yet stored, stored before the session exits (at most
        until `deadline`, else within shutdown_grace); while Redis refuses them, a stop gives
        up on them, unacknowledged."""
        if self.feed is not None:
            if deadline is None:
                deadline = time.monotonic() + self.settings.shutdown_grace
            self.feed.close(max(0.0, deadline - time.monotonic()))

    def _on_thread(self, function, name: str) -> threading.Thread:
        """Run function on a thread until it returns or a stop is requested."""
        self._thread_error = None

        def target() -> None:
            try:
                function()
            except BaseException as error:  # handed to the main thread
                self._thread_error = error

        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        while thread.is_alive() and not self.stop_requested:
            thread.join(_POLL)
        return thread

    def _shutdown(self, waiter: threading.Thread) -> int:
        logger.info("stopping the session")
        self.state = DeviceState.STOPPING
        deadline = time.monotonic() + self.settings.shutdown_grace
        assert self.backend is not None  # run() makes it before it can stop
        stopper = threading.Thread(target=self.backend.stop, name="backend-stop", daemon=True)
        stopper.start()
        stopper.join(max(0.0, deadline - time.monotonic()))
        waiter.join(max(0.0, deadline - time.monotonic()))
        self._store_the_rest(deadline)
        self.state = DeviceState.STOPPED
        with contextlib.suppress(redis.RedisError):
            self.publish_status()
        if stopper.is_alive() or waiter.is_alive():
            # neonize's stop() can hang on a stalled network; nothing is left to save.
            logger.warning("the backend did not stop within {}s; exiting anyway", self.settings.shutdown_grace)
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(ExitCode.OK)
        return ExitCode.OK

    def _ended(self, error: BackendError) -> int:
        self.state = devices.state_after(error)
        advice = next((text for kind, text in _ADVICE.items() if isinstance(error, kind)), None)
        if advice is not None:
            advice = self._for_account(advice)
        if advice is None:  # network trouble or unexpected: nothing for the operator to do
            logger.error("session connection failed: {}; exiting for a restart with backoff", error)
            self._pause(NETWORK_PAUSE)
        else:
            logger.error("{} ({})", advice, error)
        if self.state is DeviceState.LOGGED_OUT:
            self.conn.hdel(keys.DEVICE_JIDS, self.account.session_role)  # the recorded JID no longer works
        with contextlib.suppress(redis.RedisError):
            self.publish_status()
        return int(error.exit_code)

    def _for_account(self, advice: str) -> str:
        """The operator's commands name this account when there are several."""
        if not self.account.several:
            return advice
        return advice.replace("`wagw pair --role session", f"`wagw pair --account {self.account.name} --role session")

    def _pause(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.stop_requested and time.monotonic() < deadline:
            time.sleep(_POLL)


def main(settings: Settings, args: argparse.Namespace | None = None) -> int:
    try:
        account = accounts.find(settings, getattr(args, "account", None))
    except ValueError as error:
        logger.error("wagw session: {}", error)
        return ExitCode.CONFIG
    session = Session(settings, account)
    session.install_signal_handlers()
    try:
        code = session.run()
    except redis.RedisError as error:
        logger.error("session: Redis is unreachable: {}", error)
        code = ExitCode.TEMPFAIL
    if settings.backend == "neonize":
        # neonize runs connect() on a non-daemon thread that a stalled network can keep
        # blocked forever; the interpreter would wait for it at exit.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(int(code))
    return code
