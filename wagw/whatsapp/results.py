"""The JSON result shapes of the outbound calls, shared by the neonize and fake backends.

Both backends build their results only through these functions, so a job's result looks the
same whichever backend ran it. Pure Python: no neonize import.

Shapes (every JID is a string like "15551234567@s.whatsapp.net"; times are ISO 8601 UTC "Z"):

- fetch_avatar -> {"jid", "url", "id", "type": "image"|"preview", "direct_path"}
  (url/id/direct_path are null when the user has no picture or hides it)
- send_text / send_image -> {"id", "timestamp", "to"}
- user_info -> {"users": [{"jid", "status", "picture_id", "verified_name", "devices": [jid…]}]}
- is_on_whatsapp -> {"results": [{"query", "jid", "lid", "is_on_whatsapp", "verified_name"}]}
  (jid/lid are null for a number that is not on WhatsApp; lid is null unless WhatsApp gave one)
- group_info -> {"jid", "name", "topic", "owner", "created", "announce", "locked",
                 "participants": [{"jid", "lid", "is_admin", "is_super_admin", "display_name"}]}
- joined_groups -> {"groups": [<group_info>…]}
- mark_read -> {"chat", "ids", "sender", "receipt_type": "read"}
- my_privacy -> {"group_add", "last_seen", "status", "profile", "read_receipts", "call_add", "online"},
  each whatsmeow's value: "all", "contacts", "contact_blacklist", "match_last_seen", "known",
  "none", or null when WhatsApp did not say
- react -> {"id", "timestamp", "chat", "message_id", "emoji"} (id: the reaction message's own id;
  emoji "" when the reaction was removed)
- revoke -> {"id", "timestamp", "chat", "message_id", "sender"} (sender null: this account's own)
- edit_message -> {"id", "timestamp", "chat", "message_id", "text"}
- send_presence -> {"presence": "available"|"unavailable"}
- send_chat_presence -> {"chat", "state": "composing"|"recording"|"paused"}
- set_disappearing -> {"chat", "seconds"}
- reject_call -> {"call_id", "caller"}
- contacts -> {"contacts": [{"jid", "name", "first_name", "full_name", "push_name", "business_name"}]}
  (sorted by jid; name: the first of full_name, first_name, push_name, business_name that is set)
- leave_group -> {"jid", "left": true}
- set_group_name -> {"jid", "name"}
- set_group_topic -> {"jid", "topic"} (topic null when it was removed)
- group_invite_link -> {"jid", "link": "https://chat.whatsapp.com/<code>", "reset"}
- group_requests -> {"jid", "requests": [{"jid", "requested_at"}]}
- create_group -> <group_info> of the new group
- join_group -> {"jid"}
- set_group_photo -> {"jid", "picture_id"}
- group_info_from_link -> <group_info>
- group_participants -> {"jid", "action", "participants": [{"jid", "lid", "error", "invite"}]}
  (error: WhatsApp's code for that person, e.g. 409 already in the group; null when done)
- set_group_announce -> {"jid", "announce"}
- set_group_locked -> {"jid", "locked"}
"""

from __future__ import annotations

from typing import Any

from wagw.events import iso_time


def avatar(jid: str, url: str | None, picture_id: str | None, preview: bool, direct_path: str | None) -> dict:
    return {
        "jid": jid,
        "url": url or None,
        "id": picture_id or None,
        "type": "preview" if preview else "image",
        "direct_path": direct_path or None,
    }


def sent(message_id: str, timestamp: float | int | None, to: str) -> dict:
    return {"id": message_id, "timestamp": iso_time(timestamp), "to": to}


def user(jid: str, status: str | None, picture_id: str | None, verified_name: str | None, devices: list[str]) -> dict:
    return {
        "jid": jid,
        "status": status or None,
        "picture_id": picture_id or None,
        "verified_name": verified_name or None,
        "devices": list(devices),
    }


def users(entries: list[dict]) -> dict:
    return {"users": entries}


def on_whatsapp(query: str, jid: str | None, is_in: bool, verified_name: str | None, *, lid: str | None = None) -> dict:
    return {
        "query": query,
        "jid": jid or None,
        "lid": lid or None,
        "is_on_whatsapp": bool(is_in),
        "verified_name": verified_name or None,
    }


def on_whatsapp_results(entries: list[dict]) -> dict:
    return {"results": entries}


