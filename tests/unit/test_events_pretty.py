"""`wagw events tail` on a terminal: one line per event, fields in columns, and nothing from
WhatsApp can colour, move or hide anything on the terminal."""

from __future__ import annotations

import json

from rich.console import Console

from wagw.session import pretty


def event(name: str = "message", **payload) -> str:
    body = {"event": name, "account": "default", "id": "e1", "timestamp": "2026-11-29T10:30:00Z", "payload": payload}
    return json.dumps(body, ensure_ascii=False)


def plain(body: str, account_width: int = 7) -> str:
    return pretty.line(body, account_width).plain


ALICE = "15551234567@s.whatsapp.net"


def test_a_message_reads_as_time_account_event_chat_sender_text():
    text = plain(event(chat_id=ALICE, **{"from": ALICE}, from_name="Alice", is_from_me=False, body="hi 👋"))
    assert text == f"2026-11-29 10:30:00  default  {'message':<18}  {ALICE}  Alice: hi 👋"


def test_the_columns_line_up_whatever_the_event():
    lines = [
        plain(event(chat_id=ALICE, **{"from": ALICE}, from_name="Alice", body="hi")),
        plain(event("message.reaction", chat_id="120363000000000001@g.us", reaction="👍", reacted_message_id="3EB0")),
        plain(event("message.ack", chat_id=ALICE, ids=["3EB0", "3EB1"], receipt_type="read")),
    ]
    starts = [
        [line.index(field) for field in (name, chat)]
        for line, name, chat in zip(
            lines,
            ("message", "message.reaction", "message.ack"),
            (ALICE, "120363000000000001@g.us", ALICE),
            strict=True,
        )
    ]
    assert len({tuple(start) for start in starts}) == 1, lines
    assert lines[1].endswith("reaction=👍 reacted_message_id=3EB0")
    assert lines[2].endswith('ids=["3EB0","3EB1"] receipt_type=read')


def test_own_messages_are_marked():
    assert plain(event(chat_id=ALICE, is_from_me=True, body="sent from the phone")).endswith("me: sent from the phone")


def test_nothing_from_whatsapp_reaches_the_terminal_raw():
    hostile = "\x1b[2J\x1b]0;owned\x07 [bold red]x[/] \u202eevil\nsecond line\rover"
    out = plain(event(chat_id=ALICE, from_name="\x1b[31mMallory", body=hostile))
    assert "\x1b" not in out and "\u202e" not in out and "\n" not in out and "\r" not in out and "\x07" not in out
    assert "\\x1b[2J" in out and "\\u202eevil\\nsecond line\\rover" in out
    console = Console(force_terminal=True, color_system="standard", width=500)
    with console.capture() as captured:
        console.print(pretty.line(event(chat_id=ALICE, body=hostile)))
    rendered = captured.get()
    assert "[bold red]x[/]" in rendered  # markup in a message is text, not style
    assert "\x1b[2J" not in rendered and "\x07" not in rendered


def test_a_body_that_is_not_an_event_is_shown_escaped():
    assert plain("not json \x1b[0m") == "not json \\x1b[0m"
    assert plain("[1, 2]") == "[1, 2]"


def test_the_last_column_is_cut_long_before_a_screen_fills():
    text = plain(event(chat_id=ALICE, body="x" * 10_000))
    assert text.endswith("x…") and len(text) < 300
