"""The chaos run's counting rules (chaos/report.py), on hand-made records."""

from __future__ import annotations

from chaos import report
from chaos.report import Kill, RunRecord


def _receipt(endpoint, event_id, payload_id, status, at, attempt="1"):
    return {
        "endpoint": endpoint,
        "event_id": event_id,
        "header_event_id": event_id,
        "payload_id": payload_id,
        "event": "message",
        "status": status,
        "time": at,
        "accepted": at - 0.01,
        "attempt": attempt,
        "signature_ok": True,
        "problem": None,
    }


def _record(receipts, pushed, kills=(), jobs=(), crashes=()):
    return RunRecord(
        mode="test",
        started=0.0,
        ended=100.0,
        settings={},
        endpoints=["a"],
        pushed=pushed,
        uncertain=set(),
        redelivered=0,
        malformed_in=0,
        malformed_rejected=0,
        receipts=list(receipts),
        kills=list(kills),
        jobs=list(jobs),
        native_crashes=list(crashes),
        restarts={},
        supervisor={"pids": [1], "stop_exit_codes": [0]},
        peak_rss_kib={},
    )


def test_lost_duplicates_and_the_kill_window():
    pushed = {"P1": 1.0, "P2": 1.0, "P3": 1.0, "P4": 1.0}
    receipts = [
        _receipt("a", "E1", "P1", 503, 2.0),
        _receipt("a", "E1", "P1", 200, 3.0, "2"),  # retried: fine
        _receipt("a", "E2", "P2", 200, 2.0),
        _receipt("a", "E2", "P2", 200, 9.0, "2"),  # killed in between
        _receipt("a", "E3", "P3", 200, 2.0),
        _receipt("a", "E3", "P3", 200, 4.0, "2"),  # no kill: a real duplicate
    ]
    kills = [Kill("webhook-worker-1", 10, "SIGKILL", at=5.0)]
    figures = report.endpoint_figures(_record(receipts, pushed, kills), "a", webhook_kills=[5.0])
    assert figures["delivered"] == 3
    assert figures["lost"] == 1 and figures["lost_sample"] == ["P4"]
    assert figures["duplicates"] == 2
    assert figures["duplicates_in_kill_window"] == 1
    assert figures["duplicates_outside_kill_window"] == 1
    assert figures["delay_max_s"] == 2.0


def test_a_kill_just_before_the_first_answer_counts_as_in_flight():
    receipts = [_receipt("a", "E1", "P1", 200, 5.005), _receipt("a", "E1", "P1", 200, 9.0, "2")]
    figures = report.endpoint_figures(_record(receipts, {"P1": 1.0}), "a", webhook_kills=[5.0])
    assert figures["duplicates_in_kill_window"] == 1


def test_crash_jobs_must_end_with_their_panic_text():
    panic = "native host of slot 1 (pid 7) died of signal SIGABRT during fetch_avatar\npanic: runtime error"
    jobs = [
        {
            "id": "j1",
            "kind": "crash",
            "operation": "fetch_avatar",
            "enqueued": 1.0,
            "ended": 5.0,
            "status": "failed",
            "exc": panic,
            "retries_used": 2,
        },
        {
            "id": "j2",
            "kind": "crash",
            "operation": "send_text",
            "enqueued": 6.0,
            "ended": 8.0,
            "status": "failed",
            "exc": "RuntimeError: something else",
            "retries_used": 2,
        },
        {
            "id": "j3",
            "kind": "normal",
            "operation": "user_info",
            "enqueued": 1.0,
            "ended": 2.0,
            "status": "failed",
            "exc": "user_info quarantined after repeated native crashes …\npanic: x",
            "retries_used": 0,
        },
    ]
    crashes = [
        {
            "time": 3.0,
            "process": "wa-worker-1/host",
            "operation": "fetch_avatar",
            "exit": "signal SIGABRT",
            "panic": "panic: runtime error",
        },
        {
            "time": 20.0,
            "process": "wa-worker-2/host",
            "operation": "send_text",
            "exit": "signal SIGABRT",
            "panic": "panic: runtime error",
        },
    ]
    by_kind, each, problems = report.job_figures(_record([], {}, jobs=jobs, crashes=crashes), wa_kills=[])
    assert by_kind["crash"] == {"failed with its panic text": 1, "failed: RuntimeError: something else": 1}
    assert each[0]["job_id"] == "j1" and each[0]["job_end"] == "failed with its panic text"
    assert each[1]["job_id"] is None  # no crash job of send_text was running at t=20
    assert any("j2" in p for p in problems)
    # A quarantine of an operation the crash lane never made crash is a bug, not chaos.
    assert any("j3" in p for p in problems)


