"""Figures of a chaos run from what it recorded, the targets they must meet, and the table.

Pure functions over plain data (RunRecord), so the counting can be read and tested apart
from the processes that produced it.
"""

from __future__ import annotations

import itertools
import statistics
from dataclasses import asdict, dataclass, field

from wagw.exitcodes import ExitCode
from wagw.operations import SENDS

PANIC_MARKERS = ("panic:", "fatal error:")
QUARANTINE_TEXT = "quarantined after repeated native crashes"
POISON_TEXT = "poisoned target: "
UNKNOWN_TEXT = "outcome unknown: "
QUARANTINE_TARGETS_DEFAULT = 3  # wagw.config's WAGW_QUARANTINE_TARGETS, when a run does not set it
FAIL_FAST = ("failed: quarantined, with panic text", "failed: poisoned target, with panic text")
ABANDONED_TEXT = "AbandonedJobError"
IN_FLIGHT_SLACK = 1.0  # seconds a request may have been on its way before its handler started


@dataclass
class Kill:
    name: str  # process name in the supervisor's table
    pid: int
    how: str  # "SIGKILL" | "go panic"
    at: float  # unix time of the kill (or of pushing the panic request)
    died: float | None = None  # when the pid was last seen alive
    respawned: float | None = None  # first sighting of the replacement process
    running: float | None = None  # first status snapshot showing the replacement running
    connected: float | None = None  # replacement's device first reported connected (session, wa-workers)
    replacement_pid: int | None = None


@dataclass
class RunRecord:
    mode: str
    started: float
    ended: float
    settings: dict
    endpoints: list[str]
    pushed: dict[str, float]  # payload id -> push time
    uncertain: set[str]
    redelivered: int
    malformed_in: int
    malformed_rejected: int
    receipts: list[dict]  # chaos.receiver.Receipt as dicts
    kills: list[Kill]
    jobs: list[dict]  # chaos.load.TrackedJob as dicts
    native_crashes: list[dict]  # wagw:crashes entries naming an operation
    restarts: dict[str, int]  # summed over the supervisors of the run
    supervisor: dict  # pids, stop exit codes, unexpected exit
    peak_rss_kib: dict[str, int]
    rss_samples: list[tuple[float, str, int]] = field(default_factory=list)
    webhook_failed: int = 0  # deliveries left in RQ's failed registry
    webhook_failed_by_endpoint: dict = field(default_factory=dict)
    drained: bool = True
    redis_stalls: list = field(default_factory=list)  # (when, seconds) a status read took > 0.25 s
    receiver_modes: list = field(default_factory=list)  # (when, mode) the receiver switched
    receiver_incomplete: int = 0  # requests cut mid-body by a killed sender: dropped unanswered
    sends_total: int = 0  # the load's send_text calls the fake backend got
    sends_twice: dict = field(default_factory=dict)  # text -> times, for the texts it got more than once
    notes: list[str] = field(default_factory=list)
    # Media messages pushed (WAGW_MEDIA_AUTO_DOWNLOAD): payload id -> "ok" or the download staged
    # for it ("crash": a real Go panic on every attempt, "expired").
    media: dict = field(default_factory=dict)


