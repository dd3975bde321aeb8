"""`wagw doctor`'s checks as pure logic: fake probes, fake Redis, temporary folders."""

from __future__ import annotations

import json
import os
import types

import fakeredis
import pytest

from wagw import devices, doctor, keys
from wagw.config import Settings
from wagw.devices import DeviceState
from wagw.doctor import Check, Probes, Status
from wagw.whatsapp.probe import DeviceProbe, NeonizeProbe, _read

UID = os.geteuid()
LOADED = NeonizeProbe(magic_checked=True, loaded=True, version="0.5.2")
NO_LIBMAGIC = NeonizeProbe(
    magic_checked=True,
    magic_error="ImportError: failed to find libmagic.  Check your installation",
    error="ImportError: failed to find libmagic.  Check your installation",
)
SECRET = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def make_settings(tmp_path, monkeypatch):
    for key in list(os.environ):
        if key.startswith("WAGW_"):
            monkeypatch.delenv(key)
    data = tmp_path / "data"

    def make(**values) -> Settings:
        values.setdefault("data_dir", data)
        return Settings(_env_file=None, **values)

    return make


def statuses(checks: list[Check]) -> dict[str, Status]:
    return {check.name: check.status for check in checks}


# One line each, with the fix ----------------------------------------------------------------


def test_a_line_has_the_status_the_finding_and_the_fix():
    line = Check("data dir", Status.FAIL, "/x has mode 0755", "chmod -R go-rwx /x").line()
    assert line.startswith("FAIL  data dir") and "/x has mode 0755 -> fix: chmod -R go-rwx /x" in line
    assert Check("python", Status.OK, "Python 3.11").line().startswith("ok    python")
    assert "fix" not in Check("python", Status.OK, "Python 3.11").line()


def test_python_version():
    assert doctor.check_python((3, 11, 2)).status is Status.OK
    old = doctor.check_python((3, 10, 12))
    assert old.status is Status.FAIL and "3.11 or newer" in old.what


def test_invalid_settings_give_the_config_error_line():
    check = doctor.check_settings(None, "invalid setting WAGW_WA_WORKERS: the session plus 9 …")
    assert check.status is Status.FAIL and check.what.startswith("invalid setting WAGW_WA_WORKERS")
    assert "wagw.env" in (check.fix or "")


# libmagic and neonize -----------------------------------------------------------------------


def test_libmagic_missing_names_the_package():
    check = doctor.check_libmagic(True, NO_LIBMAGIC, find_library=lambda _name: None)
    assert check.status is Status.FAIL and check.fix == "sudo apt-get install libmagic1"
    assert "python-magic cannot load it" in check.what


def test_libmagic_is_only_a_warning_for_the_fake_backend():
    check = doctor.check_libmagic(False, NO_LIBMAGIC, find_library=lambda _name: None)
    assert check.status is Status.WARN and "fake backend" in check.what


def test_libmagic_present():
    check = doctor.check_libmagic(True, LOADED, find_library=lambda _name: "libmagic.so.1")
    assert check.status is Status.OK and "libmagic.so.1" in check.what


def test_ffmpeg_is_said_to_be_needed_by_nothing_here_whether_or_not_installed():
    missing = doctor.check_ffmpeg(which=lambda _name: None)
    assert missing.status is Status.OK and missing.fix is None
    assert missing.what.startswith("not needed: wagw sends video, audio and stickers without it")
    present = doctor.check_ffmpeg(which=lambda _name: "/usr/bin/ffmpeg")
    assert present.status is Status.OK and present.what.startswith("/usr/bin/ffmpeg is installed; not needed")


def test_libmagic_says_what_needs_it():
    check = doctor.check_libmagic(True, LOADED, find_library=lambda _name: "libmagic.so.1")
    assert check.what == "libmagic.so.1 (neonize needs it: it imports python-magic, which loads it)"


def test_neonize_that_does_not_load_blocks_the_neonize_backend_only():
    failed = doctor.check_neonize(True, NO_LIBMAGIC)
    assert failed.status is Status.FAIL and "libmagic1" in (failed.fix or "")
    assert doctor.check_neonize(False, NO_LIBMAGIC).status is Status.WARN
    assert doctor.check_neonize(True, LOADED).status is Status.OK
    broken = NeonizeProbe(magic_checked=True, error="OSError: neonize.so: cannot open shared object file")
    assert "--force-reinstall neonize" in broken.fix


