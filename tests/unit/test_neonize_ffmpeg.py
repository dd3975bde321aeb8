"""neonize's "ffmpeg not found" warning, which it logs at the first connect() of every process
(each pairing, session and native host): wagw drops that one warning, and only that one."""

from __future__ import annotations

import logging

from wagw.whatsapp import native


class Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_the_ffmpeg_warning_is_dropped_and_its_loggers_other_lines_pass(monkeypatch, tmp_path):
    native.load()  # imports neonize.client, which imports neonize.utils.ffmpeg
    from neonize.utils import ffmpeg  # what connect() calls first: check_ffmpeg_available()

    monkeypatch.setenv("PATH", str(tmp_path))  # no ffmpeg, no ffprobe
    monkeypatch.setattr(ffmpeg, "_ffmpeg_checked", False)  # neonize checks once per process
    kept = Kept()
    found = logging.getLogger(native.FFMPEG_LOGGER)
    assert found is ffmpeg.log
    found.addHandler(kept)
    try:
        assert ffmpeg.check_ffmpeg_available() is False  # neonize did look, and did not find it
        found.warning("neonize: something else about ffmpeg")
    finally:
        found.removeHandler(kept)
    assert [record.getMessage() for record in kept.records] == ["neonize: something else about ffmpeg"]


def test_loading_twice_installs_one_filter():
    native.load()
    native._quiet_ffmpeg_warning()
    filters = logging.getLogger(native.FFMPEG_LOGGER).filters
    assert sum(isinstance(each, native.NoFfmpegWarning) for each in filters) == 1