def _is_2xx(receipt: dict) -> bool:
    return 200 <= receipt["status"] < 300


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def endpoint_figures(record: RunRecord, endpoint: str, webhook_kills: list[float]) -> dict:
    receipts = [r for r in record.receipts if r["endpoint"] == endpoint]
    answers: dict[str, int] = {}
    for r in receipts:
        answers[str(r["status"])] = answers.get(str(r["status"]), 0) + 1
    oks: dict[str, list[dict]] = {}  # event id -> its 2xx receipts
    first_ok: dict[str, float] = {}  # payload id -> first 2xx
    for r in sorted(receipts, key=lambda r: r["time"]):
        if not _is_2xx(r):
            continue
        oks.setdefault(r["event_id"], []).append(r)
        if r["payload_id"] is not None:
            first_ok.setdefault(r["payload_id"], r["time"])
    duplicates = in_window = 0
    duplicate_samples, answered_before_kill = [], []
    for event_id, repeated in oks.items():
        for earlier, later in itertools.pairwise(repeated):
            duplicates += 1
            # The kill window: from the moment the first request was in flight (it may have
            # been sent just before the kill and read by the receiver just after) to the 2xx
            # of the repeat.
            kills = [k for k in webhook_kills if earlier["accepted"] - IN_FLIGHT_SLACK <= k <= later["time"]]
            if kills:
                in_window += 1
                answered_before_kill.append(max(0.0, min(kills) - earlier["time"]))
            elif len(duplicate_samples) < 10:
                duplicate_samples.append(
                    {
                        "event_id": event_id,
                        "answers": [[round(a["accepted"], 3), round(a["time"], 3), a["attempt"]] for a in repeated],
                    }
                )
    # Attempts the worker counted without sending a request (circuit open): the receiver
    # sees attempt numbers skip.
    attempts: dict[str, list[int]] = {}
    for r in receipts:
        if r.get("attempt") and str(r["attempt"]).isdigit():
            attempts.setdefault(r["event_id"], []).append(int(r["attempt"]))
    unsent = [max(a) - len(set(a)) for a in attempts.values()]
    expected = set(record.pushed)
    delivered = expected & set(first_ok)
    lost = sorted(expected - delivered - record.uncertain)
    delays = [first_ok[p] - record.pushed[p] for p in delivered]
    unexpected = sorted(set(first_ok) - expected - record.uncertain)
    # Carried across the SIGTERM + restart: pushed before the stop, first delivered after it.
    stop_at = record.supervisor.get("stop_sent_at")
    restarted_at = record.supervisor.get("restarted_at")
    across = None
    if stop_at and restarted_at:
        before = [p for p, t in record.pushed.items() if t < stop_at]
        across = {
            "undelivered_at_stop": sum(1 for p in before if first_ok.get(p, float("inf")) >= stop_at),
            "delivered_after_restart": sum(1 for p in before if restarted_at <= first_ok.get(p, 0)),
        }
    return {
        "across_restart": across,
        "delivered": len(delivered),
        "lost": len(lost),
        "lost_sample": lost[:10],
        # Of the lost: deliveries that ran out of tries, kept by RQ (`wagw webhooks replay`).
        "lost_failed_out": record.webhook_failed_by_endpoint.get(endpoint),
        "duplicates": duplicates,
        "duplicates_in_kill_window": in_window,
        "duplicates_outside_kill_window": duplicates - in_window,
        "duplicate_sample": duplicate_samples,
        # For duplicates inside the window: how long before the kill the first 2xx came.
        "kill_window_answer_age_max_s": _round(max(answered_before_kill) if answered_before_kill else None, 3),
        "unexpected_payload_ids": len(unexpected),
        "requests": len(receipts),
        "highest_attempt": max((max(a) for a in attempts.values()), default=None),
        "attempts_without_request_max": max(unsent, default=None),
        "events_with_attempts_without_request": sum(1 for u in unsent if u),
        "answers": dict(sorted(answers.items())),
        "bad_signatures": sum(1 for r in receipts if not r["signature_ok"]),
        "event_id_header_mismatches": sum(1 for r in receipts if r["header_event_id"] != r["event_id"]),
        "signature_problems": [
            {
                k: r.get(k)
                for k in (
                    "problem",
                    "event_id",
                    "header_event_id",
                    "attempt",
                    "user_agent",
                    "peer",
                    "body_head",
                    "time",
                )
            }
            for r in receipts
            if r.get("problem")
        ][:5],
        "delay_max_s": _round(max(delays) if delays else None),
        "delay_p50_s": _round(_percentile(delays, 0.5), 3),
        "delay_p99_s": _round(_percentile(delays, 0.99)),
    }