def test_the_probe_reader_keeps_what_the_child_said_before_it_died():
    found = NeonizeProbe()
    _read(
        found,
        "some library noise\n"
        '{"probe": "magic"}\n'
        '{"probe": "neonize", "version": "0.5.2"}\n'
        '{"probe": "device", "role": "session", "jid": "1555:1@s.whatsapp.net"}\n'
        '{"probe": "device", "role": "worker-1", "jid": null}\n'
        '{"probe": "device", "role": "worker-2", "error": "ValueError: bad row"}\n'
        '{"probe": "devi',  # cut off by a crash
    )
    assert found.loaded and found.version == "0.5.2" and found.magic_error is None
    assert found.devices == {
        "session": DeviceProbe(jid="1555:1@s.whatsapp.net"),
        "worker-1": DeviceProbe(),
        "worker-2": DeviceProbe(error="ValueError: bad row"),
    }
    assert found.line() == "neonize 0.5.2 loads"


def test_the_refusal_line_says_what_and_how_to_fix():
    line = NO_LIBMAGIC.line()
    assert line.startswith("neonize cannot be loaded: ImportError: failed to find libmagic")
    assert line.endswith("fix: install the system library: sudo apt-get install libmagic1")


# Files --------------------------------------------------------------------------------------


def test_a_missing_data_dir_is_created_at_start(make_settings):
    checks = doctor.check_data_dir(make_settings(), UID)
    assert statuses(checks) == {"data dir": Status.WARN} and "creates it" in checks[0].what


def test_a_missing_data_dir_that_cannot_be_created_fails(make_settings, monkeypatch):
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
    [check] = doctor.check_data_dir(make_settings(), UID, can_create_in=lambda folder: False)
    assert check.status is Status.FAIL and "is not writable" in check.what


def test_a_missing_state_directory_is_made_by_systemd(make_settings, tmp_path, monkeypatch):
    # Deploy step 2: `wagw doctor` as user wagw (the wrapper sets STATE_DIRECTORY as the unit
    # does) before the first start has made /var/lib/wagw, in a /var/lib that wagw cannot write.
    settings = make_settings(data_dir=tmp_path / "lib" / "wagw")
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path / "lib" / "wagw"))
    [check] = doctor.check_data_dir(settings, UID, can_create_in=lambda folder: False)
    assert check.status is Status.WARN and "systemd creates it" in check.what


def test_a_data_dir_readable_by_others_fails_with_the_chmod(make_settings):
    settings = make_settings()
    settings.data_dir.mkdir(mode=0o755)
    settings.data_dir.chmod(0o755)
    [check] = doctor.check_data_dir(settings, UID)
    assert check.status is Status.FAIL and "mode 0755" in check.what
    assert check.fix == f"chmod -R go-rwx {settings.data_dir.resolve()}"


def test_a_data_dir_of_another_user_fails_with_the_chown(make_settings):
    settings = make_settings()
    settings.data_dir.mkdir(mode=0o700)
    [check] = doctor.check_data_dir(settings, UID + 1)
    assert check.status is Status.FAIL and "sudo chown -R" in (check.fix or "")


def test_a_private_data_dir_and_stores(make_settings):
    settings = make_settings()
    stores = settings.data_dir / "devices"
    stores.mkdir(parents=True, mode=0o700)
    settings.data_dir.chmod(0o700)
    store = stores / "session.sqlite3"
    store.write_bytes(b"")
    store.chmod(0o600)
    assert statuses(doctor.check_data_dir(settings, UID)) == {"data dir": Status.OK, "device stores": Status.OK}
    store.chmod(0o644)
    checks = doctor.check_data_dir(settings, UID)
    assert checks[1].status is Status.WARN and checks[1].fix == f"chmod 600 {store}"  # behind a private dir


def test_an_accounts_own_store_folder_and_stores_are_checked_too(make_settings):
    settings = make_settings()
    stores = settings.data_dir / "devices"
    folder = stores / "sales"
    folder.mkdir(parents=True, mode=0o700)
    settings.data_dir.chmod(0o700)
    stores.chmod(0o700)
    store = folder / "session.sqlite3"
    store.write_bytes(b"")
    store.chmod(0o600)
    checks = doctor.check_data_dir(settings, UID)
    assert checks[1].status is Status.OK and "1 file(s)" in checks[1].what
    store.chmod(0o644)
    checks = doctor.check_data_dir(settings, UID)
    assert checks[1].status is Status.WARN and checks[1].fix == f"chmod 600 {store}"
    store.chmod(0o600)
    folder.chmod(0o755)
    checks = doctor.check_data_dir(settings, UID)
    assert checks[1].status is Status.WARN and checks[1].fix == f"chmod -R go-rwx {folder}"


