"""The history store's migration in a short-lived process of its own: alembic, its script
directory and mako cost the writer ~10 MB for its whole life when loaded there, and are used
once, at its start (bench/README.md, "Footprint").

`python -m wagw.history.migrate` reads the store's URL on stdin (never the command line or
the environment: it may hold a password), brings the schema up to date and prints the
revision on stdout; on failure it prints one line saying why (wagw.history.store.store_error,
no statement, no password) on stderr and exits 1."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable

from wagw.errors import MigrationFailed
from wagw.exitcodes import ExitCode

POLL = 0.1  # how often a waiting writer looks at whether it is being stopped


def in_child(url: str, stopping: Callable[[], bool] = lambda: False) -> str | None:
    """Migrate the store at `url` in a child process; its revision, or None when `stopping`
    turned true first (the child is then stopped). Raises MigrationFailed."""
    child = subprocess.Popen(
        [sys.executable, "-m", "wagw.history.migrate", str(os.getpid())],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # named apart from the writer, as a native host is from its wa-worker (chaos/procs.py)
        env={**os.environ, "WAGW_PROCESS_NAME": os.environ.get("WAGW_PROCESS_NAME", "history") + "/migrate"},
    )
    given: str | None = url  # communicate writes it once; a retry goes on where it was
    while True:
        try:
            out, err = child.communicate(given, timeout=POLL)
            break
        except subprocess.TimeoutExpired:
            given = None
            if stopping():
                child.terminate()
                child.communicate()
                return None
    if child.returncode != 0:
        if stopping():  # stopped with the writer (the same signal): no failure to report
            return None
        lines = err.strip().splitlines()
        reason = lines[-1][:300] if lines else f"exit status {child.returncode}"
        raise MigrationFailed(f"migration failed: {reason}")
    return out.strip()


def main() -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from wagw.history.store import StoreMissing, migrate, open_url, store_error
    from wagw.procs import die_with_parent

    if len(sys.argv) > 1:  # a writer killed outright takes its migration with it
        die_with_parent(int(sys.argv[1]))
    url = sys.stdin.read()
    try:
        store = open_url(url)
        try:
            print(migrate(store))
        finally:
            store.close()
    except (SQLAlchemyError, OSError, StoreMissing) as error:
        print(store_error(error), file=sys.stderr)
        return ExitCode.FAILURE
    return ExitCode.OK


if __name__ == "__main__":
    raise SystemExit(main())