def job_outcome(job: dict) -> str:
    """How a job ended, in words the targets are stated in."""
    exc = job.get("exc") or ""
    status = job["status"]
    if status == "finished":
        return "succeeded after retry" if job.get("retries_used") else "succeeded"
    if status != "failed":
        return f"not finished ({status})"
    if UNKNOWN_TEXT in exc:
        return (
            "failed: outcome unknown, with panic text" if _has_panic(exc) else "failed: outcome unknown, no panic text"
        )
    if POISON_TEXT in exc:
        return (
            "failed: poisoned target, with panic text" if _has_panic(exc) else "failed: poisoned target, no panic text"
        )
    if QUARANTINE_TEXT in exc:
        return "failed: quarantined, with panic text" if _has_panic(exc) else "failed: quarantined, no panic text"
    if _has_panic(exc):
        return "failed with its panic text"
    if ABANDONED_TEXT in exc:
        return "failed: abandoned (worker killed)"
    if "did not finish within the job timeout" in exc or "JobTimeoutException" in exc:
        return "failed: timeout"
    if "invalid arguments" in exc.lower():
        return "failed: invalid arguments"
    if "simulated failure" in exc:
        return "failed: backend error"
    last = next((line for line in reversed(exc.strip().splitlines()) if line.strip()), "")
    return f"failed: {last[:120]}"


def _has_panic(text: str) -> bool:
    return any(marker in text for marker in PANIC_MARKERS)


def _killed_during(job: dict, wa_kills: list[float]) -> bool:
    end = job.get("ended") or float("inf")
    return any(job["enqueued"] <= k <= end for k in wa_kills)


def crash_targets(record: RunRecord) -> int:
    """Distinct targets the crash lane's jobs were about."""
    return len({j.get("target") for j in record.jobs if j["kind"] == "crash"})


def quarantine_targets(record: RunRecord) -> int:
    return int(record.settings.get("WAGW_QUARANTINE_TARGETS", QUARANTINE_TARGETS_DEFAULT))


def job_figures(record: RunRecord, wa_kills: list[float]) -> tuple[dict, list[dict], list[str]]:
    """(jobs by kind and outcome, native crashes with their job's end, problems)."""
    by_kind: dict[str, dict[str, int]] = {}
    problems: list[str] = []
    # A job that failed fast without its own target ever crashing is collateral. The crash
    # lane's jobs all name one target, so only its target may be poisoned, and no operation
    # may be quarantined unless its crashes came from WAGW_QUARANTINE_TARGETS targets.
    crashing_ops = {j["operation"] for j in record.jobs if j["kind"] == "crash"}
    quarantine_possible = crash_targets(record) >= quarantine_targets(record)
    for job in record.jobs:
        outcome = job_outcome(job)
        counts = by_kind.setdefault(job["kind"], {})
        counts[outcome] = counts.get(outcome, 0) + 1
        kind, ok = job["kind"], True
        if outcome.startswith("not finished"):
            ok = False
        elif outcome == "failed: outcome unknown, no panic text":
            # The reaper's verdict on a send whose wa-worker we SIGKILLed mid-call, whatever its kind.
            ok = job["operation"] in SENDS and _killed_during(job, wa_kills)
        elif kind != "crash" and outcome == "failed: quarantined, with panic text":
            ok = quarantine_possible and job["operation"] in crashing_ops
        elif kind != "crash" and outcome.startswith("failed: poisoned target"):
            ok = False  # its target never crashed
        elif kind == "crash" and job["operation"] in SENDS:
            # A send that crashed in the call is never sent again: one attempt, outcome unknown.
            ok = (
                outcome in ("failed: outcome unknown, with panic text", *FAIL_FAST) and not job.get("retries_used")
            ) or (outcome == "failed: abandoned (worker killed)" and _killed_during(job, wa_kills))
        elif kind == "crash":
            ok = outcome in (
                "succeeded",
                "succeeded after retry",
                "failed with its panic text",
                *FAIL_FAST,
            ) or (outcome == "failed: abandoned (worker killed)" and _killed_during(job, wa_kills))
        elif kind == "normal":
            ok = outcome.startswith("succeeded") or (
                outcome == "failed: abandoned (worker killed)" and _killed_during(job, wa_kills)
            )
        elif kind == "malformed":
            ok = outcome == "failed: invalid arguments" and not job.get("retries_used")
        elif kind == "fail":
            ok = outcome == "failed: backend error"
        elif kind == "hang":
            ok = outcome in ("failed: timeout", "failed: abandoned (worker killed)")
        if outcome.startswith("not finished") and job.get("where"):
            outcome += f", in {job['where']}"
        if not ok and len(problems) < 20:
            problems.append(
                f"{kind} job {job['id']} ({job['operation']}): {outcome}"
                f"{' after ' + str(job.get('retries_used')) + ' retries' if job.get('retries_used') else ''}"
            )
    crash_jobs = sorted((j for j in record.jobs if j["kind"] == "crash"), key=lambda j: j["enqueued"])
    crashes = []
    for crash in record.native_crashes:
        owner = next(
            (
                j
                for j in crash_jobs
                if j["operation"] == crash["operation"]
                and j["enqueued"] - 1 <= crash["time"] <= (j.get("ended") or float("inf")) + 1
            ),
            None,
        )
        staged = owner is None and crash["operation"] == "download_media" and "crash" in record.media.values()
        panic = crash.get("panic") or ""
        crashes.append(
            {
                "time": round(crash["time"], 3),
                "process": crash.get("process"),
                "operation": crash["operation"],
                "exit": crash.get("exit"),
                "panic": next((line for line in panic.splitlines() if "panic" in line), panic[:120]),
                "job_id": owner["id"] if owner else None,
                "job_end": job_outcome(owner)
                if owner
                else "a media download staged to crash"
                if staged
                else "no crash job was running: unattributed",
            }
        )
        if owner is None and not staged and len(problems) < 20:
            problems.append(f"native crash of {crash['operation']} at {crash['time']:.3f} outside any crash job")
    return by_kind, crashes, problems


