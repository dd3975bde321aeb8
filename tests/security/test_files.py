"""Files wagw writes are its own user's only, and a pairing QR code (a login while it is
valid) does not outlive the pairing (finding 10 of the trust issue)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap

from wagw.config import Settings
from wagw.whatsapp import pairing


def _write_qr_then_answer(settings, role, phone, force, timeout, report):
    pairing._show_qr("2@qr-payload,that,logs,in", pairing.qr_png_path(settings, role))
    report.send({"status": "failed", "error": f"not paired within {timeout:g}s"})
    report.close()


def _write_qr_then_die(settings, role, phone, force, timeout, report):
    pairing._show_qr("2@qr-payload,that,logs,in", pairing.qr_png_path(settings, role))
    os._exit(3)


def test_the_qr_image_is_removed_when_the_pairing_ends_either_way(tmp_path):
    settings = Settings(_env_file=None, data_dir=tmp_path)
    png = pairing.qr_png_path(settings, "session")
    for target in (_write_qr_then_answer, _write_qr_then_die):
        result = pairing.run_child(settings, "session", None, False, 5.0, target=target)
        assert result["status"] == "failed"
        assert not png.exists(), target.__name__


def test_every_wagw_process_creates_private_files_under_a_lax_umask(tmp_path):
    """`wagw` entry points set umask 077 before anything is written (an AOF, a sqlite store,
    a QR image, downloaded media all inherit it)."""
    probe = textwrap.dedent(f"""
        import os
        os.umask(0o022)
        from wagw import cli
        try:
            cli.main(["--version"])  # sets the umask first, then prints and exits
        except SystemExit:
            pass
        open({str(tmp_path / "file")!r}, "w").close()
        os.mkdir({str(tmp_path / "dir")!r})
    """)
    subprocess.run([sys.executable, "-c", probe], check=True, timeout=60, cwd=tmp_path)
    assert stat.S_IMODE((tmp_path / "file").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "dir").stat().st_mode) == 0o700


def test_the_embedded_redis_files_are_private_under_wagw_run(daemon_factory):
    previous = os.umask(0o022)  # as a shell outside systemd would have it
    try:
        daemon = daemon_factory().start()
    finally:
        os.umask(previous)
    redis_dir = daemon.data_dir / "redis"
    files = [path for path in redis_dir.rglob("*") if path.is_file()]
    assert any("appendonly" in path.name or path.parent.name == "appendonlydir" for path in files), files
    for path in [redis_dir, *redis_dir.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        assert mode & 0o077 == 0 or path.is_socket(), f"{path} is {oct(mode)}"
    assert daemon.stop() == 0
