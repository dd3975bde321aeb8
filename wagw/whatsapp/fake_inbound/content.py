"""A fake `message`'s content besides text and media: a poll or a vote, a location, a live
location, contact cards and a Click-to-WhatsApp ad's referral, in go-whatsapp's names and
types (built with wagw.events, as the neonize backend builds them)."""

from __future__ import annotations

from typing import Any

from wagw import events
from wagw.whatsapp.fake_inbound.fields import Malformed, mapping, string, strings


def _poll(data: dict) -> dict[str, Any] | None:
    poll = data.get("poll")
    if poll is None:
        return None
    if not isinstance(poll, dict) or not isinstance(poll.get("question"), str):
        raise Malformed("'poll' must be an object with a 'question'")
    options = strings(poll, "options")
    max_answers = poll.get("max_answers", 1)
    if isinstance(max_answers, bool) or not isinstance(max_answers, int) or max_answers < 0:
        raise Malformed("'poll.max_answers' must be a whole number")
    return events.poll(poll["question"], options, max_answers)


def _coordinates(place: dict, name: str) -> tuple[float, float]:
    found = []
    for axis, limit in (("latitude", 90), ("longitude", 180)):
        value = place.get(axis)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not -limit <= value <= limit:
            raise Malformed(f"'{name}.{axis}' must be a number from -{limit} to {limit}")
        found.append(float(value))
    return found[0], found[1]


def _card(card: Any, name: str) -> dict:
    if not isinstance(card, dict):
        raise Malformed(f"{name!r} must be an object with 'name' and 'vcard'")
    return events.contact_card(string(card, "name"), string(card, "vcard"))


def _referral(ad: dict) -> dict:
    """A Click-to-WhatsApp ad's attribution, in go-whatsapp's names and types."""
    unknown = set(ad) - {*events.REFERRAL_TEXTS, *events.REFERRAL_FLAGS, *events.REFERRAL_CHOICES}
    if unknown:
        raise Malformed(f"'referral' has unknown fields: {', '.join(repr(k) for k in sorted(unknown))}")
    for name in events.REFERRAL_TEXTS:
        string(ad, name, required=False)
    for name in events.REFERRAL_FLAGS:
        if name in ad and not isinstance(ad[name], bool):
            raise Malformed(f"'referral.{name}' must be true or false")
    for name, choices in events.REFERRAL_CHOICES.items():
        if name in ad and ad[name] not in choices:
            raise Malformed(f"'referral.{name}' must be one of {', '.join(choices)}")
    found = events.referral(**ad)
    if found is None:
        raise Malformed("'referral' is empty")
    return found


def content(data: dict) -> dict[str, Any] | None:
    """A message's non-media content: poll, location, live location, contact card(s), vote."""
    extra: dict[str, Any] = {}
    poll = _poll(data)
    if poll is not None:
        extra["poll"] = poll
    place = mapping(data, "location")
    if place is not None:
        latitude, longitude = _coordinates(place, "location")
        extra["location"] = events.location(
            latitude, longitude, string(place, "name", required=False), string(place, "address", required=False)
        )
    live = mapping(data, "live_location")
    if live is not None:
        extra["live_location"] = events.live_location(*_coordinates(live, "live_location"))
    if data.get("contact") is not None:
        extra["contact"] = _card(data["contact"], "contact")
    if data.get("contacts") is not None:
        cards = data["contacts"]
        if not isinstance(cards, list) or not cards:
            raise Malformed("'contacts' must be a non-empty list of contact cards")
        extra["contacts_array"] = [_card(card, "contacts[]") for card in cards]
    ad = mapping(data, "referral")
    if ad is not None:
        extra["referral"] = _referral(ad)
    vote = mapping(data, "poll_vote")
    if vote is not None:
        extra["poll_vote"] = {"poll_id": string(vote, "poll_id")}
    return extra or None