def _job(id, kind, operation, exc="", status="failed", retries=0, target="crash@s.whatsapp.net", ended=5.0):
    return {
        "id": id,
        "kind": kind,
        "operation": operation,
        "enqueued": 1.0,
        "ended": ended,
        "status": status,
        "exc": exc,
        "retries_used": retries,
        "target": target,
    }


PANIC = "HostCrashed: native host of slot 1 (pid 7) died of signal SIGABRT during send_text\npanic: runtime error"
UNKNOWN = "workers.wa.OutcomeUnknown: outcome unknown: send_text to crash@s.whatsapp.net …: " + PANIC
POISONED = "wagw.quarantine.PoisonedTarget: poisoned target: fetch_avatar on crash@s.whatsapp.net …\npanic: x"
QUARANTINED = "wagw.quarantine.Quarantined: fetch_avatar quarantined after repeated native crashes …\npanic: x"


def test_a_crashed_send_must_end_outcome_unknown_after_one_attempt():
    jobs = [
        _job("s1", "crash", "send_text", UNKNOWN),
        _job("s2", "crash", "send_text", POISONED.replace("fetch_avatar", "send_text")),
        _job("s3", "crash", "send_text", PANIC, retries=2),  # sent three times: the bug
        _job("f1", "crash", "fetch_avatar", POISONED, retries=2),
        _job("f2", "crash", "fetch_avatar", PANIC, retries=2),
    ]
    record = _record([], {}, jobs=jobs)
    by_kind, _, problems = report.job_figures(record, wa_kills=[])
    assert by_kind["crash"] == {
        "failed: outcome unknown, with panic text": 1,
        "failed: poisoned target, with panic text": 2,
        "failed with its panic text": 2,
    }
    assert [p.split()[2] for p in problems] == ["s3"]
    built = report.build(record)
    assert built["jobs"]["sends_repeated_after_unknown_outcome"] == 1
    failed = {t["target"]: t["ok"] for t in built["targets"]}
    assert failed["no send attempted again after an unknown outcome"] is False


def test_collateral_failures_are_counted_and_held_at_zero_while_crashes_come_from_one_target():
    jobs = [
        _job("c1", "crash", "fetch_avatar", POISONED, retries=2),
        _job("n1", "normal", "fetch_avatar", "", status="finished", target="15550100000@s.whatsapp.net"),
        _job("n2", "normal", "fetch_avatar", QUARANTINED, target="15550100001@s.whatsapp.net"),
        _job("x1", "fail", "fetch_avatar", POISONED, target="fail@s.whatsapp.net"),
    ]
    record = _record([], {}, jobs=jobs)
    _, _, problems = report.job_figures(record, wa_kills=[])
    assert sorted(p.split()[2] for p in problems) == ["n2", "x1"]
    built = report.build(record)
    assert built["jobs"]["collateral_failures"] == 2 and built["jobs"]["crash_targets"] == 1
    target = next(t for t in built["targets"] if t["target"].startswith("0 collateral failures"))
    assert target["ok"] is False and "crashes from 1 target(s), a quarantine needs 3" in target["detail"]
    assert "collateral failures (failed fast, not their crash)" in report.render(built)

    # Crashes from as many targets as a quarantine needs: quarantining the operation is right.
    spread = [_job(f"c{n}", "crash", "fetch_avatar", PANIC, target=f"crash@{s}") for n, s in enumerate(["lid", "g.us"])]
    record = _record([], {}, jobs=[*jobs[:3], *spread])
    _, _, problems = report.job_figures(record, wa_kills=[])
    assert problems == []
    assert next(t for t in report.build(record)["targets"] if t["target"].startswith("0 collateral"))["ok"]


