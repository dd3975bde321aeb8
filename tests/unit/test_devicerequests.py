"""What the supervisor does with the HTTP API's device requests (wagw.supervisor.devicerequests):
the command it runs for each, once per role, and which processes it restarts. Real Redis;
the pairing children and the supervisor's children are stand-ins."""

from __future__ import annotations

from dataclasses import dataclass, field

from wagw import devicecontrol, keys
from wagw.supervisor.devicerequests import DeviceRequests


@dataclass
class Spec:
    name: str
    account: str | None
    device_role: str | None


@dataclass
class FakeChild:
    spec: Spec
    restarts: list[float] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.spec.name

    def restart(self, grace: float) -> None:
        self.restarts.append(grace)


class FakeProcess:
    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.argv, self.env = argv, env
        self.code: int | None = None
        self.terminated = False

    def poll(self) -> int | None:
        return self.code

    def terminate(self) -> None:
        self.terminated = True
        self.code = -15

    def wait(self, timeout: float | None = None) -> int | None:
        return self.code

    def kill(self) -> None:
        self.code = -9


def children() -> list[FakeChild]:
    return [
        FakeChild(Spec("scheduler", None, None)),
        FakeChild(Spec("shop/wa-worker-1", "shop", "shop/worker-1")),
        FakeChild(Spec("shop/session", "shop", "shop/session")),
        FakeChild(Spec("other/session", "other", "other/session")),
    ]


def setup(redis_conn) -> tuple[DeviceRequests, list[FakeProcess]]:
    started: list[FakeProcess] = []

    def spawn(argv, env):
        started.append(FakeProcess(argv, env))
        return started[-1]

    env = {"WAGW_LOG_WIRE": "1", "WAGW_DATA_DIR": "/x"}
    return DeviceRequests(redis_conn, env, 3.0, argv=["wagw", "pair"], spawn=spawn), started


def ask(redis_conn, action: str, account: str = "shop", role: str | None = None, phone: str | None = None):
    request = devicecontrol.Request.new(action, account, role, phone)
    redis_conn.rpush(keys.DEVICE_REQUESTS.format(account=account), request.encode())
    return request


def test_a_pairing_runs_wagw_pair_once_per_role(redis_conn):
    handler, started = setup(redis_conn)
    kids = children()
    first = ask(redis_conn, devicecontrol.PAIR, role="shop/session")
    handler.step(["shop", "other"], kids)
    [process] = started
    assert process.argv == ["wagw", "pair", "--role", "shop/session", "--publish", first.id, "--timeout", "180"]
    assert "WAGW_LOG_WIRE" not in process.env and process.env["WAGW_PROCESS_NAME"] == "pair-shop/session"
    ask(redis_conn, devicecontrol.PAIR, role="shop/session", phone="15551234567")
    handler.step(["shop", "other"], kids)
    assert len(started) == 1  # under way: the API shows the running pairing's code
    process.code = 0
    code = ask(redis_conn, devicecontrol.PAIR, role="shop/session", phone="15551234567")
    handler.step(["shop", "other"], kids)
    assert started[-1].argv[-2:] == ["--phone", "+15551234567"] and code.id in started[-1].argv
    assert not any(child.restarts for child in kids)


def test_reconnect_restarts_that_accounts_session_only(redis_conn):
    handler, started = setup(redis_conn)
    kids = children()
    ask(redis_conn, devicecontrol.RECONNECT)
    handler.step(["shop", "other"], kids)
    assert [child.name for child in kids if child.restarts] == ["shop/session"] and started == []


def test_logout_runs_the_logout_then_restarts_the_accounts_device_processes(redis_conn):
    handler, started = setup(redis_conn)
    kids = children()
    ask(redis_conn, devicecontrol.LOGOUT)
    handler.step(["shop", "other"], kids)
    [process] = started
    assert process.argv == ["wagw", "pair", "--account", "shop", "--role", "all", "--logout"]
    ask(redis_conn, devicecontrol.LOGOUT)  # asked again meanwhile: the same logout
    handler.step(["shop", "other"], kids)
    assert len(started) == 1 and not any(child.restarts for child in kids)
    process.code = 0
    handler.step(["shop", "other"], kids)
    assert sorted(child.name for child in kids if child.restarts) == ["shop/session", "shop/wa-worker-1"]


def test_requests_of_an_account_this_daemon_does_not_run_wait_for_the_one_that_does(redis_conn):
    handler, started = setup(redis_conn)
    ask(redis_conn, devicecontrol.PAIR, account="elsewhere", role="elsewhere/session")
    handler.step(["shop"], children())
    assert started == [] and redis_conn.llen(keys.DEVICE_REQUESTS.format(account="elsewhere")) == 1


def test_stop_ends_what_is_under_way(redis_conn):
    handler, started = setup(redis_conn)
    ask(redis_conn, devicecontrol.PAIR, role="shop/session")
    ask(redis_conn, devicecontrol.LOGOUT, account="other")
    handler.step(["shop", "other"], children())
    handler.stop()
    assert len(started) == 2 and all(process.terminated for process in started)
    assert handler.pairings == {} and handler.logouts == {}
