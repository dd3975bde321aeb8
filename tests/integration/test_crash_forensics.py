"""Crash forensics with real Go panics: a wa-worker's native host runs the real neonize library,
and the fake backend's `crash` user part makes it panic. `wagw crashes` then groups the records
by signature, and `wagw crashes postmortem` drafts the incident's shape from the records alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import metadata

from rq import Retry
from rq.job import JobStatus

from tests.integration.wa_worker_harness import ALICE, CRASH, wait_done
from wagw import crashes, keys


def wagw(*args: str) -> subprocess.CompletedProcess:
    """`wagw crashes …` as an operator runs it."""
    command = [sys.executable, "-m", "wagw", "crashes", *args]
    return subprocess.run(command, env=dict(os.environ), capture_output=True, text=True, timeout=60)


def wagw_here(capsys, *args: str) -> tuple[int, str]:
    """The same command's code in this process (quicker than a new interpreter): exit code, output."""
    from wagw.cli import build_parser
    from wagw.config import Settings
    from wagw.crashes import command

    code = command.main(Settings(_env_file=None), build_parser().parse_args(["crashes", *args]))
    return code, capsys.readouterr().out


def test_real_go_panics_group_into_one_signature_and_draft_a_poisoned_target_postmortem(
    start_worker, wa_queue, redis_conn, tmp_path, capsys
):
    start_worker(WAGW_POISON_CRASHES="3", WAGW_QUARANTINE_CRASHES="10", WAGW_QUARANTINE_WINDOW="120")
    retried = wa_queue.enqueue("workers.wa.fetch_avatar", jid=CRASH, retry=Retry(max=1, interval=0))
    assert wait_done(retried, 40) == JobStatus.FAILED  # crashed, retried, crashed: failed
    single = wa_queue.enqueue("workers.wa.fetch_avatar", jid=CRASH, meta={"wagw_defaults": False})
    assert wait_done(single, 40) == JobStatus.FAILED  # the third crash poisons the target
    blocked = wa_queue.enqueue("workers.wa.fetch_avatar", jid=CRASH)
    assert wait_done(blocked) == JobStatus.FAILED and "PoisonedTarget" in blocked.latest_result().exc_string
    fine = wa_queue.enqueue("workers.wa.fetch_avatar", jid=ALICE)
    assert wait_done(fine) == JobStatus.FINISHED

    records = crashes.load(redis_conn)
    assert [(r["job_id"], r["outcome"]) for r in records] == [
        (retried.id, "retried"),
        (retried.id, "failed"),
        (single.id, "poisoned"),
    ]
    record = records[0]
    assert set(record) == set(crashes.FIELDS) and record["kind"] == "native" and record["account"] == "default"
    assert record["target"] == CRASH and record["signal"] == "SIGABRT" and record["process"] == "wa-worker-1/host"
    assert record["panic"].startswith("panic: runtime error") and record["stack"][0].startswith("main.")
    assert record["neonize"] == metadata.version("neonize") and record["whatsmeow"].startswith("v0.0.0-")
    assert redis_conn.llen(keys.CRASHES) == 3  # `wagw status`'s recent crashes, same records

    code, listed = wagw_here(capsys, "--json")
    assert code == 0, listed
    [group] = json.loads(listed)
    assert group["count"] == 3 and group["operations"] == ["fetch_avatar"] and group["targets"] == [CRASH]
    assert group["outcomes"] == {"retried": 1, "failed": 1, "poisoned": 1}
    assert group["first_seen"] <= group["last_seen"] and group["signature"] == record["signature"]

    code, shown = wagw_here(capsys, "show", group["signature"][:8])
    assert code == 0 and f"signature: {group['signature']}" in shown
    assert "panic: runtime error" in shown and retried.id in shown

    drafted = wagw("postmortem", group["signature"], "--out", str(tmp_path / "pm"))
    assert drafted.returncode == 0, drafted.stderr
    path = tmp_path / "pm" / drafted.stdout.strip().rpartition("/")[2]
    assert drafted.stdout.strip() == str(path) and path.name.endswith("-fetch-avatar-poisoned-target.md")
    draft = path.read_text()
    assert "one target's data crashes the WhatsApp library: fetch_avatar on crash@s.whatsapp.net" in draft
    assert "(a poisoned target)" in draft and "Poisoned target now: fetch_avatar on crash@s.whatsapp.net" in draft
    assert "1 retried, 1 failed, 1 poisoned their target" in draft
    assert "Those jobs in RQ now: 2 failed, 0 finished." in draft and "Sessions untouched" in draft
    assert "panic: runtime error: invalid memory address" in draft

    code, unknown = wagw_here(capsys, "show", "ffffffffffff")
    assert code != 0 and "no crashes of signature" in unknown
