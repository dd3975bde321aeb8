"""`wagw crashes postmortem SIG`: a first draft of a postmortem from the crash records alone.

The draft follows docs/postmortems/TEMPLATE.md (same sections, in order) and fills what the
records and Redis know: the timeline, the impact (jobs retried, failed, poisoned; whether any
session crashed meanwhile), the panic, and what isolation did. A person finishes it: the
root cause, what went well or badly, the action items.

Everything taken from a record is shown as data: control characters escaped, table cells
kept on one line, the panic in a fence longer than any run of backticks in it, and the file
name built only from the date and a slug of `[a-z0-9-]`, so no record can steer the path
outside the chosen folder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from wagw import __version__
from wagw.crashes import FAILED, NATIVE, OUTCOME_UNKNOWN, POISONED, QUARANTINED, RETRIED
from wagw.crashes.groups import Group, iso
from wagw.logs import escape_controls

SECTIONS = (
    "Summary",
    "Timeline (UTC)",
    "Impact",
    "What happened inside wagw",
    "Root cause",
    "What went well",
    "What went badly",
    "Where we got lucky",
    "Action items",
)
TIMELINE_ROWS = 30
TO_FINISH = "_To finish: {}_"


@dataclass
class State:
    """What Redis says now about the jobs and targets of a signature (read by the command)."""

    job_status: dict[str, str] = field(default_factory=dict)  # job id -> RQ status
    poisons: list[dict] = field(default_factory=list)  # active poison records of its operations
    quarantines: list[dict] = field(default_factory=list)
    session_crashes: list[dict] = field(default_factory=list)  # session records between first and last


def cell(value: object) -> str:
    """A value from a record, safe in a Markdown table cell."""
    text = escape_controls(str(value if value is not None else "-"))
    return " ".join(text.split()).replace("|", "\\|").replace("`", "'")[:300] or "-"


def fenced(text: str) -> str:
    text = escape_controls(text)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def slug_word(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.rpartition("/")[2].lower()).strip("-")[:40] or "crash"


def shape(found: Group) -> tuple[str, str]:
    """What kind of incident the records show: (one line, slug)."""
    last = found.last
    operation = cell(last.get("operation") or "")
    if last.get("kind") != NATIVE or not last.get("operation"):
        process = cell(last.get("process"))
        return f"{process} exits unexpectedly ({cell(last.get('exit'))})", f"{slug_word(process)}-exits"
    targets = found.target_ids()
    outcomes = found.outcomes()
    word = slug_word(operation)
    if len(targets) == 1:
        target = cell(found.distinct("target")[0] if found.distinct("target") else targets[0])
        poisoned = " (a poisoned target)" if POISONED in outcomes else ""
        return (
            f"one target's data crashes the WhatsApp library: {operation} on {target}{poisoned}",
            f"{word}-poisoned-target",
        )
    if len(targets) > 1:
        quarantined = ", and the operation was quarantined" if QUARANTINED in outcomes else ""
        return (
            f"{operation} crashes the WhatsApp library on {len(targets)} targets{quarantined}",
            f"{word}-crashes-on-many-targets",
        )
    return f"{operation} crashes the WhatsApp library", f"{word}-crashes"


def render(found: Group, state: State, now: float) -> str:
    summary = found.summary()
    what, _slug = shape(found)
    outcomes = found.outcomes()
    jobs = sorted({r["job_id"] for r in found.records if r.get("job_id")})
    final = {status: sum(1 for j in jobs if state.job_status.get(j) == status) for status in ("failed", "finished")}
    first, last = summary["first_seen"], summary["last_seen"]
    lines = [
        f"# {first[:10]}: {what}",
        "",
        f"Drafted by `wagw crashes postmortem {found.signature}` on {iso(now)} from {summary['count']} crash "
        "records. Facts below come from the records and Redis; every section marked _To finish_ needs a person.",
        "",
        "| | |",
        "|---|---|",
        "| status | draft |",
        f"| severity | {cell(_severity(found, final))} |",
        f"| detected | crash records (signature `{found.signature}`), first {first} |",
        f"| duration | {first} to {last} (crashes; impact may have lasted longer) |",
        f"| wagw version / neonize version | wagw {__version__} / neonize {cell(summary['neonize'])}, "
        f"whatsmeow {cell(summary['whatsmeow'])} |",
        "",
        "## Summary",
        "",
        f"{what[0].upper()}{what[1:]}. {summary['count']} crashes between {first} and {last} "
        f"({_outcome_words(outcomes)}). The panic: `{cell(summary['panic']) or 'none recorded'}`. "
        + TO_FINISH.format("the trigger and the fix."),
        "",
        "## Timeline (UTC)",
        "",
        "| time | what happened | source (log line, alert, commit) |",
        "|---|---|---|",
        *_timeline(found),
        "",
        "## Impact",
        "",
        *_impact(found, state, jobs, final),
        "",
        "## What happened inside wagw",
        "",
        *_inside(found, state),
        "",
        "The panic (newest record, as the host wrote it):",
        "",
        fenced(found.last.get("panic") or "(no panic text: the process died without one)"),
        "",
        "Top frames: " + (", ".join(f"`{cell(f)}`" for f in summary["stack"]) or "none recorded") + ".",
        "",
        "## Root cause",
        "",
        TO_FINISH.format("why the library crashed, and why on these targets."),
        "",
        "## What went well",
        "",
        TO_FINISH.format("what held."),
        "",
        "## What went badly",
        "",
        TO_FINISH.format("what did not."),
        "",
        "## Where we got lucky",
        "",
        TO_FINISH.format("what could have been worse."),
        "",
        "## Action items",
        "",
        "| action | kind (prevent / detect / mitigate) | owner | issue | test that proves it |",
        "|---|---|---|---|---|",
        "| | | | | |",
        "",
        "Each action item that changes behaviour names the test that fails without it.",
        "",
    ]
    return "\n".join(lines)


def _severity(found: Group, final: dict[str, int]) -> str:
    if found.last.get("kind") != NATIVE:
        return f"{found.last.get('process')} restarted {len(found.records)} times"
    return f"{final['failed']} jobs failed; sessions untouched unless the Impact section says otherwise"


def _outcome_words(outcomes: dict[str, int]) -> str:
    return ", ".join(f"{count} {cell(name.replace('_', ' '))}" for name, count in sorted(outcomes.items()))


def _timeline(found: Group) -> list[str]:
    rows = []
    shown = found.records if len(found.records) <= TIMELINE_ROWS else found.records[-TIMELINE_ROWS:]
    if len(shown) < len(found.records):
        first_id = cell(found.first.get("id"))
        rows.append(f"| {iso(found.first['time'])} | first crash of this signature | crash record `{first_id}` |")
        rows.append(f"| … | {len(found.records) - len(shown)} more crashes | `wagw crashes show {found.signature}` |")
    for record in shown:
        about = f" during {cell(record.get('operation'))}" if record.get("operation") else ""
        on = f" on {cell(record.get('target'))}" if record.get("target") else ""
        job = f" (job {cell(record.get('job_id'))})" if record.get("job_id") else ""
        outcome = cell(str(record.get("outcome") or "unrecorded").replace("_", " "))
        rows.append(
            f"| {iso(record['time'])} | {cell(record.get('process'))} died of {cell(record.get('exit'))}"
            f"{about}{on}{job}: {outcome} | crash record `{cell(record.get('id'))}` |"
        )
    return rows


def _impact(found: Group, state: State, jobs: list[str], final: dict[str, int]) -> list[str]:
    outcomes = found.outcomes()
    lines = [
        f"- Crashes: {len(found.records)}; jobs involved: {len(jobs)}.",
        f"- After the crashes: {outcomes.get(RETRIED, 0)} retried, {outcomes.get(FAILED, 0)} failed, "
        f"{outcomes.get(POISONED, 0)} poisoned their target, {outcomes.get(QUARANTINED, 0)} quarantined the operation, "
        f"{outcomes.get(OUTCOME_UNKNOWN, 0)} sends failed with their outcome unknown.",
    ]
    if jobs:
        unknown = len(jobs) - sum(final.values())
        lines.append(
            f"- Those jobs in RQ now: {final['failed']} failed, {final['finished']} finished"
            + (f", {unknown} no longer in Redis or still pending" if unknown else "")
            + "."
        )
    if state.session_crashes:
        lines.append(
            f"- Sessions: {len(state.session_crashes)} session crashes were recorded meanwhile "
            f"({', '.join(sorted({cell(r.get('process')) for r in state.session_crashes}))}): check whether inbound "
            "events were delayed."
        )
    else:
        lines.append(
            "- Sessions untouched: no session process crashed between the first and the last crash; "
            "inbound events and webhooks did not depend on the processes that died."
        )
    targets = found.distinct("target")
    if targets:
        lines.append(f"- Targets (masked): {', '.join(cell(t) for t in targets[:10])}.")
    lines.append(TO_FINISH.format("what users and downstream apps saw."))
    return lines


def _inside(found: Group, state: State) -> list[str]:
    if found.last.get("kind") != NATIVE:
        return [
            f"The supervisor saw {cell(found.last.get('process'))} end ({cell(found.last.get('exit'))}) "
            f"{len(found.records)} times and {'restarted it' if found.last.get('outcome') != 'fatal' else 'gave up'} "
            "(see `journalctl -u wagw`)."
        ]
    lines = [
        f"Each crash killed only the native host of {', '.join(cell(p) for p in found.distinct('process'))}: "
        "its wa-worker saw the pipe close, reaped the host, failed the attempt with `HostCrashed` carrying the "
        "panic, and started a fresh host for the next job. The session and the webhook workers are other "
        "processes and kept running.",
    ]
    if state.poisons:
        for poison in state.poisons:
            lines.append(
                f"- Poisoned target now: {cell(poison.get('operation'))} on {cell(poison.get('target'))} until "
                f"{iso(float(poison.get('until') or 0))}: its jobs fail fast without reaching a host."
            )
    elif POISONED in found.outcomes():
        lines.append("- The target was poisoned (its jobs failed fast without reaching a host); that has lifted.")
    if state.quarantines:
        for held in state.quarantines:
            lines.append(
                f"- Quarantined now: {cell(held.get('operation'))} until {iso(float(held.get('until') or 0))}."
            )
    elif QUARANTINED in found.outcomes():
        lines.append("- The operation was quarantined (every job of it failed fast); that has lifted.")
    return lines


def write(found: Group, state: State, out: Path, now: float | None = None) -> Path:
    """Write the draft beneath `out` (made if missing) and return its path; never overwrites."""
    now = datetime.now(UTC).timestamp() if now is None else now
    _, slug = shape(found)
    date = iso(found.first["time"])[:10]
    folder = out.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    text = render(found, state, now)
    for attempt in range(1, 100):
        name = f"{date}-{slug}.md" if attempt == 1 else f"{date}-{slug}-{attempt}.md"
        path = folder / name
        if path.parent != folder:  # cannot happen with [a-z0-9-] names; kept as the rule
            raise ValueError(f"refusing to write outside {folder}")
        try:
            with open(path, "x", encoding="utf-8") as draft:
                draft.write(text)
        except FileExistsError:
            continue
        return path
    raise FileExistsError(f"{folder / f'{date}-{slug}.md'} and 98 more exist")
