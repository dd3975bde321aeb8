"""The native host: the one process of a wa-worker slot that loads the WhatsApp backend.

A Go panic inside neonize aborts the whole process that made the call, so the calls run
here, in a child the wa-worker expects to lose: it sees the death, fails or retries the job,
and spawns a new host. Started by workers.wa.host_client as `python -m workers.wa.host`.

Protocol, one JSON object per line:
- stdin, first line (hello): {"slot": N, "parent": <wa-worker pid>, "events_fd": <fd>,
  "settings": {...}} (settings travel over the pipe, not argv or the environment, since they
  can hold secrets);
- stdin, then requests: {"id": 7, "op": "fetch_avatar", "params": {...}}, executed one at a
  time in the main thread; a media argument's bytes travel as base64 in
  params["<argument>_b64"] (the operation's `media`: params["image_b64"] for send_image);
- stdout, replies only: {"id": 7, "ok": true, "result": {...}} or
  {"id": 7, "ok": false, "error": {"type": "BackendError", "message": "...", "backend": true}}
  ("invalid": true instead of "backend" when the backend found the arguments unusable);
  a request with "ack": true (a send: wagw.operations `sends`) first gets
  {"id": 7, "calling": true}, written and flushed right before the backend is called, so the
  wa-worker knows whether a host that dies had handed the request to WhatsApp's library;
- the events pipe (an extra fd), connection state only: {"event": "state", "state": <a
  wagw.devices.DeviceState value>, "paired": bool|null, "jid": str|null, "error": str|null}.
  Keeping it apart lets the calling thread read its reply straight from stdout;
- stderr: log records in wire mode plus whatever the Go runtime writes (a panic trace).

The host exits on stdin EOF (its wa-worker is gone) and, through PR_SET_PDEATHSIG, when its
wa-worker dies outright (also in the middle of a hung call). When the connection ends or
cannot start it exits with the backend error's exit code; the wa-worker decides when to
try again.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import sys
import threading
import traceback
from typing import IO, TYPE_CHECKING, Any

from loguru import logger

from wagw import accounts
from wagw.devices import DeviceState, state_after
from wagw.exitcodes import ExitCode
from wagw.procs import die_with_parent

if TYPE_CHECKING:
    from wagw.whatsapp.backend import Backend

STOP_GRACE = 2.0  # seconds the backend gets to disconnect before the host exits anyway


def _claim_protocol_stdout() -> IO[str]:
    """The replies' stream: a private copy of fd 1. fd 1 itself then points at stderr, so
    anything the Go library or a stray print() writes cannot corrupt the protocol."""
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return replies


class Host:
    def __init__(self, settings: Any, slot: int, replies: IO[str], events: IO[str], account: str | None = None):
        self.settings = settings
        self.slot = slot
        self.role = accounts.find(settings, account).worker_role(slot)
        self.replies = replies
        self.events = events
        self.events_lock = threading.Lock()
        self.backend: Backend | None = None  # made in run(), once the hello is read

    def reply(self, message: dict) -> None:
        self.replies.write(json.dumps(message, default=str) + "\n")
        self.replies.flush()

    def state(
        self, state: DeviceState, *, paired: bool | None = None, jid: str | None = None, error: str | None = None
    ) -> None:
        line = json.dumps({"event": "state", "state": state, "paired": paired, "jid": jid, "error": error}) + "\n"
        with self.events_lock:
            try:
                self.events.write(line)
                self.events.flush()
            except OSError:  # the wa-worker is gone; stdin EOF ends us next
                pass

    def run(self) -> int:
        from wagw.whatsapp import make_backend  # neonize (if configured) loads here

        self.state(DeviceState.STARTING)
        backend = self.backend = make_backend(self.settings, self.role)
        threading.Thread(target=self._connection, args=(backend,), name="connection", daemon=True).start()
        # Calls run right here, one at a time: no thread hand-off on the hot path. A call hung
        # in Go blocks this loop; the wa-worker kills us at the job's deadline, or
        # PR_SET_PDEATHSIG does when the wa-worker itself dies.
        for line in sys.stdin:
            self.reply(self._handle(backend, line))
        logger.info("the wa-worker closed the pipe: exiting")
        self._exit(ExitCode.OK)
        return ExitCode.OK  # not reached

    def _connection(self, backend: Backend) -> None:
        from wagw.whatsapp.backend import BackendError

        try:
            jid = backend.device_jid()
            self.state(DeviceState.CONNECTING, paired=jid is not None, jid=jid)
            backend.start(on_event=None)
        except BackendError as error:
            state = state_after(error)
            self.state(state, paired=False if state is DeviceState.UNPAIRED else None, error=str(error))
            logger.warning("{} cannot connect: {}", self.role, error)
            self._exit(int(error.exit_code))
        except Exception as error:  # a bug, not WhatsApp: exit so the wa-worker respawns us
            logger.exception("{} failed to connect", self.role)
            self.state(DeviceState.FAILED, error=f"{type(error).__name__}: {error}")
            self._exit(ExitCode.FAILURE)
        jid = backend.device_jid()
        self.state(DeviceState.CONNECTED, paired=True, jid=jid)
        logger.info("{} connected as {}", self.role, jid)
        try:
            backend.wait()
        except BackendError as error:
            logger.warning("{} connection ended: {}", self.role, error)
            state = state_after(error)
            self.state(state, paired=state is not DeviceState.UNPAIRED, error=str(error))
            self._exit(int(error.exit_code))
        self.state(DeviceState.OFFLINE, paired=True, error="connection closed")
        self._exit(ExitCode.OK)

    def _handle(self, backend: Backend, line: str) -> dict:
        try:
            request = json.loads(line)
            request_id, op, params = request["id"], request["op"], request.get("params") or {}
            ack = bool(request.get("ack"))
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            return {"id": None, "ok": False, "error": {"type": "ProtocolError", "message": str(error)}}
        return self._execute(backend, request_id, op, params, ack=ack)

    def _execute(self, backend: Backend, request_id: Any, op: str, params: dict, *, ack: bool = False) -> dict:
        from wagw.operations import OPERATIONS
        from wagw.operations.args import InvalidArguments
        from wagw.whatsapp.backend import BackendError

        if op not in OPERATIONS:
            return {"id": request_id, "ok": False, "error": {"type": "ProtocolError", "message": f"unknown op {op!r}"}}
        argument = OPERATIONS[op].media
        if argument is not None:  # media bytes travel as base64 (workers/wa/media.py)
            params = dict(params)
            params[argument] = base64.b64decode(params.pop(f"{argument}_b64"))
        logger.debug("call {} {}", request_id, op)
        method = getattr(backend, op)
        if ack:
            # From here on the request may reach WhatsApp: a death after this line leaves a
            # send's outcome unknown (the wa-worker has read this line by then, or reads it
            # from the pipe after our death).
            self.reply({"id": request_id, "calling": True})
        try:
            result = _once_more_on_reach_out(backend, op, method, params)
        except BackendError as error:
            return {
                "id": request_id,
                "ok": False,
                "error": {"type": type(error).__name__, "message": str(error), "backend": True},
            }
        except InvalidArguments as error:  # e.g. an image neonize cannot decode: never retried
            return {
                "id": request_id,
                "ok": False,
                "error": {"type": "InvalidArguments", "message": str(error), "invalid": True},
            }
        except Exception as error:
            logger.exception("{} raised", op)
            return {
                "id": request_id,
                "ok": False,
                "error": {
                    "type": type(error).__name__,
                    "message": str(error),
                    "traceback": traceback.format_exc(limit=20),
                },
            }
        return {"id": request_id, "ok": True, "result": result}

    def _exit(self, code: int) -> None:
        """Leave now: disconnect if the backend manages within STOP_GRACE, then os._exit
        (Go threads and a hung call must not keep the process alive)."""
        if self.backend is not None:
            stopper = threading.Thread(target=self._stop_backend, args=(self.backend,), daemon=True)
            stopper.start()
            stopper.join(STOP_GRACE)
        sys.stderr.flush()
        os._exit(code)

    def _stop_backend(self, backend: Backend) -> None:
        try:
            backend.stop()
        except Exception:
            logger.exception("stopping the backend failed")


def _once_more_on_reach_out(backend: Backend, op: str, method: Any, params: dict) -> Any:
    """Call `method`; a message into a person's chat that WhatsApp refused with its reach-out
    limit (error 463, so not delivered) is sent once more after a warm-up: subscribing to the
    chat's presence, as WhatsApp's clients do on opening a chat (go-whatsapp-web-multidevice's
    remedy). A second refusal goes back to the wa-worker, which holds the account's
    first-contact sends (wagw.reachout)."""
    from wagw import reachout
    from wagw.addresses import person_chat
    from wagw.whatsapp.backend import BackendError, ReachOutLimited

    try:
        return method(**params)
    except ReachOutLimited:
        argument = reachout.chat_argument(op)
        chat = params.get(argument) if argument else None
        if not isinstance(chat, str) or not person_chat(chat):
            raise
    logger.warning("{} met WhatsApp's reach-out limit (463): warming the chat up, then trying once more", op)
    try:
        backend.subscribe_presence(chat)
    except BackendError as error:  # the retry goes ahead: it is what may succeed
        logger.info("the warm-up before {}'s retry failed: {}", op, error)
    return method(**params)


def main() -> int:
    replies = _claim_protocol_stdout()
    hello_line = sys.stdin.readline()
    if not hello_line:
        return ExitCode.OK
    hello = json.loads(hello_line)
    # SIGKILL: nothing in the host, Go's signal handlers included, may delay its end.
    die_with_parent(int(hello["parent"]), signal.SIGKILL)

    from wagw.config import Settings
    from wagw.logs import configure_logging

    settings = Settings(_env_file=None, **hello["settings"])
    slot = int(hello["slot"])
    account = accounts.find(settings, hello.get("account"))
    configure_logging(settings, account.host_process(slot), wire=True)
    events = os.fdopen(int(hello["events_fd"]), "w", encoding="utf-8")
    return Host(settings, slot, replies, events, account.name).run()


if __name__ == "__main__":
    raise SystemExit(main())
