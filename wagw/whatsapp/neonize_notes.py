"""What the session notes from neonize's inbound events for later sends: who created a call
offer (wagw.calls), a chat's disappearing timer (wagw.disappearing). Reads the protos by
field name only and never imports neonize, like neonize_events; the backend hands each
inbound event here before mapping it."""

from __future__ import annotations

from typing import Any

from wagw.whatsapp.neonize_content import context_info, has_field, jid_str, unwrap

EPHEMERAL_SETTING = 3  # waE2E.ProtocolMessage.Type: a chat's timer was set
# (the chat under each address WhatsApp gave for it, its timer in seconds, unix seconds it
# was so; None: now)
Timer = tuple[list[str], int, float | None]


def call_offer(event: Any) -> tuple[str, str, str | None] | None:
    """A CallOffer's (call id, creator, creator's other address), as WhatsApp gave them;
    None when it names no creator."""
    meta = event.basicCallMeta
    creator = jid_str(meta.callCreator) if has_field(meta, "callCreator") else None
    creator = creator or jid_str(getattr(meta, "from"))  # "from" is a Python keyword
    if not creator or not meta.callID:
        return None
    alt = jid_str(meta.callCreatorAlt) if has_field(meta, "callCreatorAlt") else None
    return meta.callID, creator, alt


def _seconds(unix: int) -> float | None:
    """neonize's times: message timestamps in milliseconds, the rest in seconds."""
    if not unix:
        return None
    return unix / 1000 if unix > 10**11 else float(unix)


def chat_timer(name: str, event: Any) -> Timer | None:
    """The disappearing timer an inbound event shows for its chat, or None when it shows none:
    a timer change (a Message's EPHEMERAL_SETTING), the timer any message in such a chat
    carries (its contextInfo.expiration), a group change of it (GroupInfoEvent.Ephemeral) or
    a group joined (JoinedGroup's GroupInfo)."""
    if name == "Message":
        return _message_timer(event)
    if name == "GroupInfoEvent" and has_field(event, "Ephemeral"):
        chat = jid_str(event.JID)
        return ([chat], _group_seconds(event.Ephemeral), _seconds(event.Timestamp)) if chat else None
    if name == "JoinedGroup":
        return group_timer(event.GroupInfo)
    return None


def group_timer(info: Any) -> Timer | None:
    """A GroupInfo's timer (as of now: the info is current)."""
    chat = jid_str(info.JID)
    if not chat or not has_field(info, "GroupEphemeral"):
        return None
    return [chat], _group_seconds(info.GroupEphemeral), None


def _group_seconds(ephemeral: Any) -> int:
    return int(ephemeral.DisappearingTimer) if ephemeral.IsEphemeral else 0


def _message_timer(event: Any) -> Timer | None:
    info = event.Info
    source = info.MessageSource
    chats = [jid_str(source.Chat)]
    alt = "RecipientAlt" if source.IsFromMe else "SenderAlt"
    if not source.IsGroup and has_field(source, alt):  # a direct chat is the other person
        chats.append(jid_str(getattr(source, alt)))
    named = [chat for chat in chats if chat]
    if not named:
        return None
    content, _view_once = unwrap(event.Message)
    if has_field(content, "protocolMessage"):
        protocol = content.protocolMessage
        if protocol.type != EPHEMERAL_SETTING:
            return None
        at = _seconds(protocol.ephemeralSettingTimestamp) or _seconds(info.Timestamp)
        return named, int(protocol.ephemeralExpiration), at
    context = context_info(content)
    if context is None or not context.expiration:
        return None  # a message without a timer says nothing: an old phone's, or none set
    return named, int(context.expiration), _seconds(info.Timestamp)
