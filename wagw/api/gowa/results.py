"""A finished job's result as go-whatsapp-web-multidevice's `results` (and envelope message).

One shape per kind of answer that API gives, named by the table's rows (`Row.result`). Each
takes the job's result and the request as the route read it (that API's field names) and
returns the `results` value and the names the row's message template may use. SHAPES also
says, for docs/api-gowa.md, which job field each `results` field comes from.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from wagw import __version__
from wagw.addresses import USER_SERVER
from wagw.operations.args import MAX_DOCUMENT_BYTES, MAX_IMAGE_BYTES

Shaped = tuple[Any, dict[str, Any]]  # (results, names for the message template)
Shape = Callable[[Any, Mapping[str, Any]], Shaped]

# whatsmeow's platform names by device number (that API's GetPlatformName).
_PLATFORMS = (
    "UNKNOWN",
    "CHROME",
    "FIREFOX",
    "IE",
    "OPERA",
    "SAFARI",
    "EDGE",
    "DESKTOP",
    "IPAD",
    "ANDROID_TABLET",
    "OHANA",
    "ALOHA",
    "CATALINA",
    "TCL_TV",
)
# looked up by the JID's text: no int() of a device part that may be any string
_PLATFORM_OF_DEVICE = {str(number): name for number, name in enumerate(_PLATFORMS)}


def go_time(iso: str | None) -> str:
    """'2026-11-29T10:30:00Z' as Go's time.String() prints it: '2026-11-29 10:30:00 +0000 UTC'."""
    if not iso:
        return ""
    try:
        moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return iso
    return moment.strftime("%Y-%m-%d %H:%M:%S +0000 UTC")


def _send(result: Any, request: Mapping[str, Any]) -> Shaped:
    phone = result.get("to") or result.get("chat") or request.get("phone", "")
    names = {"phone": phone, "timestamp": go_time(result.get("timestamp"))}
    return {"message_id": result["id"]}, names


def _with_status(message_id: str, status: str) -> Shaped:
    """That API's answer to a call that sends no message: an id naming it and a status line,
    which is the envelope's message too."""
    return {"message_id": message_id, "status": status}, {"status": status}


def _presence(result: Any, request: Mapping[str, Any]) -> Shaped:
    return _with_status("presence", f"Send presence success {result['presence']}")


def _chat_presence(result: Any, request: Mapping[str, Any]) -> Shaped:
    action = "start" if result["state"] != "paused" else "stop"
    return _with_status(
        f"chat-presence-{action}", f"Send chat presence {action} typing success {request.get('phone', '')}"
    )


def _read(result: Any, request: Mapping[str, Any]) -> Shaped:
    message_id = result["ids"][0] if result.get("ids") else request.get("message_id", "")
    return _with_status(message_id, f"Mark as read success {message_id}")


def _device(device: str) -> dict[str, Any]:
    """'15551234567:3@s.whatsapp.net' as that API's device entry."""
    user_part, _, server = device.partition("@")
    user, _, number = user_part.partition(":")
    number = number or "0"
    platform = _PLATFORM_OF_DEVICE.get(number, "UNKNOWN")
    return {"User": user, "Agent": 0, "Device": platform, "Server": server, "AD": f"{user}.0:{number}@{server}"}


def _user_info(result: Any, request: Mapping[str, Any]) -> Shaped:
    data = [
        {
            "name": "",
            "verified_name": user.get("verified_name") or "",
            "status": user.get("status") or "",
            "picture_id": user.get("picture_id") or "",
            "devices": [_device(device) for device in user.get("devices") or []],
        }
        for user in result.get("users", [])
    ]
    # that server answers {"data": [...]}; its openapi.yaml documents one user's fields flat.
    flat = {key: value for key, value in data[0].items() if key != "name"} if data else {}
    return {**flat, "data": data}, {}


def _avatar(result: Any, request: Mapping[str, Any]) -> Shaped:
    return {"url": result.get("url") or "", "id": result.get("id") or "", "type": result.get("type") or ""}, {}