def media_figures(record: RunRecord) -> dict:
    """Per endpoint, how the media messages' first 2xx bodies carried their download: the
    path, or the URL with download_error; a staged crash or expiry must never have a path,
    and every body must have exactly one of the two."""
    figures: dict = {"pushed": len(record.media), "staged": _count(v for v in record.media.values() if v != "ok")}
    problems: list[str] = []
    for endpoint in record.endpoints:
        seen: dict[str, str] = {}
        for r in sorted(record.receipts, key=lambda r: r["time"]):
            if r["endpoint"] == endpoint and _is_2xx(r) and r["payload_id"] in record.media:
                seen.setdefault(r["payload_id"], r.get("media") or "malformed: not a media body")
        figures[endpoint] = {
            "with_path": sum(1 for v in seen.values() if v == "path"),
            "with_download_error": sum(1 for v in seen.values() if v == "download_error"),
            "staged_with_download_error": sum(
                1 for p, v in seen.items() if v == "download_error" and record.media[p] != "ok"
            ),
        }
        for payload_id, outcome in seen.items():
            wrong = outcome.startswith("malformed") or (record.media[payload_id] != "ok" and outcome == "path")
            if wrong and len(problems) < 10:
                problems.append(f"{endpoint}: {payload_id} ({record.media[payload_id]}): {outcome}")
    figures["problems"] = problems
    return figures


def collateral_failures(record: RunRecord) -> int:
    """Jobs that failed fast on a quarantine or poison target they did not cause: every job
    but the crash lane's (normal, `fail`, `hang` jobs never name the crash target)."""
    return sum(1 for j in record.jobs if j["kind"] != "crash" and job_outcome(j) in FAIL_FAST)


def sends_repeated(record: RunRecord) -> int:
    """Crash-lane sends attempted again after a crash: each a message possibly sent twice."""
    return sum(1 for j in record.jobs if j["kind"] == "crash" and j["operation"] in SENDS and j.get("retries_used"))


