"""Constructors of the channel (newsletter) events: joined, left, mute and the live update of
posts' views and reactions (`newsletter.message`)."""

from __future__ import annotations

from typing import Any

from wagw.events.kinds import NEWSLETTER_JOINED, NEWSLETTER_LEFT, NEWSLETTER_MESSAGE, NEWSLETTER_MUTE
from wagw.events.model import InboundEvent, iso_time, moment, non_ad, seen_at

NEWSLETTER_ROLES = ("subscriber", "guest", "admin", "owner")
NEWSLETTER_MUTE_STATES = ("on", "off")
NEWSLETTER_SERVER = "newsletter"


def _newsletter(newsletter_id: str) -> str:
    jid = non_ad(newsletter_id) or ""
    if not jid.endswith("@" + NEWSLETTER_SERVER):
        raise ValueError(f"not a newsletter JID: {newsletter_id!r}")
    return jid


def newsletter_joined(
    *,
    newsletter_id: str,
    name: str | None = None,
    description: str | None = None,
    timestamp: float | int | None = None,
    instance: str | None = None,
) -> InboundEvent:
    """A `newsletter.joined`: this account followed a channel. WhatsApp gives no time."""
    unix = seen_at(timestamp)
    jid = _newsletter(newsletter_id)
    payload: dict[str, Any] = {"newsletter_id": jid}
    if name:
        payload["name"] = name
    if description:
        payload["description"] = description
    return InboundEvent(NEWSLETTER_JOINED, f"newsletter:{jid}:joined:{moment(unix, instance)}", iso_time(unix), payload)


def newsletter_left(
    *, newsletter_id: str, role: str, timestamp: float | int | None = None, instance: str | None = None
) -> InboundEvent:
    """A `newsletter.left`: this account unfollowed a channel; `role` is the one it had."""
    if role not in NEWSLETTER_ROLES:
        raise ValueError(f"unknown newsletter role {role!r}")
    unix = seen_at(timestamp)
    jid = _newsletter(newsletter_id)
    payload = {"newsletter_id": jid, "role": role}
    return InboundEvent(NEWSLETTER_LEFT, f"newsletter:{jid}:left:{moment(unix, instance)}", iso_time(unix), payload)


def newsletter_mute(
    *, newsletter_id: str, mute: str, timestamp: float | int | None = None, instance: str | None = None
) -> InboundEvent:
    """A `newsletter.mute`: "on" or "off"."""
    if mute not in NEWSLETTER_MUTE_STATES:
        raise ValueError(f"unknown newsletter mute state {mute!r}")
    unix = seen_at(timestamp)
    jid = _newsletter(newsletter_id)
    payload = {"newsletter_id": jid, "mute": mute}
    key = f"newsletter:{jid}:mute:{mute}:{moment(unix, instance)}"
    return InboundEvent(NEWSLETTER_MUTE, key, iso_time(unix), payload)


def newsletter_post(*, server_id: int, views_count: int = 0, reaction_counts: dict[str, int] | None = None) -> dict:
    """One entry of a `newsletter.message`'s `messages`. neonize 0.5.2 passes on the server id,
    views and reactions of a live update's post, not its message id, type or time (goneonize's
    EncodeNewsletterMessage drops them), so those are left out (docs/events.md)."""
    post: dict[str, Any] = {"server_id": int(server_id)}
    if views_count > 0:
        post["views_count"] = int(views_count)
    if reaction_counts:
        # Sorted, as Go's encoding/json writes a map: the same update gives the same body.
        post["reaction_counts"] = {emoji: int(reaction_counts[emoji]) for emoji in sorted(reaction_counts)}
    return post


def newsletter_message(
    *, newsletter_id: str, messages: list[dict], timestamp: float | int | None = None, instance: str | None = None
) -> InboundEvent:
    """A `newsletter.message`: a live update of a followed channel's posts (their views and
    reactions), `messages` built with newsletter_post. The time is WhatsApp's, so a redelivered
    update keeps its id."""
    unix = seen_at(timestamp)
    jid = _newsletter(newsletter_id)
    servers = ",".join(str(m["server_id"]) for m in messages)
    key = f"newsletter:{jid}:update:{moment(unix, instance)}:{servers}"
    payload = {"newsletter_id": jid, "messages": list(messages)}
    return InboundEvent(NEWSLETTER_MESSAGE, key, iso_time(unix), payload)