def _privacy(result: Any, request: Mapping[str, Any]) -> Shaped:
    return dict(result), {}


def _participant_go(member: Mapping[str, Any]) -> dict[str, Any]:
    """A wagw participant as whatsmeow's GroupParticipant (JID: the LID when WhatsApp gave one)."""
    phone = member.get("jid") or ""
    lid = member.get("lid") or ""
    return {
        "JID": lid or phone,
        "PhoneNumber": phone if phone.endswith("@" + USER_SERVER) else "",
        "LID": lid,
        "IsAdmin": bool(member.get("is_admin")),
        "IsSuperAdmin": bool(member.get("is_super_admin")),
        "DisplayName": member.get("display_name") or "",
    }


def group_go(group: Mapping[str, Any]) -> dict[str, Any]:
    """wagw's group_info as whatsmeow's GroupInfo JSON (the fields wagw knows)."""
    participants = group.get("participants") or []
    return {
        "JID": group.get("jid") or "",
        "OwnerJID": group.get("owner") or "",
        "Name": group.get("name") or "",
        "Topic": group.get("topic") or "",
        "GroupCreated": group.get("created") or "",
        "IsLocked": bool(group.get("locked")),
        "IsAnnounce": bool(group.get("announce")),
        "ParticipantCount": len(participants),
        "Participants": [_participant_go(member) for member in participants],
    }


def _groups(result: Any, request: Mapping[str, Any]) -> Shaped:
    return {"data": [group_go(group) for group in result.get("groups", [])]}, {}


def _group_info(result: Any, request: Mapping[str, Any]) -> Shaped:
    return group_go(result), {}


def _contacts(result: Any, request: Mapping[str, Any]) -> Shaped:
    return {"data": [{"jid": c["jid"], "name": c.get("name") or ""} for c in result.get("contacts", [])]}, {}


def _check(result: Any, request: Mapping[str, Any]) -> Shaped:
    answers = result.get("results") or [{}]
    return {"is_on_whatsapp": bool(answers[0].get("is_on_whatsapp"))}, {}


def _disappearing(result: Any, request: Mapping[str, Any]) -> Shaped:
    seconds = result["seconds"]
    message = f"Disappearing messages set to {seconds} seconds" if seconds else "Disappearing messages disabled"
    results = {"status": "success", "message": message, "chat_jid": result["chat"], "timer_seconds": seconds}
    return results, {"message": message}


def _create_group(result: Any, request: Mapping[str, Any]) -> Shaped:
    return {"group_id": result["jid"]}, {"group_id": result["jid"]}


def _participant_item(member: Mapping[str, Any]) -> dict[str, Any]:
    go = _participant_go(member)
    item: dict[str, Any] = {
        "jid": go["JID"],
        "phone_number": go["PhoneNumber"],
        "is_admin": go["IsAdmin"],
        "is_super_admin": go["IsSuperAdmin"],
    }
    # omitted when empty, as there
    if go["LID"]:
        item["lid"] = go["LID"]
    if go["DisplayName"]:
        item["display_name"] = go["DisplayName"]
    return item


def _participants(result: Any, request: Mapping[str, Any]) -> Shaped:
    members = [_participant_item(member) for member in result.get("participants") or []]
    return {"group_id": result["jid"], "name": result.get("name") or "", "participants": members}, {}


CSV_HEADER = ("participant_jid", "phone_number", "lid", "display_name", "role")