def test_media_dir(make_settings, tmp_path):
    assert doctor.check_media_dir(make_settings(), UID).status is Status.OK  # default: made when needed
    explicit = make_settings(media_dir=tmp_path / "media")
    missing = doctor.check_media_dir(explicit, UID)
    assert missing.status is Status.WARN and "install -d" in (missing.fix or "")
    (tmp_path / "media").mkdir(mode=0o777)
    (tmp_path / "media").chmod(0o777)
    open_to_all = doctor.check_media_dir(explicit, UID)
    assert open_to_all.status is Status.WARN and "chmod go-w" in (open_to_all.fix or "")
    (tmp_path / "media").chmod(0o700)
    assert doctor.check_media_dir(explicit, UID).status is Status.OK


# Redis --------------------------------------------------------------------------------------


def test_an_external_redis_that_does_not_answer_blocks_a_start(make_settings):
    class Down:
        def ping(self):
            from redis.exceptions import ConnectionError

            raise ConnectionError("Connection refused")

    checks, conn = doctor.check_redis(make_settings(redis_url="redis://10.9.9.9:6379/0"), lambda _url: Down())
    assert conn is None and checks[0].status is Status.FAIL
    assert "does not answer PING" in checks[0].what and "WAGW_REDIS_URL" in (checks[0].fix or "")


def test_an_external_redis_that_answers_and_what_it_says(make_settings):
    fake = fakeredis.FakeRedis()
    fake.set(keys.SUPERVISOR_STATUS, json.dumps({"pid": 4242}))
    checks, conn = doctor.check_redis(make_settings(redis_url="redis://10.9.9.9:6379/0"), lambda _url: fake)
    assert conn is fake and checks[0].status is Status.OK and "supervisor pid 4242" in checks[0].what
    # remote, no password, no TLS: said, but not blocking
    assert [check.status for check in checks[1:]] == [Status.WARN, Status.WARN]


def test_the_embedded_redis_needs_its_binary_and_a_short_socket_path(make_settings, tmp_path, monkeypatch):
    checks, conn = doctor.check_redis(make_settings())
    assert conn is None and checks[0].status is Status.OK and "redis-server" in checks[0].what
    long_dir = tmp_path / ("x" * 100)
    [too_long], _ = doctor.check_redis(make_settings(data_dir=long_dir))
    assert too_long.status is Status.FAIL and too_long.fix == "set a shorter WAGW_DATA_DIR"
    monkeypatch.setenv("WAGW_REDIS_SERVER_BIN", str(tmp_path / "no-such-redis-server"))
    [missing], _ = doctor.check_redis(make_settings())
    assert missing.status is Status.FAIL and "chmod +x" in (missing.fix or "")


# Devices ------------------------------------------------------------------------------------


def test_linked_device_cap(make_settings):
    [fine] = doctor.check_linked_devices(make_settings(wa_workers=1))
    assert fine.status is Status.OK and fine.name == "linked devices"
    [full] = doctor.check_linked_devices(make_settings(wa_workers=3))
    assert full.status is Status.WARN and "4 of the 4" in full.what


def test_linked_device_cap_per_account(make_settings):
    sales, support = doctor.check_linked_devices(
        make_settings(accounts="sales,support-line", account={"support-line": {"wa_workers": 3}})
    )
    assert sales.name == "linked devices of sales" and sales.status is Status.OK
    assert support.status is Status.WARN and "WAGW_ACCOUNT__SUPPORT_LINE__WA_WORKERS" in (support.fix or "")


def test_every_accounts_devices_are_checked(make_settings):
    checks = doctor.check_devices(make_settings(backend="fake", accounts="sales,support"), None, None)
    assert [check.name for check in checks] == [
        "device sales/session",
        "device sales/worker-1",
        "device support/session",
        "device support/worker-1",
    ]


