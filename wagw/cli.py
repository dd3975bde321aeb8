"""The `wagw` command line. Each command builds Settings once, configures logging, and
hands both to the module that implements it."""

from __future__ import annotations

import argparse
import functools
import importlib
import os
from typing import TYPE_CHECKING

from loguru import logger

from wagw import __version__
from wagw.exitcodes import ExitCode
from wagw.procs import die_with_parent

if TYPE_CHECKING:
    from wagw.config import Settings

PRIVATE_UMASK = 0o077

# command -> (implementing "module:function", default process name)
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("wagw.supervisor:main", "supervisor"),
    "status": ("wagw.status:main", "status"),
    "session": ("wagw.session.process:main", "session"),
    "wa-worker": ("workers.wa.worker:main", "wa-worker"),
    "webhook-worker": ("workers.webhooks.worker:main", "webhook-worker"),
    "scheduler": ("wagw.scheduler.process:main", "scheduler"),
    "dashboard": ("wagw.dashboard:main", "dashboard"),
    "metrics": ("wagw.exporter:main", "metrics"),
    "pair": ("wagw.whatsapp.pairing:main", "pair"),
    "webhooks replay": ("wagw.webhooks.replay:main", "replay"),
    "events tail": ("wagw.session.tail:main", "events"),
    "events replay": ("wagw.webhooks.backfill:main", "replay"),
    "doctor": ("wagw.doctor:main", "doctor"),
    "accounts": ("wagw.supervisor.reconcile:main", "accounts"),
    "history-writer": ("wagw.history.writer:main", "history"),
    "history chats": ("wagw.history.command:main", "history"),
    "history messages": ("wagw.history.command:main", "history"),
    "history search": ("wagw.history.command:main", "history"),
    "api": ("wagw.api.process:main", "api"),
    "crashes": ("wagw.crashes.command:main", "crashes"),
}
# Commands that run with invalid settings: they get None and args.settings_error.
SETTINGS_OPTIONAL = frozenset({"doctor"})
# Commands that never read a job: rq (~3.5 MB) stays out of them, and with it its guards.
WITHOUT_RQ = frozenset({"run"})


@functools.cache
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wagw", description="Supervised WhatsApp gateway daemon.")
    parser.add_argument("--version", action="version", version=f"wagw {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run everything under the supervisor, in the foreground")
    run.add_argument("--accounts", metavar="A,B", help="run only these accounts here (several hosts sharing one Redis)")

    status = sub.add_parser("status", help="processes, devices, queues, recent crashes")
    status.add_argument("--json", action="store_true", help="print one JSON object")
    _account_option(status, "show only this account's processes, devices and queue")

    session = sub.add_parser("session", help="run the WhatsApp session (inbound) alone")
    _account_option(session)

    wa = sub.add_parser("wa-worker", help="run one wa job worker slot alone")
    wa.add_argument("--slot", type=int, required=True, help="worker slot (its own linked device)")
    _account_option(wa)

    sub.add_parser("webhook-worker", help="run one webhook delivery worker alone")
    sub.add_parser("scheduler", help="run the RQ scheduler (scheduled retries) alone")

    dashboard = sub.add_parser("dashboard", help="rq-dashboard with the JSON serializer and auth")
    dashboard.add_argument("--addr", help="host:port to bind (default: WAGW_DASHBOARD_ADDR or 127.0.0.1:9181)")
    dashboard.add_argument(
        "--show-login", action="store_true", help="print the dashboard's user and password, then exit"
    )

    metrics = sub.add_parser("metrics", help="serve Prometheus /metrics alone (supervisord setups)")
    metrics.add_argument("--addr", help="host:port to bind (default: WAGW_METRICS_ADDR or 127.0.0.1:9182)")

    api = sub.add_parser("api", help="serve the HTTP API and MCP alone")
    api.add_argument("--addr", help="host:port to bind (default: WAGW_API_ADDR or 127.0.0.1:3000)")

    pair = sub.add_parser("pair", help="link a device by QR code or pairing code")
    _account_option(pair)
    pair.add_argument("--role", default="session", help="session, worker-N or all (default: session)")
    pair.add_argument("--phone", help="+NUMBER: get an 8-character pairing code instead of a QR code")
    pair.add_argument("--force", action="store_true", help="pair again a role that is already paired")
    pair.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for the phone (default 180)")
    pair.add_argument(
        "--ask", action="store_true", help="ask on the terminal first: QR code, phone number, or skip (wagw run does)"
    )
    pair.add_argument(
        "--publish", metavar="ID", help="pair for the HTTP API: codes and the outcome go to Redis (wagw run does)"
    )
    pair.add_argument("--logout", action="store_true", help="log the role(s) out of WhatsApp instead of pairing")

    webhooks = sub.add_parser("webhooks", help="webhook deliveries")
    webhooks_sub = webhooks.add_subparsers(dest="subcommand", required=True, metavar="SUBCOMMAND")
    replay = webhooks_sub.add_parser("replay", help="requeue failed deliveries")
    replay.add_argument("job_ids", nargs="*", metavar="JOB_ID")
    replay.add_argument("--all", action="store_true", help="requeue every failed delivery")

    events = sub.add_parser("events", help="the event log")
    events_sub = events.add_subparsers(dest="subcommand", required=True, metavar="SUBCOMMAND")
    tail = events_sub.add_parser("tail", help="follow the event log")
    tail.add_argument("-n", "--lines", type=int, default=10, help="show the last N events first (default 10)")
    tail.add_argument("--no-follow", action="store_true", help="print and exit")
    _account_option(tail, "only this account's events")
    backfill = events_sub.add_parser("replay", help="deliver stored events again to one configured endpoint")
    backfill.add_argument("--since", required=True, metavar="T", help="from this time on (ISO 8601, UTC)")
    backfill.add_argument("--until", metavar="T", help="up to (not including) this time (ISO 8601, UTC)")
    backfill.add_argument("--to", required=True, metavar="ENDPOINT", help="a configured endpoint: its id or its URL")
    backfill.add_argument("--force", action="store_true", help="also events replayed to that endpoint before")
    _account_option(backfill, "the endpoint's account (when its URL serves several)")

    accounts = sub.add_parser("accounts", help="list, add or remove accounts (a running wagw follows)")
    accounts.add_argument("action", nargs="?", choices=("list", "add", "remove", "token", "release"), default="list")
    accounts.add_argument("name", nargs="?", help="the account to add, remove, make an API token for, or release")
    accounts.add_argument("--json", action="store_true", help="list as JSON")

    crashes = sub.add_parser("crashes", help="crash records grouped by signature; show one; draft its postmortem")
    crashes.add_argument("action", nargs="?", choices=("show", "postmortem"), help="show SIG, or postmortem SIG")
    crashes.add_argument("signature", nargs="?", metavar="SIG", help="a signature (or its unique start)")
    crashes.add_argument("--json", action="store_true", help="print JSON")
    crashes.add_argument("--out", metavar="DIR", help="postmortem: the folder to write to (default ./docs/postmortems)")

    sub.add_parser("history-writer", help="run the history writer (the `history` process) alone")
    history = sub.add_parser("history", help="read the history store: chats, a chat's messages, a search")
    history_sub = history.add_subparsers(dest="subcommand", required=True, metavar="SUBCOMMAND")
    for name, what, argument in (
        ("chats", "chats, the most recently active first", None),
        ("messages", "a chat's messages, oldest first (the newest page unless --before)", "chat"),
        ("search", "messages whose text holds TEXT, newest first", "text"),
    ):
        reader = history_sub.add_parser(name, help=what)
        if argument:
            reader.add_argument(argument, metavar=argument.upper())
        reader.add_argument("--limit", type=int, default=50, help="rows per page (default 50, at most 1000)")
        reader.add_argument("--before", metavar="CURSOR", help="the page before this cursor (printed under a page)")
        reader.add_argument("--json", action="store_true", help="one JSON object: rows and next_cursor")
        _account_option(reader, "only this account's")

    doctor = sub.add_parser("doctor", help="preflight: what is missing or wrong, one line each with the fix")
    doctor.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def _account_option(parser: argparse.ArgumentParser, what: str = "the account (with several accounts)") -> None:
    parser.add_argument("--account", metavar="NAME", help=what)