def test_a_send_cut_by_a_worker_kill_ends_outcome_unknown_and_no_text_may_arrive_twice():
    reaped = "workers.wa.OutcomeUnknown: outcome unknown: send_text … the wa-worker running it (wa-worker-1) died …"
    jobs = [
        _job("k1", "normal", "send_text", reaped, target="15550200001@s.whatsapp.net"),
        _job("k2", "normal", "send_text", reaped, target="15550200002@s.whatsapp.net", ended=30.0),
        _job("k3", "fail", "send_text", reaped, target="fail@s.whatsapp.net"),
        _job("k4", "crash", "send_text", reaped),
    ]
    record = _record([], {}, jobs=jobs, kills=[Kill("wa-worker-1", 9, "SIGKILL", at=3.0)])
    _, _, problems = report.job_figures(record, wa_kills=[3.0])
    assert problems == []  # all killed during their run: the reaper's verdict is right
    late = _job("k5", "normal", "send_text", reaped, target="15550200005@s.whatsapp.net")
    late["enqueued"] = 4.0  # no kill while it ran: a bug
    lookup = _job("k6", "normal", "fetch_avatar", reaped, target="15550200006@s.whatsapp.net")  # never a send
    _, _, problems = report.job_figures(_record([], {}, jobs=[late, lookup]), wa_kills=[3.0])
    assert sorted(p.split()[2] for p in problems) == ["k5", "k6"]
    assert report.build(record)["jobs"]["sends_reaching_the_backend_twice"] == 0

    record.sends_total, record.sends_twice = 40, {"chaos job 17": 2}
    built = report.build(record)
    target = next(t for t in built["targets"] if t["target"].startswith("no send attempted again"))
    assert not target["ok"] and "1 of 40 sends reached the backend twice" in target["detail"]


def _media_receipt(payload_id, media, at=2.0, status=200):
    return {**_receipt("a", "E" + payload_id, payload_id, status, at), "media": media}


def test_media_bodies_are_counted_by_what_they_carried():
    pushed = {"M1": 1.0, "M2": 1.0, "M3": 1.0, "M4": 1.0}
    record = _record(
        [
            _media_receipt("M1", "path"),
            _media_receipt("M2", "download_error"),  # staged crash: as it must be
            _media_receipt("M3", "path"),  # staged expiry, yet a path: wrong
            _media_receipt("M4", "download_error", status=503),  # not a 2xx: not counted
            _media_receipt("M4", "malformed: neither path nor download_error", at=3.0),
        ],
        pushed,
    )
    record.media = {"M1": "ok", "M2": "crash", "M3": "expired", "M4": "ok"}
    figures = report.media_figures(record)
    assert figures["pushed"] == 4 and figures["staged"] == {"crash": 1, "expired": 1}
    assert figures["a"] == {"with_path": 2, "with_download_error": 1, "staged_with_download_error": 1}
    assert len(figures["problems"]) == 2
    assert "M3 (expired): path" in figures["problems"][0] and "M4 (ok): malformed" in figures["problems"][1]
    target = next(t for t in report.build(record)["targets"] if t["target"].startswith("media delivered"))
    assert not target["ok"]
    record.receipts = record.receipts[:2]
    record.media = {"M1": "ok", "M2": "crash"}
    target = next(t for t in report.build(record)["targets"] if t["target"].startswith("media delivered"))
    assert target["ok"], target


def test_a_download_media_crash_is_the_media_lanes_only_when_it_staged_one():
    crash = {
        "time": 5.0,
        "operation": "download_media",
        "process": "wa-worker-1",
        "exit": "SIGABRT",
        "panic": "panic: x",
    }
    record = _record([], {}, crashes=[crash])
    _kinds, crashes, problems = report.job_figures(record, [])
    assert problems and crashes[0]["job_end"].endswith("unattributed")
    record.media = {"M1": "crash"}
    _kinds, crashes, problems = report.job_figures(record, [])
    assert not problems and crashes[0]["job_end"] == "a media download staged to crash"


def test_the_receiver_reads_a_media_body():
    from chaos.receiver import media_outcome

    media = {"kind": "image", "direct_path": "/v/x"}
    assert media_outcome({"body": "hi"}) is None
    assert media_outcome({"media": media, "image": "/srv/media/a.jpg"}) == "path"
    assert media_outcome({"media": media, "image": {"path": "/srv/media/a.jpg", "caption": "c"}}) == "path"
    assert media_outcome({"media": media, "image": {"url": "https://x"}, "download_error": "410"}) == "download_error"
    assert media_outcome({"media": media, "image": {"url": "https://x"}}).startswith("malformed")
    assert media_outcome({"media": media, "image": "/p", "download_error": "x"}).startswith("malformed")
