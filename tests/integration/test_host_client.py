"""The host client against real native hosts (fake backend, real Go panics, real Redis)."""

from __future__ import annotations

import base64
import json
import os
import signal
import sys
import threading
import time

import pytest
from rq.timeouts import JobTimeoutException

from chaos.polling import wait_for
from wagw import keys
from wagw.procs import pid_alive
from wagw.whatsapp.backend import BackendError
from workers.wa.host_client import HostClient, HostCrashed, HostTimeout, HostUnavailable, SlotNotPaired

ALICE = "15551234567@s.whatsapp.net"
WAIT = 15.0  # connect wait: generous, a loaded CI box starts Python slowly


@pytest.fixture
def host(settings, redis_conn):
    client = HostClient(settings, 1)
    client.start()
    yield client
    client.stop(grace=2)


def call(client, op, params=None, timeout=20.0):
    return client.call(op, params or {}, deadline=time.monotonic() + timeout, connect_wait=WAIT)


def sent(redis_conn) -> list[dict]:
    return [json.loads(raw) for raw in redis_conn.lrange(keys.FAKE_SENT, 0, -1)]


def test_calls_run_in_the_host_with_the_slot_device(host, redis_conn):
    result = call(host, "fetch_avatar", {"jid": ALICE, "preview": True, "is_community": False})
    assert result["jid"] == ALICE and result["type"] == "preview"
    assert call(host, "joined_groups")["groups"]
    assert [(s["role"], s["op"]) for s in sent(redis_conn)] == [
        ("worker-1", "fetch_avatar"),
        ("worker-1", "joined_groups"),
    ]
    status = host.status()
    assert status["connected"] and status["paired"] and status["jid"] == "15550001111:2@s.whatsapp.net"
    assert host.spawns == 1


def test_large_payloads_cross_the_pipe(host, redis_conn):
    image = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20_000  # ~5 MB
    params = {"to": ALICE, "image_b64": base64.b64encode(image).decode(), "mimetype": "image/png", "caption": "c"}
    assert call(host, "send_image", params)["to"] == ALICE
    assert sent(redis_conn)[-1]["args"]["image"]["bytes"] == len(image)


def test_a_go_panic_is_reported_with_its_text_and_a_fresh_host_takes_over(host, redis_conn, log_records):
    first = call(host, "fetch_avatar", {"jid": ALICE})["jid"] and host.pid
    with pytest.raises(HostCrashed) as caught:
        call(host, "fetch_avatar", {"jid": "crash@s.whatsapp.net"})
    crash = caught.value
    assert crash.returncode == -signal.SIGABRT and crash.exit == "signal SIGABRT" and crash.native
    assert crash.panic.startswith("panic: runtime error: invalid memory address")
    assert "died of signal SIGABRT during fetch_avatar" in str(crash)
    assert "goroutine" in str(crash) and "main.GetMe" in str(crash)
    assert not pid_alive(first)
    # The Go runtime's raw lines reached the log under the host's name.
    assert any(r["extra"].get("proc") == "wa-worker-1/host" and r["message"].startswith("panic:") for r in log_records)

    assert call(host, "fetch_avatar", {"jid": ALICE})["jid"] == ALICE
    assert host.pid != first and host.spawns == 2


def test_a_backend_error_fails_the_call_and_keeps_the_host(host):
    call(host, "joined_groups")
    pid = host.pid
    with pytest.raises(BackendError, match="simulated failure"):
        call(host, "fetch_avatar", {"jid": "fail@s.whatsapp.net"})
    assert host.pid == pid and pid_alive(pid)


def test_a_hung_call_is_killed_at_its_deadline(host):
    call(host, "joined_groups")
    pid = host.pid
    started = time.monotonic()
    with pytest.raises(HostTimeout, match="did not finish within the job timeout"):
        call(host, "fetch_avatar", {"jid": "hang@s.whatsapp.net"}, timeout=1.5)
    assert time.monotonic() - started < 1.5 + 1.0
    assert not pid_alive(pid)
    assert call(host, "joined_groups")["groups"]
    assert host.pid != pid


