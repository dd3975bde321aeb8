"""Crash records against whoever can write to Redis, and against a host's stderr: a record
keeps its target masked, `wagw crashes` prints panic text and record fields escaped, and a
postmortem draft lands in --out whatever a record holds."""

from __future__ import annotations

import argparse
import json
import re

from wagw import crashes, keys, quarantine
from wagw.crashes import command

ALICE = "15551234567@s.whatsapp.net"
NASTY = "panic: boom \x1b[2J\x1b]0;owned\x07 \u202egnp.exe\n\ngoroutine 1 [running]:\nmain.X(0x1)\n\t/x.go:1 +0x1\n"


def run(settings, capsys, *argv: str, out=None) -> tuple[int, str]:
    args = argparse.Namespace(action=argv[0] if argv else None, signature=argv[1] if len(argv) > 1 else None)
    args.json, args.out = False, str(out) if out else None
    code = command.main(settings, args)
    return code, capsys.readouterr().out


def test_a_native_crash_record_keeps_the_target_masked(redis_conn, settings):
    quarantine.record_crash(
        redis_conn, settings, "fetch_avatar", target=quarantine.Target.of(ALICE), process="p", exit="x", panic=NASTY
    )
    raw = b"".join(redis_conn.zrange(keys.CRASH_LOG, 0, -1)) + b"".join(redis_conn.lrange(keys.CRASHES, 0, -1))
    assert b"15551234567" not in raw and b"4567@s.whatsapp.net" in raw


def test_panic_text_and_forged_fields_are_printed_escaped(redis_conn, settings, capsys):
    quarantine.record_crash(redis_conn, settings, "fetch_avatar", process="p", exit="signal SIGABRT", panic=NASTY)
    forged = crashes.shape(crashes.Crash(kind="native", process="\x1b[31mwa\x1b[0m", exit="x", operation="op\x07"))
    redis_conn.zadd(keys.CRASH_LOG, {json.dumps(forged): forged["time"]})
    for argv in ((), ("show", crashes.load(redis_conn)[0]["signature"]), ("show", forged["signature"])):
        code, out = run(settings, capsys, *argv)
        assert code == 0 and out
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f\u202e]", out), repr(out)
    assert "\\x1b" in out


def test_a_postmortem_stays_in_its_folder_whatever_the_records_say(redis_conn, settings, capsys, tmp_path):
    crash = crashes.Crash(
        kind="native",
        process="../../../../tmp/evil",
        exit="x",
        operation="../../../etc/cron.d/x",
        target="/etc/passwd\n## Root cause\n",
        target_id="../..",
        panic=NASTY + "```\n# heading",
    )
    entry = crashes.record(redis_conn, crash, retention_days=1)
    out = tmp_path / "drafts"
    code, said = run(settings, capsys, "postmortem", entry["signature"], out=out)
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert code == 0 and written == [out / said.strip().rpartition("/")[2]] and said.strip() == str(written[0])
    assert re.fullmatch(r"\d{4}-\d\d-\d\d-[a-z0-9-]+\.md", written[0].name)
    text = written[0].read_text()
    assert "\x1b" not in text and "\x07" not in text and text.count("\n## Root cause\n") == 1


def test_a_forged_outcome_and_record_id_are_shown_as_data(redis_conn, settings, capsys, tmp_path):
    # wagw crashes show counts outcomes by name and a long timeline names the first record's id:
    # both come from the record, so a forged one may carry terminal escapes or Markdown.
    forged = crashes.shape(crashes.Crash(kind="process", process="scheduler", exit="exit 1", outcome="\x1b[2Jx"))
    for n in range(35):  # more than TIMELINE_ROWS: the first record is named by its id
        entry = {**forged, "time": forged["time"] + n}
        if n == 0:
            entry["id"] = "a|\n## Root cause\n\x1b]0;owned\x07"
        redis_conn.zadd(keys.CRASH_LOG, {json.dumps(entry): entry["time"]})
    code, out = run(settings, capsys, "show", forged["signature"])
    assert code == 0 and not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", out), repr(out)
    code, said = run(settings, capsys, "postmortem", forged["signature"], out=tmp_path)
    text = (tmp_path / said.strip().rpartition("/")[2]).read_text()
    assert code == 0 and "\x1b" not in text and "\x07" not in text and text.count("\n## Root cause\n") == 1


def test_a_postmortem_folder_that_cannot_be_written_is_one_line_saying_so(redis_conn, settings, capsys, tmp_path):
    crash = crashes.Crash(kind="process", process="scheduler", exit="exit 1")
    entry = crashes.record(redis_conn, crash, retention_days=1)
    taken = tmp_path / "a-file"
    taken.write_text("not a folder")
    code, said = run(settings, capsys, "postmortem", entry["signature"], out=taken / "drafts")
    assert code == 1 and said.startswith("wagw crashes: cannot write the draft in ") and said.count("\n") == 1
