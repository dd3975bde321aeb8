"""Crash signatures: the same bug signs the same at any address, another top frame does not;
crash records group by signature; a postmortem draft follows the template and stays in its folder."""

from __future__ import annotations

import json
import re
from pathlib import Path

import fakeredis
import pytest

from wagw import crashes, keys
from wagw.crashes import groups, postmortem, signature

ROOT = Path(__file__).resolve().parents[2]

PRIVACY = """panic: unsupported payload type: *store.PrivacyToken

goroutine {goroutine} [running]:
go.mau.fi/whatsmeow/binary.(*binaryEncoder).write(0x{a}, {{0x{b}, 0x{c}}})
\t/home/runner/go/pkg/mod/go.mau.fi/whatsmeow/binary/encoder.go:129 +0x{o1}
go.mau.fi/whatsmeow/binary.(*binaryEncoder).writeNode(0x{a}, {{...}})
\t/home/runner/go/pkg/mod/go.mau.fi/whatsmeow/binary/encoder.go:204 +0x{o2}
go.mau.fi/whatsmeow.(*Client).GetProfilePictureInfo(0x{b}, {{0x{c}, 0x10}}, 0x0)
\t/home/runner/go/pkg/mod/go.mau.fi/whatsmeow/user.go:598 +0x{o1}
main.GetProfilePicture(0x{a}, 0x{b})
\t/home/runner/work/neonize/neonize/goneonize/main.go:880 +0x{o2}

goroutine 1 [chan receive]:
main.main()
\t/home/runner/work/neonize/neonize/goneonize/main.go:12 +0x10
"""

NIL = """panic: runtime error: invalid memory address or nil pointer dereference
[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x{a}]

goroutine {goroutine} [running, locked to thread]:
main.GetMe(0x0?)
\t/home/runner/work/neonize/neonize/goneonize/main.go:2345 +0x{o1}
"""


def privacy(goroutine=17, a="c000123456", b="7fd8053b37de", c="c0001a2b3c", o1="3e", o2="1c4"):
    return PRIVACY.format(goroutine=goroutine, a=a, b=b, c=c, o1=o1, o2=o2)


def test_the_same_panic_at_other_addresses_offsets_and_goroutines_signs_the_same():
    one = privacy()
    other = privacy(goroutine=4242, a="c00ffee000", b="7f0000001111", c="c000000042", o1="99", o2="2")
    assert one != other
    assert signature.sign(one) == signature.sign(other)
    assert re.fullmatch(r"[0-9a-f]{12}", signature.sign(one))
    nil = [NIL.format(goroutine=g, a=a, o1=o) for g, a, o in ((17, "7fd8053b37de", "3e"), (33, "7f11aa", "40"))]
    assert signature.sign(nil[0]) == signature.sign(nil[1])


def test_another_top_frame_or_message_signs_differently():
    base = privacy()
    other_frame = base.replace("(*Client).GetProfilePictureInfo", "(*Client).GetUserInfo")
    other_message = base.replace("*store.PrivacyToken", "*store.Other")
    assert len({signature.sign(base), signature.sign(other_frame), signature.sign(other_message)}) == 3
    assert signature.sign(base) != signature.sign(NIL.format(goroutine=17, a="1", o1="3e"))


def test_frames_keep_functions_and_lines_without_arguments_or_offsets():
    module = "/home/runner/go/pkg/mod/go.mau.fi/whatsmeow"
    assert signature.frames(privacy()) == [
        f"go.mau.fi/whatsmeow/binary.(*binaryEncoder).write ({module}/binary/encoder.go:129)",
        f"go.mau.fi/whatsmeow/binary.(*binaryEncoder).writeNode ({module}/binary/encoder.go:204)",
        f"go.mau.fi/whatsmeow.(*Client).GetProfilePictureInfo ({module}/user.go:598)",
        "main.GetProfilePicture (/home/runner/work/neonize/neonize/goneonize/main.go:880)",
    ]  # the other goroutine (main.main) is not the panicking one


