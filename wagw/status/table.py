"""The human view of `wagw status`: rich tables, in colour on a terminal."""

from __future__ import annotations

import time
from datetime import datetime

from rich.console import Console
from rich.markup import escape
from rich.table import Table

STATE_STYLE = {
    "running": "green",
    "starting": "yellow",
    "backoff": "yellow",
    "stopping": "yellow",
    "stopped": "dim",
    "fatal": "bold red",
}


def _ago(ts: float) -> str:
    seconds = max(0, int(time.time() - ts))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def _cut(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def _on(daemon: dict) -> str:
    return f" on {daemon['host']}" if daemon.get("host") else ""


def render(report: dict, console: Console | None = None) -> None:
    console = console or Console()
    sup = report["supervisor"]
    if sup:
        started = datetime.fromtimestamp(sup["started_at"]).strftime("%Y-%m-%d %H:%M:%S")
        console.print(
            f"[bold]wagw {sup['version']}[/] supervisor pid {sup['pid']}{_on(sup)}, {sup['state']} since {started}"
        )
    elif report.get("standalone"):
        console.print(
            "no `wagw run` supervisor: its components run on their own (supervisord's supervisor.conf, or by hand)"
        )
    else:
        console.print("[bold red]supervisor not running[/] (no heartbeat in Redis)")
    for other in report.get("supervisors", [])[1:]:  # daemons of other hosts sharing this Redis
        console.print(
            f"also supervisor pid {other['pid']}{_on(other)} running accounts {', '.join(other.get('accounts') or [])}"
        )
    if len(report.get("accounts", [])) > 1:
        console.print(f"accounts: {', '.join(report['accounts'])}")

    # Several hosts on one Redis: each process's host, as its daemon published it.
    hosts = len({d.get("host") for d in report.get("supervisors", [])}) > 1
    processes = Table(title="processes", title_justify="left")
    for column in ("name", *(["host"] if hosts else []), "pid", "state", "restarts", "last exit"):
        processes.add_column(column)
    for proc in report["processes"]:
        style = STATE_STYLE.get(proc["state"], "")
        exit_text = proc.get("last_exit_reason") or "-"
        if proc.get("fatal_reason"):
            exit_text += f" ({proc['fatal_reason']})"
        processes.add_row(
            proc["name"],
            *([proc.get("host") or "-"] if hosts else []),
            str(proc["pid"] or "-"),
            f"[{style}]{proc['state']}[/]",
            str(proc["restarts"]),
            exit_text,
        )
    if report["processes"]:
        console.print(processes)
    if report.get("standalone"):
        table = Table(title="rq workers running on their own", title_justify="left")
        for column in ("name", "host", "pid", "queues"):
            table.add_column(column)
        for worker in report["standalone"]:
            table.add_row(
                escape(worker["name"]),
                worker.get("host") or "-",
                str(worker.get("pid") or "-"),
                ", ".join(worker["queues"]),
            )
        console.print(table)

    devices = Table(title="devices", title_justify="left")
    for column in ("role", "paired", "connected", "jid", "note"):
        devices.add_column(column)
    for dev in report["devices"]:
        devices.add_row(
            dev["role"],
            "[green]yes[/]" if dev["paired"] else "[red]no[/]",
            "[green]yes[/]" if dev["connected"] else "[yellow]no[/]",
            dev.get("jid") or "-",
            dev.get("hint") or dev.get("state", ""),
        )
    console.print(devices)

    queues = Table(title="queues", title_justify="left")
    for column in ("queue", "queued", "started", "scheduled", "failed"):
        queues.add_column(column)
    for name, counts in report["queues"].items():
        failed = counts["failed"]
        queues.add_row(
            name,
            str(counts["queued"]),
            str(counts["started"]),
            str(counts["scheduled"]),
            f"[red]{failed}[/]" if failed else "0",
        )
    console.print(queues)
    for item in report.get("unserved_queues") or []:
        console.print(
            f"[bold red]queue {escape(item['queue'])}: {item['waiting']} job(s) waiting, and no live wa-worker "
            "listens to it[/] (an account no running wagw serves: `wagw accounts list`; or its wa-workers are down)"
        )

    mem = report.get("redis_memory") or {}
    if mem.get("max_bytes"):
        line = (
            f"Redis memory: {mem['used_bytes'] / 2**20:.0f} MiB of {mem['max_bytes'] / 2**20:.0f} MiB "
            f"({mem['ratio']:.0%})"
        )
        if "headroom_bytes" in mem:
            line += (
                f"; headroom {mem['headroom_bytes'] / 2**20:.1f} MiB, about {mem['headroom_events']:,} inbound "
                f"events; reserve {mem['reserve_bytes'] / 2**20:.1f} MiB"
            )
        if mem["warn"] or mem.get("below_reserve"):
            line = (
                f"[bold red]{line}: at the ceiling Redis refuses new events and jobs; replay or delete "
                "failed jobs, or raise WAGW_REDIS_MAX_MEMORY_MB[/]"
            )
        console.print(line)

    history = report.get("history")
    if history is not None:
        lag = history.get("lag_seconds")
        line = f"history store: {history.get('store')}, " + ("not caught up yet" if lag is None else f"lag {lag:.1f}s")
        if history.get("error"):
            line = f"[bold red]{line}; not writable: {escape(history['error'])} (webhooks are not affected)[/]"
        console.print(line)
        for gap in history.get("gaps") or ():
            console.print(f"[red]history gap: {gap['stream']} from {gap['from']} to {gap['to']} not stored[/]")

    if report["quarantines"]:
        table = Table(title="quarantined operations", title_justify="left", style="red")
        for column in ("operation", "until", "crashes", "last panic"):
            table.add_column(column)
        for q in report["quarantines"]:
            until = datetime.fromtimestamp(q["until"]).strftime("%H:%M:%S") if q.get("until") else "-"
            table.add_row(q.get("operation", "?"), until, str(q.get("crashes", "")), (q.get("panic") or "")[:120])
        console.print(table)

    if report.get("poisoned_targets"):
        table = Table(
            title="poisoned targets (their jobs of that operation fail fast; other targets carry on)",
            title_justify="left",
            style="red",
        )
        for column in ("operation", "target", "until", "crashes", "last panic"):
            table.add_column(column)
        for p in report["poisoned_targets"]:
            until = datetime.fromtimestamp(p["until"]).strftime("%H:%M:%S") if p.get("until") else "-"
            table.add_row(
                p.get("operation", "?"),
                f"{p.get('target', '?')} ({p.get('target_id', '?')})",
                until,
                str(p.get("crashes", "")),
                (p.get("panic") or "")[:100],
            )
        console.print(table)

    if report.get("reach_out_holds"):
        table = Table(
            title="reach-out holds (WhatsApp's error 463: first messages to new chats wait; replies go on; "
            "`wagw accounts release NAME` lifts one)",
            title_justify="left",
            style="yellow",
        )
        for column in ("account", "until", "since", "why"):
            table.add_column(column)
        for held in report["reach_out_holds"]:
            table.add_row(
                escape(str(held.get("account", "?"))),
                datetime.fromtimestamp(held["until"]).strftime("%Y-%m-%d %H:%M:%S"),
                _ago(held["since"]) if held.get("since") else "-",
                escape(_cut(str(held.get("reason") or ""), 100)),
            )
        console.print(table)

    waiting = {
        account: reasons
        for account, reasons in (report.get("sends_waiting") or {}).items()
        if any(entry["count"] for entry in reasons.values())
    }
    if waiting:
        table = Table(
            title="sends waiting off the queue, holding no worker (docs/jobs.md: sending order and pacing)",
            title_justify="left",
        )
        for column in ("account", "reason", "sends", "first clears"):
            table.add_column(column)
        for account, reasons in waiting.items():
            for reason, entry in reasons.items():
                if entry["count"]:
                    clears = entry.get("next")
                    shown = datetime.fromtimestamp(clears).strftime("%H:%M:%S") if clears else "-"
                    if reason == "turn" and clears:
                        shown = f"with the send before it, or {shown}"
                    table.add_row(escape(account), reason, str(entry["count"]), shown)
        console.print(table)

    failed = report.get("failed_deliveries") or {}
    if failed.get("count"):
        table = Table(
            title=f"failed deliveries ({failed['count']}; `wagw webhooks replay --all` requeues them)",
            title_justify="left",
            style="red",
        )
        for column in ("job", "event", "endpoint", "attempts", "last status"):
            table.add_column(column)
        for item in failed["recent"]:
            table.add_row(
                item.get("job_id", "?"),
                item.get("event_id") or "-",
                item.get("endpoint") or "-",
                str(item.get("attempts", "")),
                str(item.get("last_status") or item.get("last_error") or ""),
            )
        console.print(table)

    dead = report.get("dead_letter") or {}
    if dead.get("count"):
        per_queue = ", ".join(f"{name} {count}" for name, count in dead["queues"].items())
        table = Table(
            title=f"dead-lettered ids: on a queue, not readable as jobs ({per_queue}; in wagw:deadletter:<queue>)",
            title_justify="left",
            style="red",
        )
        for column in ("when", "queue", "id", "why"):
            table.add_column(column)
        for item in dead["recent"]:
            table.add_row(
                _ago(item.get("at", 0)),
                escape(str(item.get("queue", "?"))),
                escape(_cut(str(item.get("id", "?")), 60)),
                escape(str(item.get("why") or item.get("reason") or "")),
            )
        console.print(table)

    if report["crashes"]:
        table = Table(title="recent crashes", title_justify="left")
        for column in ("when", "process", "operation", "target", "exit", "panic"):
            table.add_column(column)
        for crash in report["crashes"]:
            table.add_row(
                _ago(crash.get("time", 0)),
                crash.get("process", "?"),
                crash.get("operation") or "-",
                crash.get("target") or "-",
                str(crash.get("exit", "")),
                (crash.get("panic") or "")[:100],
            )
        console.print(table)
