"""A throwaway PostgreSQL server from the distribution's binaries, on a unix socket in a temp
folder (no TCP), for the history store's tests; `None` with the reason where it cannot start
(no binaries: .ci/run installs them on CI)."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PORT = 5432  # names the socket file only: nothing listens on TCP


@dataclass
class Postgres:
    folder: Path
    proc: subprocess.Popen

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://wagw@/{database}?host={self.folder}&port={PORT}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def start() -> tuple[Postgres | None, str]:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        return None, "no PostgreSQL server binaries (/usr/lib/postgresql/*/bin; apt-get install postgresql)"
    bindir = Path(found[-1]).parent
    folder = Path(tempfile.mkdtemp(prefix="wagw-pg-", dir="/tmp"))
    prefix: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root: run it as the distribution's postgres user
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            return None, "running as root and there is no postgres user to run the server as"
        os.chown(folder, user.pw_uid, user.pw_gid)
        prefix = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups"]
    data = folder / "data"
    init = subprocess.run(
        [*prefix, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "wagw", "--no-sync"],
        capture_output=True,
        text=True,
    )
    if init.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        return None, f"initdb failed: {init.stderr.strip()[-300:]}"
    proc = subprocess.Popen(
        [
            *prefix,
            str(bindir / "postgres"),
            "-D",
            str(data),
            "-k",
            str(folder),
            "-p",
            str(PORT),
            "-c",
            "listen_addresses=",
            "-c",
            "fsync=off",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    server = Postgres(folder, proc)
    deadline = time.monotonic() + 60
    import psycopg

    while True:
        try:
            psycopg.connect(server.url(), connect_timeout=2).close()
            return server, ""
        except psycopg.OperationalError as error:
            if proc.poll() is not None or time.monotonic() > deadline:
                server.stop()
                return None, f"postgres did not start: {error}"
            time.sleep(0.1)
