"""What every bench shares: a bench that cannot give its figures says what failed on stderr and
exits non-zero at once. Its waits end as soon as a process it relies on has exited, when the
work stops coming, or at a deadline derived from the slowest rate it could still call a
measurement; never after a long fixed time."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import TypeVar

from chaos.daemon import DaemonError
from chaos.polling import Timeout

T = TypeVar("T")

# Seconds a process may take to start on a loaded machine, and the longest a bench waits
# without any progress; --grace changes it.
GRACE = 15.0


class CannotMeasure(Exception):
    """The bench cannot give its figures: a baseline failed, a process it relies on exited, or
    the work it waits for did not arrive in time."""


def parse(parser: argparse.ArgumentParser, smoke: Mapping[str, object]) -> argparse.Namespace:
    """The bench's arguments, with --smoke (its `smoke` settings, where no option says
    otherwise) and --grace."""
    shown = " ".join(f"--{name.replace('_', '-')} {value}" for name, value in smoke.items())
    parser.add_argument(
        "--smoke", action="store_true", help=f"every part once, as small as it goes, in seconds: {shown}"
    )
    parser.add_argument(
        "--grace",
        type=float,
        default=GRACE,
        help=f"seconds allowed for a process to start, and for no progress at all (default {GRACE:g})",
    )
    args = parser.parse_args()
    if args.smoke:
        parser.set_defaults(**smoke)
        args = parser.parse_args()
    return args


def deadline(count: int, floor_rate: float, grace: float) -> float:
    """Seconds allowed for `count` items at `floor_rate` a second (a rate well under the slowest
    ever measured), after `grace` seconds of start-up."""
    return grace + count / floor_rate


def tail(path: Path | None, lines: int = 20) -> str:
    """The last lines of a log file, indented, to append to a failure."""
    if path is None:
        return ""
    try:
        text = path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return ""
    return "".join(f"\n    {line}" for line in text)


def child_log(log_dir: Path, name: str) -> Path:
    """Where the child `name` writes its output."""
    return log_dir / f"{name}.log"


def check_running(
    children: Mapping[str, subprocess.Popen], log_dir: Path | None = None, may_finish: Collection[str] = ()
) -> None:
    """CannotMeasure if one of `children` (name -> process) has exited, with the end of its log
    (child_log) if it has one; those in `may_finish` may exit 0 (a burst worker that emptied
    its queue)."""
    for name, proc in children.items():
        code = proc.poll()
        if code is not None and not (code == 0 and name in may_finish):
            how = f"signal {signal.Signals(-code).name}" if code < 0 else f"status {code}"
            raise CannotMeasure(f"{name} exited ({how}){tail(child_log(log_dir, name) if log_dir else None)}")


def wait(predicate: Callable[[], T], seconds: float, what: str, check: Callable[[], None] | None = None) -> T:
    """Poll predicate() until it is truthy and return its value. `check` runs first on every
    poll and raises CannotMeasure when waiting is pointless (a child exited)."""
    limit = time.monotonic() + seconds
    while True:
        if check is not None:
            check()
        got = predicate()
        if got:
            return got
        if time.monotonic() >= limit:
            raise CannotMeasure(f"{what}: not within {seconds:.0f} s")
        time.sleep(0.05)


def wait_count(
    count: Callable[[], int],
    total: int,
    floor_rate: float,
    grace: float,
    what: str,
    check: Callable[[], None] | None = None,
    interval: float = 0.1,
) -> None:
    """Poll count() until it reaches `total`. CannotMeasure once nothing more has arrived for
    `grace` seconds, or after deadline(total, floor_rate, grace)."""
    started = last_progress = time.monotonic()
    limit = deadline(total, floor_rate, grace)
    seen = -1
    while True:
        if check is not None:
            check()
        got = count()
        if got >= total:
            return
        now = time.monotonic()
        if got > seen:
            seen, last_progress = got, now
        if now - last_progress > grace or now - started > limit:
            raise CannotMeasure(
                f"{what}: {got} of {total} after {now - started:.0f} s (allowed {limit:.0f} s, "
                f"expecting at least {floor_rate:g}/s and some progress every {grace:g} s)"
            )
        time.sleep(interval)


def extract(root: Path, ref: str, into: Path) -> Path:
    """git REF's tree of the repository at `root`, written under `into` (for --compare: a
    child started with cwd and PYTHONPATH there runs REF's code)."""
    archive = subprocess.run(["git", "-C", str(root), "archive", ref], capture_output=True)
    if archive.returncode != 0:
        raise CannotMeasure(f"git archive {ref}: {archive.stderr.decode(errors='replace').strip()}")
    into.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def run(main: Callable[[], int | None]) -> int:
    """Run a bench's main: SIGTERM unwinds like Ctrl-C (so its children are stopped on the way
    out), and a bench that cannot measure says why on stderr and exits 1."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        return main() or 0
    except (CannotMeasure, Timeout, DaemonError) as error:
        print(f"{Path(sys.argv[0]).name}: cannot measure: {error}", file=sys.stderr, flush=True)
        return 1


def serve_http(port: int, ready_path: str, answer: Callable[[str, str, dict[str, str]], bytes]) -> None:
    """A minimal asyncio HTTP/1.1 server (a bench's webhook receiver, in its own process): every
    request gets 200 with the body `answer(method, path, lowercased headers)` returns. Writes the
    port it listens on to `ready_path`, then serves until killed."""

    class Protocol(asyncio.Protocol):
        def connection_made(self, transport) -> None:
            self.transport = transport
            self.buffer = b""

        def data_received(self, data: bytes) -> None:
            self.buffer += data
            while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
                lines = self.buffer[:end].decode("latin-1").split("\r\n")
                headers = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length", "0"))
                if len(self.buffer) < end + 4 + length:
                    return
                self.buffer = self.buffer[end + 4 + length :]
                method, path = lines[0].split(" ")[:2]
                body = answer(method, path, headers)
                self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)

    async def serve() -> None:
        server = await asyncio.get_running_loop().create_server(Protocol, "127.0.0.1", port)
        Path(ready_path).write_text(str(server.sockets[0].getsockname()[1]))
        await server.serve_forever()

    asyncio.run(serve())


def fake_backend_env(redis_url: str, data_dir: Path, **settings: str) -> dict[str, str]:
    """The environment for wagw processes on the fake WhatsApp backend: this one without its
    WAGW_ settings, then the Redis URL, the data folder and `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WAGW_")}
    env.update({"WAGW_REDIS_URL": redis_url, "WAGW_DATA_DIR": str(data_dir), "WAGW_BACKEND": "fake", **settings})
    return env


def stop(procs: Collection[subprocess.Popen], patience: float = 15.0) -> None:
    """SIGTERM to each, then wait for each up to `patience` seconds; SIGKILL one still running."""
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(patience)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
