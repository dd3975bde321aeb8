"""Someone who can write into WAGW_MEDIA_DIR swaps a folder for a symlink to a folder outside
(renameat2 RENAME_EXCHANGE, atomically, over and over) while send_file jobs name a file in it.
A check by name followed by an open by name reads the outside file whenever the swap lands
between the two; the media read opens once, beneath the folder, following no symlink, so the
outside file is never read."""

from __future__ import annotations

import base64
import ctypes
import platform
import threading
import time

import pytest

from wagw.config import Settings
from wagw.operations.args import InvalidArguments
from workers.wa import media, safe_open

RENAME_EXCHANGE = 2
RENAMEAT2 = {"x86_64": 316, "aarch64": 276}.get(platform.machine())
AT_FDCWD = -100
INSIDE = b"%PDF-1.7\n% the file the job may send\n"
SECRET = b"%PDF-1.7\n% dashboard.password: hunter2hunter2\n"
ATTEMPTS = 10000
SECONDS = 20.0

pytestmark = pytest.mark.skipif(RENAMEAT2 is None, reason="renameat2's number is known for x86_64 and aarch64")


def _exchange(libc: ctypes.CDLL, a: bytes, b: bytes) -> None:
    result = libc.syscall(
        ctypes.c_long(RENAMEAT2),
        ctypes.c_long(AT_FDCWD),
        ctypes.c_char_p(a),
        ctypes.c_long(AT_FDCWD),
        ctypes.c_char_p(b),
        ctypes.c_ulong(RENAME_EXCHANGE),
    )
    if result != 0:
        raise OSError(ctypes.get_errno(), "renameat2")


@pytest.mark.parametrize("opener", ["openat2", "walk"])
def test_swapping_a_folder_for_a_symlink_never_sends_a_file_outside_the_media_folder(tmp_path, monkeypatch, opener):
    monkeypatch.setattr(safe_open, "use_openat2", opener == "openat2")
    settings = Settings(_env_file=None, data_dir=tmp_path, backend="fake")
    folder = settings.media_path
    (folder / "d").mkdir(parents=True)
    (folder / "d" / "a.pdf").write_bytes(INSIDE)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "a.pdf").write_bytes(SECRET)
    (folder / "s").symlink_to(outside)

    libc = ctypes.CDLL(None, use_errno=True)
    stop = threading.Event()
    swaps = 0

    def swap() -> None:
        nonlocal swaps
        a, b = bytes(folder / "d"), bytes(folder / "s")
        while not stop.is_set():
            _exchange(libc, a, b)
            swaps += 1

    swapper = threading.Thread(target=swap, daemon=True)
    swapper.start()
    sent = {"inside": 0, "secret": 0, "refused": 0}
    deadline = time.monotonic() + SECONDS
    try:
        for _ in range(ATTEMPTS):
            if time.monotonic() > deadline:
                break
            try:
                job = {"to": "1@s.whatsapp.net", "file": "file://d/a.pdf"}
                params = media.prepare("send_file", job, settings, None)
            except InvalidArguments:
                sent["refused"] += 1
                continue
            data = base64.b64decode(params["file_b64"])
            sent["secret" if data == SECRET else "inside"] += 1
    finally:
        stop.set()
        swapper.join(timeout=10)
    print(f"race: {sent} in {sum(sent.values())} jobs, {swaps} swaps")
    assert swaps > 0 and sent["inside"] > 0, sent  # the race ran, and the real file was sent
    assert sent["secret"] == 0, f"the file outside the media folder was sent {sent['secret']} times: {sent}"