def participants_csv(result: Mapping[str, Any]) -> tuple[str, str]:
    """(file name, CSV text) of a group's participants, as that API exports them."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for member in result.get("participants") or []:
        go = _participant_go(member)
        role = "super_admin" if go["IsSuperAdmin"] else "admin" if go["IsAdmin"] else "member"
        writer.writerow((go["JID"], go["PhoneNumber"], go["LID"], go["DisplayName"], role))
    name = "group-{}-participants.csv".format(str(result.get("jid", "")).replace("@", "_"))
    return name, out.getvalue()


def _participant_changes(result: Any, request: Mapping[str, Any]) -> Shaped:
    action = result.get("action", "")
    changes = []
    for member in result.get("participants") or []:
        code = member.get("error")
        if code is None:
            changes.append({"participant": member["jid"], "status": "success", "message": "Action success"})
        else:
            changes.append(
                {"participant": member["jid"], "status": "error", "message": f"Action {action} failed (code {code})"}
            )
    return changes, {}


def _requests(result: Any, request: Mapping[str, Any]) -> Shaped:
    items = []
    for one in result.get("requests") or []:
        jid = one.get("jid") or ""
        phone = jid.partition("@")[0] if jid.endswith("@" + USER_SERVER) else ""
        items.append({"jid": jid, "phone_number": phone, "requested_at": one.get("requested_at") or ""})
    return items, {}


def _join(result: Any, request: Mapping[str, Any]) -> Shaped:
    return {"group_id": result["jid"]}, {}


def _info_from_link(result: Any, request: Mapping[str, Any]) -> Shaped:
    topic = result.get("topic") or ""
    return {
        "group_id": result["jid"],
        "name": result.get("name") or "",
        "topic": topic,
        "created_at": result.get("created") or "",
        "participant_count": len(result.get("participants") or []),
        "is_locked": bool(result.get("locked")),
        "is_announce": bool(result.get("announce")),
        "description": topic,
    }, {}


def _photo(result: Any, request: Mapping[str, Any]) -> Shaped:
    return {"picture_id": result.get("picture_id") or "", "message": "Success update group photo"}, {}


def _locked(result: Any, request: Mapping[str, Any]) -> Shaped:
    state = "locked" if result["locked"] else "unlocked"
    return None, {"message": f"Success set group as {state}"}


def _announce(result: Any, request: Mapping[str, Any]) -> Shaped:
    state = "enable" if result["announce"] else "disable"
    return None, {"message": f"Success {state} announce mode"}


def _topic(result: Any, request: Mapping[str, Any]) -> Shaped:
    removed = not result.get("topic")
    return None, {"message": "Success remove group topic" if removed else "Success update group topic"}


def _invite_link(result: Any, request: Mapping[str, Any]) -> Shaped:
    return {"invite_link": result["link"], "group_id": result["jid"]}, {}


def _download(result: Any, request: Mapping[str, Any]) -> Shaped:
    path = str(result.get("path") or "")
    status = f"Media downloaded successfully to {path}"
    shaped = {
        "message_id": request.get("message_id", ""),
        "status": status,
        "media_type": request.get("media_type", ""),
        "filename": path.rpartition("/")[2],
        "file_path": path,
        "file_size": result.get("size"),
    }
    return shaped, {"status": status}


def _none(result: Any, request: Mapping[str, Any]) -> Shaped:
    return None, {}


def app_info() -> dict[str, Any]:
    """`GET /app/info`'s results: what this server is and the media caps it applies."""
    return {
        "version": f"wagw {__version__}",
        "os": "wagw",
        "base_path": "",
        "max_file_size": MAX_DOCUMENT_BYTES,
        "max_video_size": MAX_IMAGE_BYTES,
        "max_image_size": MAX_IMAGE_BYTES,
        "chatwoot_enabled": False,
    }


def _app_info(result: Any, request: Mapping[str, Any]) -> Shaped:
    return app_info(), {}