def test_an_interrupted_call_kills_its_host(host):
    """RQ's SIGALRM backstop raising inside the wait must not leave a busy host behind."""
    call(host, "joined_groups")
    pid = host.pid

    def alarm(*_):
        raise JobTimeoutException("Task exceeded maximum timeout value")

    previous = signal.signal(signal.SIGALRM, alarm)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.5)
        with pytest.raises(JobTimeoutException):
            host.call("fetch_avatar", {"jid": "hang@s.whatsapp.net"}, deadline=None, connect_wait=WAIT)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert not pid_alive(pid)
    assert call(host, "joined_groups")["groups"]


def test_an_unpaired_slot_fails_fast_with_the_pairing_hint_and_recovers(settings, redis_conn):
    redis_conn.hset(keys.FAKE_DEVICE_STATE, "worker-1", "unpaired")
    client = HostClient(settings, 1)
    client.start()
    try:
        started = time.monotonic()
        with pytest.raises(SlotNotPaired, match=r"^slot 1 is not paired: run `wagw pair --role worker-1`$"):
            call(client, "joined_groups")
        assert time.monotonic() - started < WAIT - 5  # it did not sit out the whole wait
        assert client.status()["paired"] is False and client.status()["state"] == "unpaired"

        redis_conn.hdel(keys.FAKE_DEVICE_STATE, "worker-1")  # `wagw pair` happened

        def works():
            try:
                return call(client, "joined_groups")
            except SlotNotPaired:
                return None

        wait_for(works, 15, 0.2, "a job on the newly paired slot")
    finally:
        client.stop(grace=2)


def test_a_host_dying_while_starting_is_respawned_with_backoff(settings):
    doomed = [
        sys.executable,
        "-c",
        "import sys; sys.stdin.readline(); print('cannot start', file=sys.stderr); sys.exit(7)",
    ]
    client = HostClient(settings, 1, argv=doomed)
    client.start()
    try:
        with pytest.raises(HostUnavailable, match=r"not connected after .*last exit: exit 7"):
            client.call("joined_groups", {}, deadline=None, connect_wait=2.0)
        # Backoff 0.5, 1, 2 s …: a handful of attempts in 2 s, not a spawn loop.
        assert 2 <= client.spawns <= 4
    finally:
        client.stop(grace=1)


def test_closing_stdin_stops_the_host(settings, redis_conn):
    client = HostClient(settings, 1)
    client.start()
    call(client, "joined_groups")
    host = client._host
    started = time.monotonic()
    client.stop(grace=5)
    assert host.popen.returncode == 0
    assert time.monotonic() - started < 4


# Sends: the host acknowledges the hand-over to the backend ----------------------------------
def test_an_acknowledged_call_tells_whether_it_reached_the_backend(host, redis_conn):
    result = host.call("send_text", {"to": ALICE, "text": "hi"}, deadline=None, connect_wait=WAIT, acknowledge=True)
    assert result["to"] == ALICE and host.reached is True
    call(host, "joined_groups")  # not acknowledged: nothing is claimed
    assert host.reached is False

    with pytest.raises(HostCrashed):
        host.call(
            "send_text",
            {"to": "crash@s.whatsapp.net", "text": "boom"},
            deadline=time.monotonic() + 20,
            connect_wait=WAIT,
            acknowledge=True,
        )
    assert host.reached is True  # the Go panic came after the hand-over

    call(host, "joined_groups")  # the host started again: its start is not within the hang's 1.5 s
    with pytest.raises(HostTimeout):
        host.call(
            "send_text",
            {"to": "hang@s.whatsapp.net", "text": "zzz"},
            deadline=time.monotonic() + 1.5,
            connect_wait=WAIT,
            acknowledge=True,
        )
    assert host.reached is True


def test_a_host_dying_before_it_reads_the_request_did_not_reach_the_backend(host, redis_conn):
    call(host, "joined_groups")
    pid = host.pid
    os.kill(pid, signal.SIGSTOP)  # it cannot read the request ...
    killer = threading.Timer(0.5, os.kill, (pid, signal.SIGKILL))  # ... before it dies
    killer.start()
    try:
        with pytest.raises(HostCrashed, match="died of signal SIGKILL during send_text"):
            host.call(
                "send_text",
                {"to": ALICE, "text": "hi"},
                deadline=time.monotonic() + 20,
                connect_wait=WAIT,
                acknowledge=True,
            )
    finally:
        killer.join()
    assert host.reached is False
    assert not [s for s in sent(redis_conn) if s["op"] == "send_text"]