def kill_figures(kills: list[Kill]) -> tuple[list[dict], dict]:
    rows = []
    for k in kills:
        died = k.died if k.died is not None else k.at
        rows.append(
            {
                "name": k.name,
                "pid": k.pid,
                "how": k.how,
                "at": round(k.at, 3),
                "replacement_pid": k.replacement_pid,
                "respawn_s": _round(k.respawned - died if k.respawned else None, 3),
                "connected_s": _round(k.connected - died if k.connected else None, 3),
                "running_s": _round(k.running - died if k.running else None, 3),
            }
        )
    longest: dict = {"kills": len(rows), "unresolved": sum(1 for r in rows if r["running_s"] is None)}
    for figure in ("respawn_s", "connected_s", "running_s"):
        measured = [r for r in rows if r[figure] is not None]
        if measured:
            worst = max(measured, key=lambda r: r[figure])
            longest[figure] = {"seconds": worst[figure], "name": worst["name"], "how": worst["how"]}
    return rows, longest


def rss_growth(samples: list[tuple[float, str, int]], window: float) -> dict[str, dict]:
    """Per process name: mean RSS over the first and last `window` seconds of sampling."""
    if not samples:
        return {}
    first, last = min(s[0] for s in samples), max(s[0] for s in samples)
    growth = {}
    for name in sorted({s[1] for s in samples}):
        mine = [s for s in samples if s[1] == name]
        start = [s[2] for s in mine if s[0] <= first + window]
        end = [s[2] for s in mine if s[0] >= last - window]
        if start and end:
            a, b = statistics.mean(start), statistics.mean(end)
            growth[name] = {
                "start_kib": round(a),
                "end_kib": round(b),
                "growth_kib": round(b - a),
                "growth_pct": round(100 * (b - a) / a, 1) if a else None,
            }
    return growth


