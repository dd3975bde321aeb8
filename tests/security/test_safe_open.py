"""The one open a media job's file goes through (workers/wa/safe_open.py), by the kernel's
openat2 and by the component-by-component walk used where openat2 is missing: nothing but a
regular file beneath the folder, reached without a symlink, and never more than cap + 1
bytes read from it."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from workers.wa import safe_open


@pytest.fixture(params=["openat2", "walk"], autouse=True)
def opener(request, monkeypatch):
    monkeypatch.setattr(safe_open, "use_openat2", request.param == "openat2")
    return request.param


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    inside = tmp_path / "media"
    (inside / "sub").mkdir(parents=True)
    (inside / "sub" / "a.txt").write_bytes(b"inside")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "a.txt").write_bytes(b"secret")
    (tmp_path / "secret.txt").write_bytes(b"secret")
    return inside


def test_a_regular_file_beneath_the_folder_is_read(folder):
    assert safe_open.read_beneath(folder, "sub/a.txt", 100) == b"inside"
    assert safe_open.read_beneath(folder, "./sub//a.txt", 100) == b"inside"


def test_a_symlink_at_any_level_is_refused(folder, tmp_path):
    (folder / "dirlink").symlink_to(tmp_path / "outside")  # an intermediate component
    (folder / "filelink.txt").symlink_to(tmp_path / "secret.txt")  # the last component
    (folder / "inner.txt").symlink_to(folder / "sub" / "a.txt")  # even one that stays inside
    (folder / "sub" / "up").symlink_to("..")
    for name in ("dirlink/a.txt", "filelink.txt", "inner.txt", "sub/up/sub/a.txt"):
        with pytest.raises(safe_open.Refused):
            safe_open.read_beneath(folder, name, 100)


def test_dot_dot_and_absolute_names_are_refused(folder, tmp_path):
    outside = str(tmp_path / "secret.txt")
    for name in ("../secret.txt", "sub/../../secret.txt", "sub/../sub/a.txt", outside, "", ".", "a\0b"):
        with pytest.raises(safe_open.Refused):
            safe_open.read_beneath(folder, name, 100)


def test_a_fifo_is_refused_without_waiting_for_a_writer(folder):
    os.mkfifo(folder / "fifo")
    with pytest.raises(safe_open.Refused):  # a blocking open would hang here
        safe_open.read_beneath(folder, "fifo", 100)


def test_devices_folders_and_sockets_are_refused(folder):
    with pytest.raises(safe_open.Refused):
        safe_open.read_beneath(Path("/dev"), "null", 100)
    with pytest.raises(safe_open.Refused):
        safe_open.read_beneath(folder, "sub", 100)
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(folder / "sock"))
    try:
        with pytest.raises(safe_open.Refused):
            safe_open.read_beneath(folder, "sock", 100)
    finally:
        listener.close()


def test_a_missing_file_or_folder_is_refused_alike(folder, tmp_path):
    for base, name in ((folder, "nothing.txt"), (folder, "sub/nothing/a.txt"), (tmp_path / "none", "a.txt")):
        with pytest.raises(safe_open.Refused):
            safe_open.read_beneath(base, name, 100)


def test_a_file_over_the_cap_is_refused_before_it_is_read(folder):
    (folder / "big.bin").write_bytes(b"x" * 1000)
    with pytest.raises(safe_open.TooLarge) as caught:
        safe_open.read_beneath(folder, "big.bin", 100)
    assert caught.value.size == 1000
    assert safe_open.read_beneath(folder, "big.bin", 1000) == b"x" * 1000


def test_a_file_longer_than_fstat_says_is_read_to_cap_plus_one_only():
    """procfs files are regular with st_size 0: what is read is bounded by the cap, not by fstat."""
    with pytest.raises(safe_open.TooLarge) as caught:
        safe_open.read_beneath(Path("/proc/self"), "maps", 64)
    assert caught.value.size == 65


def test_reading_stops_at_the_limit(folder):
    (folder / "big.bin").write_bytes(b"x" * 5000)
    fd = safe_open.open_beneath(folder, "big.bin")
    try:
        assert len(safe_open.read_at_most(fd, 101)) == 101
        assert os.lseek(fd, 0, os.SEEK_CUR) == 101  # nothing read past cap + 1
    finally:
        os.close(fd)