def _process_name(command: str, args: argparse.Namespace, settings: Settings | None, default: str) -> str:
    """A per-account process is named after its account when there are several."""
    if settings is None or command not in ("session", "wa-worker"):
        return default
    from wagw import accounts

    try:
        account = accounts.find(settings, args.account)
    except ValueError:
        return default  # the command itself says what is wrong
    return account.session_process if command == "session" else account.wa_worker_process(args.slot)


def main(argv: list[str] | None = None) -> int:
    # Everything wagw writes (device keys, Redis's files, QR codes, media) is for its own user
    # only, whatever umask it was started with; children and redis-server inherit this.
    os.umask(PRIVATE_UMASK)
    args = build_parser().parse_args(argv)
    command = args.command + (f" {args.subcommand}" if getattr(args, "subcommand", None) else "")
    target, default_name = COMMANDS[command]
    parent = os.environ.get("WAGW_PARENT_PID")
    if parent:  # a child of the supervisor must not outlive it
        die_with_parent(int(parent))

    from wagw.config import Settings, load_settings, try_settings
    from wagw.logs import configure_logging

    settings: Settings | None
    if command in SETTINGS_OPTIONAL:
        settings, args.settings_error = try_settings()
    elif command == "run" and args.accounts is not None:
        settings = load_settings(run_accounts=args.accounts)
    else:
        settings = load_settings()
    name = os.environ.get("WAGW_PROCESS_NAME") or _process_name(command, args, settings, default_name)
    configure_logging(settings or Settings.model_construct(), name)
    if settings is not None and "WAGW_PARENT_PID" not in os.environ and command not in SETTINGS_OPTIONAL:
        for warning in settings.redis_warnings():  # once per daemon, not once per child
            logger.warning(warning)
    if command not in WITHOUT_RQ:
        from wagw import rqcompat

        # Nothing a job names runs here; the wa and webhook workers widen this to their own jobs.
        rqcompat.confine_jobs(frozenset())
        rqcompat.cap_job_data((settings or Settings.model_construct()).job_data_cap)  # before rq reads a job
    module_name, _, function = target.partition(":")
    try:
        module = importlib.import_module(module_name)
        return int(getattr(module, function)(settings, args) or ExitCode.OK)
    except KeyboardInterrupt:
        return ExitCode.OK
    except Exception:
        # One record with the traceback, so the supervisor's stream keeps it together.
        logger.exception("{} failed", command)
        return ExitCode.FAILURE


if __name__ == "__main__":
    raise SystemExit(main())
