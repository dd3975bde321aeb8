"""Log text cannot hide, reorder or forge anything: every invisible or format character is
shown as an escape, whatever process logs it."""

from __future__ import annotations

import io
import json
import sys
import unicodedata

import pytest
from loguru import logger

from wagw.config import Settings
from wagw.logs import configure_logging, escape_controls

# A filename that reads "invoice_exe.pdf" on a terminal but is "invoice_fdp.exe".
SPOOFED = "invoice_\u202efdp.exe"


@pytest.mark.parametrize(
    "char",
    [
        "\u202e",  # RIGHT-TO-LEFT OVERRIDE
        "\u202a",  # LEFT-TO-RIGHT EMBEDDING
        "\u2066",  # LEFT-TO-RIGHT ISOLATE
        "\u2069",  # POP DIRECTIONAL ISOLATE
        "\u200b",  # ZERO WIDTH SPACE
        "\u200f",  # RIGHT-TO-LEFT MARK
        "\u061c",  # ARABIC LETTER MARK
        "\ufeff",  # ZERO WIDTH NO-BREAK SPACE (BOM)
        "\u00ad",  # SOFT HYPHEN
        "\U000e0041",  # TAG LATIN CAPITAL LETTER A (invisible "ASCII smuggling")
        "\u3164",  # HANGUL FILLER: a letter that draws nothing
        "\x1b",
        "\r",
        "\x85",
        "\u2028",
        "\udc80",  # a lone surrogate (undecodable bytes), which no UTF-8 sink could write
    ],
)
def test_every_invisible_or_format_character_is_shown_as_an_escape(char):
    shown = escape_controls(f"a{char}b")
    assert char not in shown
    assert shown.isascii() and shown.isprintable()
    assert shown == "a" + char.encode("unicode_escape").decode("ascii") + "b"


def test_every_format_character_of_this_unicode_version_is_escaped():
    format_chars = [chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Cf"]
    assert len(format_chars) > 150
    shown = escape_controls("".join(format_chars))
    assert not any(char in shown for char in format_chars)


def test_readable_text_in_any_script_stays_as_it_is():
    text = "tab\there\nnext line: héllo Ωμέγα مرحبا שלום 你好 नमस्ते 👋 café\u00a02 €"
    assert escape_controls(text) == text


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_a_bidi_override_in_a_logged_value_reaches_the_sink_escaped(log_format):
    out = io.StringIO()
    stdout, sys.stdout = sys.stdout, out
    try:
        configure_logging(Settings(_env_file=None, log_format=log_format), "test")
        logger.info("received {}", SPOOFED)
    finally:
        sys.stdout = stdout
        logger.remove()
    (line,) = out.getvalue().splitlines()
    message = json.loads(line)["message"] if log_format == "json" else line
    assert "\u202e" not in message and message.endswith("received invoice_\\u202efdp.exe")


def _wire_records(stream: io.StringIO) -> list[tuple[str, str]]:
    return [(line["proc"], line["msg"]) for line in map(json.loads, stream.getvalue().splitlines())]


def _sinks() -> set[int]:
    return set(logger._core.handlers)  # type: ignore[attr-defined]  # loguru lists no sinks publicly


def test_a_forked_child_keeps_the_servers_wire_sink_once_and_only_when_handed_down():
    from wagw import logs

    out = io.StringIO()
    stderr, sys.stderr = sys.stderr, out
    settings = Settings(_env_file=None)
    try:
        configure_logging(settings, "fork-server", wire=True)
        servers = _sinks()
        logs.hand_down_sink()  # the fork server's, before it forks
        configure_logging(settings, "scheduler", wire=True)  # the forked child's first call
        assert _sinks() == servers  # the very sink, not a new one
        logger.info("one")
        # Taken once: a later call (or one after a removal) sets the sink up again.
        logger.remove()
        configure_logging(settings, "scheduler", wire=True)
        logger.info("two")
        # Never without the server's word: a removed sink is not assumed to be there.
        logger.remove()
        configure_logging(settings, "other", wire=True)
        logger.info("three")
        # Handed down at another level: the child's own level wins, with a sink of its own.
        before = _sinks()
        logs.hand_down_sink()
        configure_logging(Settings(_env_file=None, log_level="DEBUG"), "debugging", wire=True)
        assert _sinks() != before
        logger.debug("four")
    finally:
        sys.stderr = stderr
        logs.forget_sinks()
    assert _wire_records(out) == [("scheduler", "one"), ("scheduler", "two"), ("other", "three"), ("debugging", "four")]
