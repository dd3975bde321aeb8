"""One parser per event kind the fake makes: a control message -> a wagw event, built with
wagw.events (so it matches what the neonize backend produces for the same thing).

Each parser is registered (`parses`) for its kind; the kinds table (wagw.events.kinds) names
the control message `type` that reaches it (fake_inbound.to_event dispatches on it). Kinds
whose row names no neonize class have no parser: the fake refuses them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from wagw import events
from wagw.events import KINDS, InboundEvent
from wagw.events.history import MAX_MESSAGES as MAX_HISTORY_MESSAGES
from wagw.whatsapp.fake_inbound.content import content
from wagw.whatsapp.fake_inbound.fields import (
    Malformed,
    boolean,
    choice,
    count,
    instance,
    jids,
    newsletter_id,
    people,
    string,
    strings,
    unix_time,
)
from wagw.whatsapp.fake_inbound.media import media_of


@dataclass(frozen=True)
class Parser:
    parse: Callable[[dict], InboundEvent]  # raises Malformed saying why it cannot
    # On chat "status@broadcast" the message is a status update (a story), no event: as with
    # neonize, it is acknowledged and dropped before it is read.
    drops_status: bool = False


_PARSER_OF: dict[str, Parser] = {}  # event kind -> its parser


Parse = Callable[[dict], InboundEvent]


def parses(kind: str, *, drops_status: bool = False) -> Callable[[Parse], Parse]:
    """Register the parser of this event kind (its row names the control message `type`)."""

    def register(parse: Parse) -> Parse:
        if kind not in KINDS or kind in _PARSER_OF:
            raise ValueError(f"{parse.__name__}: {kind!r} is not a kind, or has a parser already")
        _PARSER_OF[kind] = Parser(parse, drops_status)
        return parse

    return register


@parses(events.MESSAGE, drops_status=True)
def parse_message(data: dict) -> InboundEvent:
    count(data, "expiration")  # the chat's disappearing timer: not in the body, noted for sends
    return events.message(
        id=string(data, "id"),
        **people(data),
        body=string(data, "text", required=False),
        replied_to_id=string(data, "reply_to", required=False),
        quoted_body=string(data, "quoted_text", required=False),
        media=media_of(data, string(data, "id")),
        forwarded=boolean(data, "forwarded"),
        view_once=boolean(data, "view_once"),
        extra=content(data),
        mentions=jids(data, "mentions"),
    )


@parses(events.REACTION, drops_status=True)
def parse_reaction(data: dict) -> InboundEvent:
    return events.reaction(
        id=string(data, "id"),
        **people(data),
        emoji=string(data, "emoji", required=False) or "",
        target_id=string(data, "target_id"),
    )


@parses(events.REVOKED, drops_status=True)
def parse_revoked(data: dict) -> InboundEvent:
    who = people(data)
    return events.revoked(
        id=string(data, "id"),
        **who,
        revoked_message_id=string(data, "target_id"),
        revoked_from_me=boolean(data, "target_from_me"),
        revoked_chat=who["chat"],
    )


@parses(events.EDITED, drops_status=True)
def parse_edited(data: dict) -> InboundEvent:
    return events.edited(
        id=string(data, "id"),
        **people(data),
        original_message_id=string(data, "target_id"),
        body=string(data, "text", required=False),
        mentions=jids(data, "mentions"),
        # `secret`: as a phone that moved to LIDs edits (a secretEncryptedMessage, unreadable).
        body_unreadable=events.SECRET_EDIT_UNREADABLE if boolean(data, "secret") else None,
    )


@parses(events.HISTORY_SYNC, drops_status=True)
def parse_history_sync(data: dict) -> InboundEvent:
    """`chat`, `chat_alt` and `messages`: message control messages of that chat (their own
    `chat` is the history's; `sender` defaults to the chat, as in a direct chat)."""
    chat = string(data, "chat")
    group = chat.endswith("@g.us")
    chat_alt = None if group else string(data, "chat_alt", required=False)
    items = data.get("messages")
    if not isinstance(items, list) or not items:
        raise Malformed("'messages' must be a non-empty list of message objects")
    if len(items) > MAX_HISTORY_MESSAGES:
        raise Malformed(f"'messages': at most {MAX_HISTORY_MESSAGES} in one history_sync (push several)")
    messages = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise Malformed(f"messages[{index}] must be an object")
        fields = {**item, "chat": chat, "sender": item.get("sender", chat)}
        if chat_alt:
            fields["chat_alt"] = chat_alt
            if fields["sender"] == chat:
                fields.setdefault("sender_alt", chat_alt)
        try:
            messages.append(parse_message(fields))
        except Malformed as error:
            raise Malformed(f"messages[{index}]: {error}") from None
    return events.history_sync(chat=chat, chat_alt=chat_alt, messages=messages)


@parses(events.ACK, drops_status=True)
def parse_receipt(data: dict) -> InboundEvent:
    who = people(data)
    return events.receipt(
        ids=strings(data, "ids"),
        chat=who["chat"],
        sender=who["sender"],
        sender_alt=who["sender_alt"],
        chat_alt=who["chat_alt"],
        receipt_type=string(data, "receipt_type", required=False) or "delivered",
        timestamp=who["timestamp"],
    )


@parses(events.GROUP_PARTICIPANTS)
def parse_group_participants(data: dict) -> InboundEvent:
    change = data.get("change")
    if change not in events.PARTICIPANT_CHANGES:
        raise Malformed(f"'change' must be one of {', '.join(events.PARTICIPANT_CHANGES)}")
    return events.group_participants(
        chat=string(data, "chat"),
        change=change,
        jids=strings(data, "jids"),
        timestamp=unix_time(data),
        sender=string(data, "by", required=False),
    )


@parses(events.GROUP_JOINED)
def parse_group_joined(data: dict) -> InboundEvent:
    chat = string(data, "chat")
    if not chat.endswith("@g.us"):
        raise Malformed(f"'chat' must be a group JID (…@g.us), not {chat!r}")
    return events.group_joined(
        chat=chat,
        reason=choice(data, "reason", events.GROUP_JOIN_REASONS, default=""),
        group_name=string(data, "group_name", required=False),
        version=string(data, "version", required=False),
        timestamp=unix_time(data),
        instance=instance(data),
    )


@parses(events.CALL_OFFER)
def parse_call_offer(data: dict) -> InboundEvent:
    if "group" in data:
        raise Malformed("'group': neonize does not pass on the group of a call, so neither does the fake")
    return events.call_offer(
        call_id=string(data, "call_id"),
        sender=string(data, "sender"),
        sender_alt=string(data, "sender_alt", required=False),
        timestamp=unix_time(data),
        remote_platform=string(data, "platform", required=False),
        remote_version=string(data, "version", required=False),
    )


@parses(events.CHAT_PRESENCE)
def parse_chat_presence(data: dict) -> InboundEvent:
    sender, who = string(data, "sender"), people(data)
    return events.chat_presence(
        chat=who["chat"],
        sender=sender,
        sender_alt=who["sender_alt"],
        chat_alt=who["chat_alt"],
        state=choice(data, "state", events.CHAT_PRESENCE_STATES),
        media=choice(data, "media", events.CHAT_PRESENCE_MEDIA, default=""),
        timestamp=unix_time(data),
        instance=instance(data),
    )


@parses(events.NEWSLETTER_JOINED)
def parse_newsletter_joined(data: dict) -> InboundEvent:
    return events.newsletter_joined(
        newsletter_id=newsletter_id(data),
        name=string(data, "name", required=False),
        description=string(data, "description", required=False),
        timestamp=unix_time(data),
        instance=instance(data),
    )


@parses(events.NEWSLETTER_LEFT)
def parse_newsletter_left(data: dict) -> InboundEvent:
    return events.newsletter_left(
        newsletter_id=newsletter_id(data),
        role=choice(data, "role", events.NEWSLETTER_ROLES, default="subscriber"),
        timestamp=unix_time(data),
        instance=instance(data),
    )


@parses(events.NEWSLETTER_MUTE)
def parse_newsletter_mute(data: dict) -> InboundEvent:
    return events.newsletter_mute(
        newsletter_id=newsletter_id(data),
        mute=choice(data, "mute", events.NEWSLETTER_MUTE_STATES),
        timestamp=unix_time(data),
        instance=instance(data),
    )


def _posts(data: dict) -> list[dict]:
    posts = data.get("messages")
    if not isinstance(posts, list) or not posts or not all(isinstance(post, dict) for post in posts):
        raise Malformed("'messages' must be a non-empty list of objects")
    found = []
    for post in posts:
        if "server_id" not in post:
            raise Malformed("'messages[].server_id' is missing")
        reactions = post.get("reaction_counts") or {}
        if not isinstance(reactions, dict) or not all(
            isinstance(k, str) and k and not isinstance(v, bool) and isinstance(v, int) and v >= 0
            for k, v in reactions.items()
        ):
            raise Malformed("'messages[].reaction_counts' must map emoji to whole numbers")
        found.append(
            events.newsletter_post(
                server_id=count(post, "server_id"), views_count=count(post, "views_count"), reaction_counts=reactions
            )
        )
    return found


@parses(events.NEWSLETTER_MESSAGE)
def parse_newsletter_message(data: dict) -> InboundEvent:
    return events.newsletter_message(
        newsletter_id=newsletter_id(data),
        messages=_posts(data),
        timestamp=unix_time(data),
        instance=instance(data),
    )


def _complete() -> dict[str, Parser]:
    """The parsers by kind: every kind neonize hands over has one, and only those."""
    for kind in KINDS.values():
        parser = _PARSER_OF.get(kind.name)
        if (parser is None) != (kind.neonize is None):
            raise LookupError(f"{kind.name}: its row names neonize class {kind.neonize}, its fake parser is {parser}")
    return dict(_PARSER_OF)


PARSERS = _complete()
