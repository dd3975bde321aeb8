"""The kinds table (wagw.events.kinds) is the one fact about inbound event kinds: the neonize
dispatch, the fake's parsing and docs/events.md's tables derive from it or are held to it.
(Every kind is read by a go-whatsapp consumer in test_gowa_consumer.py, and every kind neonize
hands over has a parity row in tests/conformance/test_parity.py.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from wagw import events
from wagw.events import KINDS, EventKind
from wagw.whatsapp import fake_inbound, neonize_events
from wagw.whatsapp.fake_inbound import parsers

DOCS = Path(__file__).resolve().parents[2] / "docs" / "events.md"


def cell(text: str) -> str:
    return text.replace("|", "\\|")


def comes_from(kind: EventKind) -> str:
    if kind.neonize is None:
        return f"whatsmeow `{kind.whatsmeow}`, which neonize 0.5.2 never passes on: **never sent today**"
    return f"whatsmeow `{kind.whatsmeow}` (neonize `{kind.neonize}`)"


def kinds_table() -> list[str]:
    rows = ["| `event` | what | payload fields | comes from |", "|---|---|---|---|"]
    for kind in KINDS.values():
        fields = ", ".join(f"`{name}`" for name in kind.fields)
        rows.append(f"| `{kind.name}` | {cell(kind.summary)} | {fields} | {comes_from(kind)} |")
    return rows


def source_keys_table() -> list[str]:
    rows = ["| event | source key |", "|---|---|"]
    rows += [f"| `{kind.name}` | {cell(kind.key)} |" for kind in KINDS.values()]
    return rows


def fake_table() -> list[str]:
    rows = ["| `type` | fields | event |", "|---|---|---|"]
    for kind in KINDS.values():
        if kind.neonize is None:
            refused = f"refused: neonize 0.5.2 never passes whatsmeow's `{kind.whatsmeow}` on"
            rows.append(f"| `{kind.fake}` | {refused} | none |")
            continue
        first, *more = kind.fake_input
        rows.append(f"| `{kind.fake}` | {cell(first)} | `{kind.name}` |")
        rows += [f"| | {cell(line)} | |" for line in more]
    return rows


def block(marker: str) -> list[str]:
    text = DOCS.read_text()
    start, end = f"<!-- {marker}:start -->\n", f"<!-- {marker}:end -->"
    assert start in text and end in text, f"docs/events.md has no {marker} block"
    return text.split(start, 1)[1].split(end, 1)[0].splitlines()


@pytest.mark.parametrize(
    ("marker", "render"),
    [("event-kinds", kinds_table), ("source-keys", source_keys_table), ("fake-inbound", fake_table)],
)
def test_the_docs_tables_are_the_kinds_table(marker, render):
    expected = render()
    assert block(marker) == expected, (
        f"docs/events.md's {marker} block is out of date with wagw/events/kinds.py; it should read:\n"
        + "\n".join(expected)
    )


def test_every_kind_is_described_beyond_the_tables():
    """Each kind's payload is explained in prose too (when each field appears, what it means):
    its name is written somewhere on the page outside the generated tables."""
    text = DOCS.read_text()
    for marker in ("event-kinds", "source-keys", "fake-inbound"):
        text = text.replace("\n".join(block(marker)), "")
    undescribed = [name for name in KINDS if f"`{name}`" not in text]
    assert not undescribed, f"docs/events.md describes no payload of {undescribed}"


def test_names_and_fake_types_are_one_per_kind():
    assert list(KINDS) == list(events.EVENT_NAMES)
    assert all(name == kind.name for name, kind in KINDS.items())
    assert len({kind.fake for kind in KINDS.values()}) == len(KINDS)
    assert set(fake_inbound.KIND_OF_TYPE) == {kind.fake for kind in KINDS.values()}
    assert not {kind.fake for kind in KINDS.values()} & set(fake_inbound.CONTROL_TYPES)
    assert tuple(name for name, kind in KINDS.items() if kind.neonize is None) == events.NOT_FROM_NEONIZE


def test_each_kind_neonize_hands_over_has_its_mapper_and_its_parser_and_no_other_does():
    for kind in KINDS.values():
        if kind.neonize is None:
            assert kind.name not in neonize_events._MAPPER_OF and kind.name not in parsers.PARSERS
            assert not kind.fake_input
        else:
            assert neonize_events.MAPPERS[kind.neonize] is neonize_events._MAPPER_OF[kind.name]
            assert kind.name in parsers.PARSERS and kind.fake_input
    assert set(neonize_events.MAPPERS) == {kind.neonize for kind in KINDS.values() if kind.neonize}


@pytest.mark.parametrize("kind", [k for k in KINDS.values() if k.neonize is None], ids=lambda k: k.name)
def test_the_fake_refuses_a_kind_neonize_never_hands_over_naming_its_whatsmeow_event(kind):
    with pytest.raises(fake_inbound.Malformed, match=rf"type '{kind.fake}': .*whatsmeow's {kind.whatsmeow} event"):
        fake_inbound.to_event({"type": kind.fake})


def test_a_mapper_or_parser_for_no_kind_or_a_second_one_is_refused_at_once():
    with pytest.raises(ValueError, match=r"'message\.teleported' is not a kind"):
        neonize_events.maps("message.teleported")(lambda event: [])
    with pytest.raises(ValueError, match="has a mapper already"):
        neonize_events.maps(events.ACK)(lambda event: [])
    with pytest.raises(ValueError, match="has a parser already"):
        parsers.parses(events.ACK)(parsers.parse_receipt)
    assert neonize_events._MAPPER_OF[events.ACK] is neonize_events.map_receipt  # nothing was replaced


def test_a_row_without_its_mapper_or_parser_fails_at_import(monkeypatch):
    """A kind added to the table with a neonize class but no mapper (or fake parser) stops the
    module that dispatches it from loading, rather than dropping that kind's events."""
    teleport = EventKind("teleport", "x", (), "`x`", whatsmeow="Teleport", neonize="Teleport", fake="teleport")
    monkeypatch.setattr(neonize_events, "KINDS", {**KINDS, "teleport": teleport})
    with pytest.raises(LookupError, match="teleport: its row names neonize class Teleport"):
        neonize_events._dispatch()
    monkeypatch.setattr(parsers, "KINDS", {**KINDS, "teleport": teleport})
    with pytest.raises(LookupError, match="teleport: its row names neonize class Teleport"):
        parsers._complete()


