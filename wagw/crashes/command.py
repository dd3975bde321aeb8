"""`wagw crashes [--json] [show SIG|postmortem SIG [--out DIR]]`: crash records by signature."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from redis.exceptions import RedisError

from wagw import crashes
from wagw.crashes import groups, postmortem
from wagw.exitcodes import ExitCode
from wagw.logs import escape_controls
from wagw.redisconn import connect

if TYPE_CHECKING:
    import argparse

    from redis import Redis

    from wagw.config import Settings

DEFAULT_OUT = Path("docs/postmortems")


def main(settings: Settings, args: argparse.Namespace) -> int:
    conn = connect(settings, socket_timeout=5)
    out = Path(args.out or DEFAULT_OUT)
    try:
        found = groups.group(crashes.load(conn))
        if args.action is None:
            return _list(found, args.json)
        if not args.signature:
            print(f"wagw crashes {args.action}: name a signature (see `wagw crashes`)")
            return ExitCode.USAGE
        chosen = groups.find(found, args.signature)
        if chosen is None:
            print(f"wagw crashes: no crashes of signature {escape_controls(args.signature)!r} are kept")
            return ExitCode.USAGE
        if args.action == "show":
            return _show(chosen, args.json)
        path = postmortem.write(chosen, state(conn, chosen), out)
    except RedisError as error:
        print(f"wagw crashes: Redis at {settings.redis_url_shown} is unreachable ({error})")
        return ExitCode.NOT_RUNNING
    except OSError as error:  # the folder: not one, not ours to write, full
        print(f"wagw crashes: cannot write the draft in {escape_controls(str(out))} ({error.strerror or error})")
        return ExitCode.FAILURE
    print(path)
    return ExitCode.OK


def _list(found: list[groups.Group], as_json: bool) -> int:
    summaries = [g.summary() for g in found]
    if as_json:
        print(json.dumps(summaries, indent=2))
        return ExitCode.OK
    if not summaries:
        print("no crashes recorded")
        return ExitCode.OK
    for s in summaries:
        print(
            f"{s['signature']}  {s['count']:>5}x  {s['first_seen']} .. {s['last_seen']}  "
            f"{escape_controls(', '.join(s['operations']) or ', '.join(s['processes']))}"
        )
        targets = ", ".join(s["targets"])
        if targets:
            print(f"    targets: {escape_controls(targets)} ({s['distinct_targets']} distinct)")
        print(f"    {escape_controls(s['panic'] or ', '.join(s['exits']))}")
    return ExitCode.OK


def _show(chosen: groups.Group, as_json: bool) -> int:
    detail = groups.detail(chosen)
    if as_json:
        print(json.dumps(detail, indent=2))
        return ExitCode.OK
    for name in ("signature", "count", "first_seen", "last_seen", "kind", "neonize", "whatsmeow"):
        print(f"{name}: {escape_controls(str(detail[name]))}")
    for name in ("operations", "targets", "accounts", "processes", "exits"):
        print(f"{name}: {escape_controls(', '.join(detail[name])) or '-'}")
    print("outcomes: " + escape_controls(", ".join(f"{k} {v}" for k, v in sorted(detail["outcomes"].items()))))
    print("top frames:")
    for frame in detail["stack"]:
        print(f"  {escape_controls(frame)}")
    print("last panic:")
    print(escape_controls(detail["last_panic"] or "(none)"))
    print("recent:")
    for r in detail["recent"]:
        fields = [r["time"], r["process"], r["operation"], r["target"], r["exit"], r["job_id"], r["outcome"]]
        print("  " + escape_controls("  ".join(str(f) if f is not None else "-" for f in fields)))
    return ExitCode.OK


def state(conn: Redis, chosen: groups.Group) -> postmortem.State:
    """What RQ and the quarantine records hold now for the signature's jobs and operations."""
    from rq.job import Job

    from wagw.quarantine import active_poisons, active_quarantines
    from wagw.redisconn import SERIALIZER

    ids = sorted({str(r["job_id"]) for r in chosen.records if r.get("job_id")})
    statuses: dict[str, str] = {}
    for job in Job.fetch_many(ids, connection=conn, serializer=SERIALIZER) if ids else []:
        if job is not None:
            status = job.get_status(refresh=False)
            statuses[job.id] = getattr(status, "value", str(status))
    operations = set(chosen.distinct("operation"))
    first, last = chosen.first["time"], chosen.last["time"]
    sessions = [
        r
        for r in crashes.load(conn, since=first)
        if r["time"] <= last and r.get("kind") == crashes.PROCESS and str(r.get("process", "")).endswith("session")
    ]
    return postmortem.State(
        job_status=statuses,
        poisons=[p for p in active_poisons(conn) if p.get("operation") in operations],
        quarantines=[q for q in active_quarantines(conn) if q.get("operation") in operations],
        session_crashes=sessions,
    )