# name -> (shape, how its results fields come from the job's result, for docs/api-gowa.md)
SHAPES: dict[str, tuple[Shape, str]] = {
    "send": (
        _send,
        '`message_id` = `id`; `status` = the message (as there: "… sent to <phone> (server timestamp: …)")',
    ),
    "message_action": (
        _send,  # a reaction, revoke or edit is a message of its own, answered as a send
        "`message_id` = `id` (the reaction's, revoke's or edit's own); `status` = the message",
    ),
    "presence": (_presence, '`message_id` = `presence`; `status` = "Send presence success <type>"'),
    "chat_presence": (_chat_presence, "`message_id` = `chat-presence-start`/`-stop`; `status` = the message"),
    "read": (_read, '`message_id` = the message id; `status` = "Mark as read success <id>"'),
    "user_info": (
        _user_info,
        "`data[]` = `users[]`: `verified_name`, `status`, `picture_id`, `devices[]` (`User`, `Agent`, `Device`, "
        "`Server`, `AD` from each device JID); the first user's fields also at the top",
    ),
    "avatar": (_avatar, "`url`, `id`, `type` (empty strings when there is no picture)"),
    "privacy": (
        _privacy,
        "`group_add`, `last_seen`, `status`, `profile`, `read_receipts` (+ wagw's `call_add`, `online`)",
    ),
    "groups": (_groups, "`data[]` = `groups[]` as whatsmeow GroupInfo (`JID`, `OwnerJID`, `Name`, `Topic`, …)"),
    "group_info": (
        _group_info,
        "the group as whatsmeow GroupInfo (`JID`, `OwnerJID`, `Name`, `Topic`, `Participants`, …)",
    ),
    "contacts": (_contacts, "`data[]` = `contacts[]`: `jid`, `name`"),
    "check": (_check, "`is_on_whatsapp` = `results[0].is_on_whatsapp`"),
    "disappearing": (_disappearing, "`status`, `message`, `chat_jid` = `chat`, `timer_seconds` = `seconds`"),
    "create_group": (_create_group, "`group_id` = `jid`"),
    "participants": (
        _participants,
        "`group_id` = `jid`, `name`, `participants[]`: `jid` (the LID when WhatsApp gave one), `phone_number`, "
        "`lid`, `display_name`, `is_admin`, `is_super_admin`",
    ),
    "participants_csv": (_none, "a CSV file: `participant_jid`, `phone_number`, `lid`, `display_name`, `role`"),
    "participant_changes": (
        _participant_changes,
        "a list: `participant` = `participants[].jid`, `status` `success`/`error`, `message`",
    ),
    "requests": (_requests, "a list: `jid`, `phone_number`, `requested_at`"),
    "join": (_join, "`group_id` = `jid`"),
    "info_from_link": (
        _info_from_link,
        "`group_id` = `jid`, `name`, `topic`, `created_at` = `created`, `participant_count`, `is_locked`, "
        "`is_announce`, `description` = `topic`",
    ),
    "photo": (_photo, "`picture_id`, `message`"),
    "locked": (_locked, "none (the message says which)"),
    "announce": (_announce, "none (the message says which)"),
    "topic": (_topic, "none (the message says which)"),
    "invite_link": (_invite_link, "`invite_link` = `link`, `group_id` = `jid`"),
    "app_info": (
        _app_info,
        "`version`, `os`, `base_path`, `max_file_size`, `max_video_size`, `max_image_size`, `chatwoot_enabled`",
    ),
    "download": (
        _download,
        "`message_id`, `status`, `media_type` (the message's kind), `filename`, `file_path` = `path`, "
        "`file_size` = `size`",
    ),
    "history_chats": (
        _none,
        "`data[]` (`jid`, `name`, `last_message_time`, …), `pagination` (`limit`, `offset`, `total`)",
    ),
    "history_messages": (
        _none,
        "`data[]` (`id`, `chat_jid`, `sender_jid`, `content`, `timestamp`, `is_from_me`, `media_type`, …), "
        "`pagination`, `chat_info`",
    ),
    "none": (_none, "none"),
}

# Shapes whose results carry `status` = the envelope's message, as that API's sends do.
WITH_STATUS = frozenset({"send", "message_action"})


def shape(name: str, result: Any, request: Mapping[str, Any], template: str) -> tuple[Any, str]:
    """(results, message) for a finished job's result."""
    function, _ = SHAPES[name]
    results, names = function(result, request)
    message = template.format_map(_Blank({**request, **names})) if template else ""
    if name in WITH_STATUS:
        results = {**results, "status": message}
    return results, message


class _Blank(dict[str, Any]):
    """format_map with missing names left empty."""

    def __missing__(self, key: str) -> str:
        return ""