def test_a_frame_line_of_dots_is_read_in_linear_time():
    """What a host writes after a goroutine header is read as frames: a line of dots (Go's `...`
    for elided arguments, or anything on stderr) once took the argument pattern exponential time."""
    import subprocess
    import sys

    panic = "panic: x\n\ngoroutine 1 [running]:\nmain.F(" + "." * 3000 + "\n\t/x.go:1 +0x1\n"
    code = f"from wagw.crashes import signature; print(signature.frames({panic!r}))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0 and "main.F(" in done.stdout, done.stderr


def test_a_death_without_a_panic_signs_by_how_it_ended():
    kill = signature.sign("", exit="signal SIGKILL", operation="sales/fetch_avatar")
    assert kill == signature.sign("", exit="signal SIGKILL", operation="fetch_avatar")
    assert kill != signature.sign("", exit="exit 1", operation="fetch_avatar")
    # A process that died without a panic: by how it ended and which kind of process it was.
    session = signature.sign("", exit="exit 1", process="sales/session")
    assert session == signature.sign("", exit="exit 1", process="session")
    slots = {signature.sign("", exit="exit 1", process=p) for p in ("wa-worker-1", "sales/wa-worker-2")}
    assert len(slots) == 1
    assert session != signature.sign("", exit="exit 1", process="scheduler")


def native(conn, panic, target, outcome, now, job="j1", operation="fetch_avatar"):
    crash = crashes.Crash(
        kind=crashes.NATIVE,
        process="wa-worker-1/host",
        exit="signal SIGABRT",
        outcome=outcome,
        account="default",
        operation=operation,
        target=target,
        target_id=None if target is None else f"id{target[-6:]}",
        panic=panic,
        job_id=job,
    )
    return crashes.record(conn, crash, retention_days=30, now=now)


def test_records_outlive_the_recent_list_group_by_signature_and_expire_by_retention():
    conn = fakeredis.FakeRedis()
    old = 1_000_000.0
    native(conn, privacy(), "…4567@s.whatsapp.net", crashes.RETRIED, old)
    for n in range(120):
        native(conn, privacy(goroutine=n, a=f"c{n:09x}"), "…4567@s.whatsapp.net", crashes.POISONED, old + 10 + n)
    native(conn, NIL.format(goroutine=1, a="1", o1="3e"), None, crashes.FAILED, old + 500, operation="user_info")
    assert conn.llen(keys.CRASHES) == crashes.RECENT
    found = groups.group(crashes.load(conn))
    assert [(g.summary()["count"], g.summary()["operations"]) for g in found] == [
        (1, ["user_info"]),
        (121, ["fetch_avatar"]),
    ]
    summary = found[1].summary()
    assert summary["targets"] == ["…4567@s.whatsapp.net"] and summary["outcomes"] == {"retried": 1, "poisoned": 120}
    assert summary["first_seen"] == groups.iso(old) and summary["last_seen"] == groups.iso(old + 129)
    assert groups.find(found, summary["signature"][:6]) is found[1]
    # A record written 31 days later drops those past the 30 days kept.
    native(conn, privacy(), "…4567@s.whatsapp.net", crashes.FAILED, old + 31 * 86_400)
    assert [g.summary()["count"] for g in groups.group(crashes.load(conn))] == [1]


def test_forged_records_are_skipped():
    conn = fakeredis.FakeRedis()
    conn.zadd(keys.CRASH_LOG, {"not json": 1, json.dumps({"signature": "../../x", "time": 2}): 2, "[]": 3})
    conn.zadd(keys.CRASH_LOG, {json.dumps({"signature": "abc", "time": "soon"}): 4})
    assert crashes.load(conn) == []


def test_the_draft_has_the_templates_sections_in_order():
    template = (ROOT / "docs/postmortems/TEMPLATE.md").read_text()
    assert tuple(re.findall(r"^## (.+)$", template, re.MULTILINE)) == postmortem.SECTIONS


@pytest.mark.parametrize("target", ["../../../etc/passwd", "x|y\n## Root cause\n```", "\x1b[31mred\u202e", "a" * 5000])
def test_a_postmortem_cannot_be_steered_by_what_a_record_holds(tmp_path, target):
    conn = fakeredis.FakeRedis()
    panic = privacy() + "\n```\n# injected heading\n\x1b]0;title\x07"
    for n in range(2):
        native(conn, panic, target, crashes.POISONED, 1_700_000_000.0 + n, operation="../../fetch avatar/..")
    [found] = groups.group(crashes.load(conn))
    out = tmp_path / "pm"
    path = postmortem.write(found, postmortem.State(), out)
    assert path.parent == out.resolve() and re.fullmatch(r"2023-11-14-[a-z0-9-]+\.md", path.name)
    assert list(tmp_path.rglob("*.md")) == [path]
    text = path.read_text()
    assert "\x1b" not in text and "\u202e" not in text and "\x07" not in text
    assert re.findall(r"^## (.+)$", text, re.MULTILINE) == list(postmortem.SECTIONS)  # no injected heading
    again = postmortem.write(found, postmortem.State(), out)  # never overwrites
    assert again != path and again.parent == out.resolve()