def participant(jid: str, lid: str | None, is_admin: bool, is_super_admin: bool, display_name: str | None) -> dict:
    return {
        "jid": jid,
        "lid": lid or None,
        "is_admin": bool(is_admin or is_super_admin),
        "is_super_admin": bool(is_super_admin),
        "display_name": display_name or None,
    }


def group(
    jid: str,
    name: str | None,
    topic: str | None,
    owner: str | None,
    created: float | int | None,
    announce: bool,
    locked: bool,
    participants: list[dict],
) -> dict[str, Any]:
    return {
        "jid": jid,
        "name": name or None,
        "topic": topic or None,
        "owner": owner or None,
        "created": iso_time(created),
        "announce": bool(announce),
        "locked": bool(locked),
        "participants": participants,
    }


def groups(entries: list[dict]) -> dict:
    return {"groups": entries}


def marked_read(chat: str, ids: list[str], sender: str | None) -> dict:
    return {"chat": chat, "ids": list(ids), "sender": sender, "receipt_type": "read"}


PRIVACY_SETTINGS = ("group_add", "last_seen", "status", "profile", "read_receipts", "call_add", "online")
# whatsmeow's types.PrivacySetting values (neonize's PrivacySettings.PrivacySetting enum, by number).
PRIVACY_VALUES = ("all", "contacts", "contact_blacklist", "match_last_seen", "known", "none")


def privacy(settings: dict[str, str | None]) -> dict:
    return {name: settings.get(name) or None for name in PRIVACY_SETTINGS}


def contact(
    jid: str, first_name: str | None, full_name: str | None, push_name: str | None, business_name: str | None
) -> dict:
    return {
        "jid": jid,
        "name": full_name or first_name or push_name or business_name or None,
        "first_name": first_name or None,
        "full_name": full_name or None,
        "push_name": push_name or None,
        "business_name": business_name or None,
    }


def contacts(entries: list[dict]) -> dict:
    return {"contacts": sorted(entries, key=lambda entry: entry["jid"])}


def acted(message_id: str, timestamp: float | int | None, chat: str, target_id: str, **extra: Any) -> dict:
    """A message action (react, revoke, edit_message): the action message's own id and time,
    the chat and the id of the message acted on, then the action's own fields."""
    return {"id": message_id, "timestamp": iso_time(timestamp), "chat": chat, "message_id": target_id, **extra}


def presence_sent(presence: str) -> dict:
    return {"presence": presence}


def chat_presence_sent(chat: str, state: str) -> dict:
    return {"chat": chat, "state": state}


def disappearing_set(chat: str, seconds: int) -> dict:
    return {"chat": chat, "seconds": seconds}


def call_rejected(call_id: str, caller: str) -> dict:
    return {"call_id": call_id, "caller": caller}


def left_group(jid: str) -> dict:
    return {"jid": jid, "left": True}


def group_named(jid: str, name: str) -> dict:
    return {"jid": jid, "name": name}


def group_topic(jid: str, topic: str) -> dict:
    return {"jid": jid, "topic": topic or None}


def group_locked(jid: str, locked: bool) -> dict:
    return {"jid": jid, "locked": bool(locked)}


def group_announce(jid: str, announce: bool) -> dict:
    return {"jid": jid, "announce": bool(announce)}


def invite_link(jid: str, link: str, reset: bool) -> dict:
    return {"jid": jid, "link": link, "reset": bool(reset)}


def join_request(jid: str, requested_at: float | int | None) -> dict:
    return {"jid": jid, "requested_at": iso_time(requested_at)}


def join_requests(jid: str, requests: list[dict]) -> dict:
    return {"jid": jid, "requests": requests}


def participant_change(
    jid: str, lid: str | None, error: int | None, invite_code: str | None = None, invite_expires: float | None = None
) -> dict:
    """One person of group_participants; `invite` is the invite WhatsApp offers to send a person
    whose privacy settings refuse being added (error 403), else null."""
    invite = {"code": invite_code, "expires": iso_time(invite_expires)} if invite_code else None
    return {"jid": jid, "lid": lid or None, "error": error or None, "invite": invite}


def participants_changed(group_jid: str, action: str, entries: list[dict]) -> dict:
    return {"jid": group_jid, "action": action, "participants": entries}


def joined_group(jid: str) -> dict:
    return {"jid": jid}


def group_photo(jid: str, picture_id: str | None) -> dict:
    return {"jid": jid, "picture_id": picture_id or None}