def build(record: RunRecord, soak_window: float | None = None) -> dict:
    webhook_kills = [k.at for k in record.kills if k.name.startswith("webhook-worker")]
    wa_kills = [k.at for k in record.kills if k.name.startswith("wa-worker")]
    endpoints = {e: endpoint_figures(record, e, webhook_kills) for e in record.endpoints}
    by_kind, crashes, job_problems = job_figures(record, wa_kills)
    kill_rows, longest = kill_figures(record.kills)
    crash_ends: dict[str, int] = {}
    for c in crashes:
        crash_ends[c["job_end"]] = crash_ends.get(c["job_end"], 0) + 1
    sup = record.supervisor
    collateral = collateral_failures(record)
    lane_targets = crash_targets(record)
    repeated = sends_repeated(record)
    media = media_figures(record)
    targets = [
        _target(
            "0 lost",
            all(e["lost"] == 0 for e in endpoints.values()),
            "; ".join(f"{n}: {e['lost']} lost" for n, e in endpoints.items()),
        ),
        _target(
            "0 duplicates outside the kill window",
            all(e["duplicates_outside_kill_window"] == 0 for e in endpoints.values()),
            "; ".join(
                f"{n}: {e['duplicates_outside_kill_window']} outside, {e['duplicates_in_kill_window']} inside"
                for n, e in endpoints.items()
            ),
        ),
        _target(
            "every crashed job retried and succeeded, or failed with its panic text (a send: once, outcome unknown)",
            not any(
                (p.startswith("crash job") and "not finished" not in p) or "outside any crash job" in p
                for p in job_problems
            )
            and any(j["kind"] == "crash" for j in record.jobs),
            f"{len(crashes)} native crashes; job ends: {crash_ends}",
        ),
        _target(
            "the supervisor never exited",
            not sup.get("unexpected_exit") and all(code == 0 for code in sup.get("stop_exit_codes", [])),
            f"supervisor pids {sup.get('pids')}, exit codes on SIGTERM {sup.get('stop_exit_codes')}"
            + (f"; unexpected: {sup['unexpected_exit']}" if sup.get("unexpected_exit") else ""),
        ),
        _target(
            "every signature valid, X-Wagw-Event-Id = body id",
            all(e["bad_signatures"] == 0 and e["event_id_header_mismatches"] == 0 for e in endpoints.values()),
            f"{sum(e['bad_signatures'] for e in endpoints.values())} bad signatures, "
            f"{sum(e['event_id_header_mismatches'] for e in endpoints.values())} id mismatches",
        ),
        _target("every wa job ended as its kind must", not job_problems, "; ".join(job_problems[:5]) or "ok"),
        _target(
            "0 collateral failures while crashes come from fewer targets than a quarantine needs",
            collateral == 0 or lane_targets >= quarantine_targets(record),
            f"{collateral} jobs failed fast on a quarantine or poison target they did not cause; "
            f"crashes from {lane_targets} target(s), a quarantine needs {quarantine_targets(record)}",
        ),
        _target(
            "no send attempted again after an unknown outcome",
            repeated == 0 and not record.sends_twice,
            f"{repeated} crash-lane sends retried after a crash; {len(record.sends_twice)} of "
            f"{record.sends_total} sends reached the backend twice",
        ),
        _target(
            "every killed process came back",
            not longest.get("unresolved"),
            f"{longest.get('kills')} kills, {longest.get('unresolved')} replacements never seen running",
        ),
        _target(
            "media delivered with their path or download_error (staged crash/expiry: download_error)",
            not media["problems"] and (not record.media or all(media[e]["with_path"] for e in record.endpoints)),
            "; ".join(
                f"{e}: {media[e]['with_path']} with path, {media[e]['with_download_error']} with download_error "
                f"({media[e]['staged_with_download_error']} staged)"
                for e in record.endpoints
            )
            + (f"; {'; '.join(media['problems'][:3])}" if media["problems"] else ""),
        ),
        _target(
            "malformed inbound rejected",
            record.malformed_rejected == record.malformed_in,
            f"{record.malformed_rejected}/{record.malformed_in} rejected",
        ),
    ]
    report = {
        "mode": record.mode,
        "started": record.started,
        "duration_s": round(record.ended - record.started, 1),
        "settings": record.settings,
        "events": {
            "in": len(record.pushed),
            "redelivered_in": record.redelivered,
            "malformed_in": record.malformed_in,
            "malformed_rejected": record.malformed_rejected,
            "uncertain_pushes": len(record.uncertain),
            "webhook_deliveries_failed": record.webhook_failed,
            "requests_cut_mid_body": record.receiver_incomplete,
            "endpoints": endpoints,
            "media": media,
        },
        "delivery_delay_max_s": max((e["delay_max_s"] or 0 for e in endpoints.values()), default=None),
        "jobs": {
            "by_kind": by_kind,
            "total": len(record.jobs),
            "problems": job_problems,
            "collateral_failures": collateral,
            "crash_targets": lane_targets,
            "sends_repeated_after_unknown_outcome": repeated,
            "sends_reaching_the_backend": record.sends_total,
            "sends_reaching_the_backend_twice": len(record.sends_twice),
            "sends_twice_sample": sorted(record.sends_twice)[:10],
        },
        "native_crashes": {"count": len(crashes), "by_job_end": crash_ends, "each": crashes},
        "processes": {
            "restarts": record.restarts,
            "kills": kill_rows,
            "kills_by_process": _count(k.name + " (" + k.how + ")" for k in record.kills),
            "longest_down": longest,
            "peak_rss_kib": dict(sorted(record.peak_rss_kib.items())),
        },
        "supervisor": sup,
        "redis_stalls": {
            "count": len(record.redis_stalls),
            "longest_s": max((s[1] for s in record.redis_stalls), default=None),
            "each": record.redis_stalls[:50],
        },
        "targets": targets,
        "drained": record.drained,
        "ok": all(t["ok"] for t in targets),
        "notes": record.notes,
    }
    if soak_window:
        report["processes"]["rss_growth"] = rss_growth(record.rss_samples, soak_window)
    return report