def test_neonize_devices_paired_unpaired_unreadable(make_settings):
    settings = make_settings(wa_workers=2)
    found = NeonizeProbe(
        loaded=True,
        devices={
            "session": DeviceProbe(jid="1555:1@s.whatsapp.net"),
            "worker-1": DeviceProbe(),
            "worker-2": DeviceProbe(error="ValueError: bad row"),
        },
    )
    session, worker1, worker2 = doctor.check_devices(settings, None, found)
    assert session.status is Status.OK and "1555:1@s.whatsapp.net" in session.what
    assert worker1.status is Status.WARN and worker1.fix == "wagw pair --role worker-1"
    assert worker2.status is Status.WARN and worker2.fix == "wagw pair --role worker-2 --force"
    [unknown, _] = doctor.check_devices(make_settings(), None, NO_LIBMAGIC)
    assert unknown.status is Status.WARN and "neonize does not load" in unknown.what


def test_fake_devices_and_operator_states_from_redis(make_settings):
    conn = fakeredis.FakeRedis()
    conn.hset(keys.FAKE_DEVICE_STATE, "session", "unpaired")
    devices.publish(conn, "worker-1", state=DeviceState.LOGGED_OUT, paired=False, connected=False, jid=None)
    session, worker = doctor.check_devices(make_settings(backend="fake"), conn, None)
    assert session.status is Status.WARN and session.fix == "wagw pair --role session"
    assert worker.status is Status.WARN and worker.fix == "wagw pair --role worker-1 --force"
    assert [c.status for c in doctor.check_devices(make_settings(backend="fake"), None, None)] == [Status.OK] * 2


# Webhooks -----------------------------------------------------------------------------------


def test_no_webhook_endpoints_is_a_warning(make_settings):
    [check] = doctor.check_webhooks(make_settings())
    assert check.status is Status.WARN and "WAGW_WEBHOOK_URLS" in (check.fix or "")


def test_webhook_endpoints_get_a_tcp_connect_only(make_settings):
    tried: list[tuple[str, int, float]] = []

    def connect(host: str, port: int, timeout: float) -> None:
        tried.append((host, port, timeout))
        if host == "down.example":
            raise ConnectionRefusedError("Connection refused")

    settings = make_settings(
        webhook_urls="https://user:pw@hooks.example/in?token=abc,http://down.example:8080/x",
        webhook_secret=SECRET,
    )
    up, down = doctor.check_webhooks(settings, connect)
    assert tried == [("hooks.example", 443, 2.0), ("down.example", 8080, 2.0)]
    assert up.status is Status.OK and up.what.startswith("https://hooks.example/in: signed")
    assert "pw" not in up.what and "token" not in up.what
    assert down.status is Status.WARN and "retry" in (down.fix or "")


# The whole report ---------------------------------------------------------------------------


def fake_probes(found: NeonizeProbe, *, library: str | None = "libmagic.so.1") -> Probes:
    return Probes(
        neonize=lambda _settings, _roles: found,
        find_library=lambda _name: library,
        which=lambda _name: None,
        redis=lambda _url: fakeredis.FakeRedis(),
        tcp_connect=lambda *_args: None,
        uid=UID,
    )


def test_the_report_with_invalid_settings_still_checks_the_system():
    checks = doctor.run_checks(None, "invalid setting WAGW_BACKEND: …", fake_probes(NO_LIBMAGIC, library=None))
    assert [check.name for check in checks] == ["python", "settings", "libmagic", "neonize", "ffmpeg"]
    assert doctor.summary(checks) == "3 problems to fix before starting wagw, 0 warnings"


def test_a_ready_install_exits_zero_and_a_broken_one_does_not(make_settings, monkeypatch, capsys):
    settings = make_settings(backend="fake", redis_url="redis://127.0.0.1:6379/0")
    settings.data_dir.mkdir(mode=0o700)
    monkeypatch.setattr(doctor, "Probes", lambda: fake_probes(LOADED))
    assert doctor.main(settings, types.SimpleNamespace(json=True)) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True and report["summary"].startswith("ready")
    assert {"name", "status", "what", "fix"} == set(report["checks"][0])

    settings.data_dir.chmod(0o750)
    assert doctor.main(settings, types.SimpleNamespace(json=False)) == 1
    out = capsys.readouterr().out
    assert "FAIL  data dir" in out and out.rstrip().endswith("1 problem to fix before starting wagw, 1 warning")