def test_every_source_key_in_the_table_matches_what_the_constructor_makes():
    """The documented key's literal parts are the real key's (a spot check per kind)."""
    alice, group, channel = "15551234567@s.whatsapp.net", "120363402106000000@g.us", "120363123456789@newsletter"
    made = {
        events.MESSAGE: events.message(id="M", chat=alice, sender=alice, timestamp=1),
        events.ACK: events.receipt(ids=["M"], chat=alice, sender=alice, receipt_type="read", timestamp=1),
        events.GROUP_PARTICIPANTS: events.group_participants(chat=group, change="join", jids=[alice], timestamp=1),
        events.GROUP_JOINED: events.group_joined(chat=group, version="v7"),
        events.CALL_OFFER: events.call_offer(call_id="C", sender=alice, timestamp=1),
        events.CHAT_PRESENCE: events.chat_presence(chat=alice, sender=alice, state="paused"),
        events.NEWSLETTER_JOINED: events.newsletter_joined(newsletter_id=channel),
        events.NEWSLETTER_LEFT: events.newsletter_left(newsletter_id=channel, role="admin"),
        events.NEWSLETTER_MUTE: events.newsletter_mute(newsletter_id=channel, mute="on"),
        events.NEWSLETTER_MESSAGE: events.newsletter_message(
            newsletter_id=channel, messages=[events.newsletter_post(server_id=1)]
        ),
        events.DELETED: events.message_deleted(deleted_message_id="M", chat=alice, sender=alice, was_from_me=False),
        events.LABEL_EDIT: events.label_edit(label_id="9"),
        events.LABEL_ASSOCIATION: events.label_association(label_id="9", chat=alice, labeled=True),
    }
    for name, event in made.items():
        documented = re.search(r"`([^`]+)`", KINDS[name].key)
        assert documented and event.event == name
        literal = [part for part in documented.group(1).split(":") if not part.startswith("<")]
        assert [part for part in event.source_key.split(":") if part in literal] == literal, (name, event.source_key)