def _target(name: str, ok: bool, detail: str) -> dict:
    return {"target": name, "ok": bool(ok), "detail": detail}


def _count(items) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return dict(sorted(counts.items()))


def record_to_json(record: RunRecord) -> dict:
    data = asdict(record)
    data["uncertain"] = sorted(record.uncertain)
    return data


def record_from_json(data: dict) -> RunRecord:
    data = dict(data)
    data["uncertain"] = set(data["uncertain"])
    data["kills"] = [Kill(**k) for k in data["kills"]]
    data["rss_samples"] = [tuple(s) for s in data["rss_samples"]]
    return RunRecord(**data)


# The table ------------------------------------------------------------------------------
def render(report: dict) -> str:
    lines: list[str] = []
    add = lines.append
    ev = report["events"]
    add(f"wagw chaos run ({report['mode']}), {report['duration_s']} s")
    add("")
    add(f"{'events in':<44}{ev['in']:>10}")
    add(f"{'  + redeliveries of earlier events':<44}{ev['redelivered_in']:>10}")
    add(f"{'  + malformed (rejected)':<44}{ev['malformed_in']:>6} ({ev['malformed_rejected']})")
    add(f"{'deliveries left failed in RQ':<44}{ev['webhook_deliveries_failed']:>10}")
    add(f"{'requests cut mid-body (sender killed)':<44}{ev.get('requests_cut_mid_body', 0):>10}")
    if ev.get("media", {}).get("pushed"):
        staged = ", ".join(f"{k} {v}" for k, v in ev["media"]["staged"].items())
        add(f"{'media messages among them (auto-download)':<44}{ev['media']['pushed']:>10}  (staged: {staged or '-'})")
    add("")
    names = list(ev["endpoints"])
    add(f"{'per endpoint':<44}" + "".join(f"{n:>14}" for n in names))
    for key, label in [
        ("delivered", "delivered"),
        ("lost", "lost"),
        ("lost_failed_out", "  of which failed out (replayable)"),
        ("duplicates_outside_kill_window", "duplicated (outside kill window)"),
        ("duplicates_in_kill_window", "duplicated (inside kill window)"),
        ("requests", "requests received"),
        ("bad_signatures", "bad signatures"),
        ("highest_attempt", "highest X-Wagw-Attempt"),
        ("attempts_without_request_max", "most attempts counted, never sent"),
        ("events_with_attempts_without_request", "events with such attempts"),
        ("delay_p50_s", "delivery delay p50 (s)"),
        ("delay_p99_s", "delivery delay p99 (s)"),
        ("delay_max_s", "delivery delay max (s)"),
    ]:
        add(f"{'  ' + label:<44}" + "".join(f"{ev['endpoints'][n][key]!s:>14}" for n in names))
    if all(ev["endpoints"][n]["across_restart"] for n in names):
        add(
            f"{'  undelivered at the SIGTERM':<44}"
            + "".join(f"{ev['endpoints'][n]['across_restart']['undelivered_at_stop']:>14}" for n in names)
        )
        add(
            f"{'    of which delivered after the restart':<44}"
            + "".join(f"{ev['endpoints'][n]['across_restart']['delivered_after_restart']:>14}" for n in names)
        )
    if ev.get("media", {}).get("pushed"):
        for key, label in [
            ("with_path", "media delivered with the local path"),
            ("with_download_error", "media delivered with download_error"),
        ]:
            add(f"{'  ' + label:<44}" + "".join(f"{ev['media'][n][key]!s:>14}" for n in names))
    add(
        f"{'  answers':<44}"
        + "  ".join(",".join(f"{s}:{c}" for s, c in ev["endpoints"][n]["answers"].items()) for n in names)
    )
    add("")
    add("wa jobs by final status")
    for kind, outcomes in sorted(report["jobs"]["by_kind"].items()):
        for outcome, count in sorted(outcomes.items()):
            add(f"  {kind:<12}{outcome:<48}{count:>6}")
    jobs = report["jobs"]
    if "collateral_failures" in jobs:
        for key, label in (
            ("collateral_failures", "collateral failures (failed fast, not their crash)"),
            ("crash_targets", "distinct targets of the crash lane"),
            ("sends_repeated_after_unknown_outcome", "crash-lane sends attempted again after a crash"),
            ("sends_reaching_the_backend", "normal sends that reached the backend"),
            ("sends_reaching_the_backend_twice", "  of which twice (a customer would get them twice)"),
        ):
            add(f"  {label:<60}{jobs.get(key, '-')!s:>6}")
    nc = report["native_crashes"]
    add("")
    add(f"native crashes (real Go panics in wa jobs): {nc['count']}")
    for end, count in sorted(nc["by_job_end"].items()):
        add(f"  job ended: {end:<52}{count:>6}")
    for crash in nc["each"][:8]:
        job_id = (crash["job_id"] or "-")[:12]
        add(f"    {crash['operation']:<14}{crash['exit'] or '':<16}{job_id:<14}{crash['job_end']}")
    if nc["count"] > 8:
        add(f"    … {nc['count'] - 8} more in the JSON")
    procs = report["processes"]
    add("")
    add(f"{'process':<22}{'restarts':>9}{'killed':>8}{'peak RSS MiB':>14}")
    killed = _count(k["name"] for k in procs["kills"])
    for name in sorted(set(procs["restarts"]) | set(procs["peak_rss_kib"])):
        rss = procs["peak_rss_kib"].get(name)
        add(
            f"{name:<22}{procs['restarts'].get(name, ''):>9}{killed.get(name, ''):>8}"
            f"{(f'{rss / 1024:.1f}' if rss else ''):>14}"
        )
    longest = procs["longest_down"]
    for figure, label in (
        ("respawn_s", "kill -> replacement process started"),
        ("connected_s", "kill -> replacement's device connected"),
        ("running_s", "kill -> supervisor shows it running"),
    ):
        worst = longest.get(figure)
        if worst:
            add(f"longest down, {label + ':':<42}{worst['seconds']:>7} s ({worst['name']}, {worst['how']})")
    if longest.get("unresolved"):
        add(f"kills whose replacement was never seen running: {longest['unresolved']}")
    add(f"largest delivery delay (push -> first 2xx): {report['delivery_delay_max_s']} s")
    stalls = report["redis_stalls"]
    if stalls["count"]:
        add(f"status reads slower than 0.25 s: {stalls['count']}, longest {stalls['longest_s']} s")
    if "rss_growth" in procs:
        add("")
        add(f"{'memory growth':<22}{'start MiB':>11}{'end MiB':>10}{'growth':>9}")
        for name, g in procs["rss_growth"].items():
            add(f"{name:<22}{g['start_kib'] / 1024:>11.1f}{g['end_kib'] / 1024:>10.1f}{str(g['growth_pct']) + '%':>9}")
    add("")
    for t in report["targets"]:
        add(f"[{'PASS' if t['ok'] else 'FAIL'}] {t['target']}: {t['detail']}")
    for note in report["notes"]:
        add(f"note: {note}")
    add("")
    add("RESULT: " + ("all targets met" if report["ok"] else "TARGETS MISSED"))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Rebuild the report from a run's raw record: `python -m chaos.report RAW.json`."""
    import argparse
    import json

    parser = argparse.ArgumentParser(prog="python -m chaos.report", description=main.__doc__)
    parser.add_argument("raw", help="the file written by `python -m chaos.run --raw-out`")
    parser.add_argument("--soak-window", type=float, help="seconds averaged for memory growth")
    args = parser.parse_args(argv)
    with open(args.raw) as handle:
        report = build(record_from_json(json.load(handle)), args.soak_window)
    print(render(report))
    return ExitCode.OK if report["ok"] else ExitCode.FAILURE


if __name__ == "__main__":
    raise SystemExit(main())
