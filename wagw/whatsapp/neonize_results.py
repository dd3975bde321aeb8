"""neonize's reply protos -> wagw's result shapes (wagw.whatsapp.results).

Works on the protos by field name only (no neonize import), like neonize_events, so the
unit tests can feed it neonize's own proto classes without loading the Go library.
"""

from __future__ import annotations

import struct
from typing import Any

from wagw.addresses import USER_SERVER
from wagw.whatsapp import results
from wagw.whatsapp.neonize_events import jid_str


def _float32(value: float) -> float:
    """`value` as Go's float32(value) would store it (round to nearest, as Go does)."""
    return struct.unpack("<f", struct.pack("<f", value))[0]


def group_created(info: Any) -> int | None:
    """A group's creation time in unix seconds, as exact as neonize lets it be.

    goneonize sends GroupInfo.GroupCreated as a 32-bit float: 24 bits of mantissa, so for
    today's times (2^30..2^31 s) it is a multiple of 128 s, up to 64 s off. The exact time
    is often elsewhere in the same reply: a legacy group JID "<creator>-<unix time>@g.us"
    carries it, and a group's name is usually set when the group is created (whatsmeow's
    NameSetAt, then TopicSetAt). A candidate that rounds to the same float32 is within the
    float's own error of the true time, so it is used; otherwise the float itself is.
    """
    created = float(info.GroupCreated or 0)
    if created <= 0:
        return None
    candidates: list[int] = []
    user = info.JID.User if info.HasField("JID") else ""
    if "-" in user and user.rsplit("-", 1)[1].isdigit():
        candidates.append(int(user.rsplit("-", 1)[1]))
    if info.HasField("GroupName"):
        candidates.append(int(info.GroupName.NameSetAt or 0))
    if info.HasField("GroupTopic"):
        candidates.append(int(info.GroupTopic.TopicSetAt or 0))
    for candidate in candidates:
        if candidate > 0 and _float32(candidate) == created:
            return candidate
    return round(created)


def group(info: Any) -> dict:
    """neonize GroupInfo proto -> the group_info result shape."""
    participants = [
        results.participant(
            jid_str(p.PhoneNumber) or jid_str(p.JID) or "",
            jid_str(p.LID),
            p.IsAdmin,
            p.IsSuperAdmin,
            p.DisplayName,
        )
        for p in info.Participants
    ]
    owner = jid_str(info.OwnerPN) or jid_str(info.OwnerJID)
    return results.group(
        jid_str(info.JID) or "",
        info.GroupName.Name,
        info.GroupTopic.Topic,
        owner,
        group_created(info),
        info.GroupAnnounce.IsAnnounce,
        info.GroupLocked.isLocked,
        participants,
    )


def _verified_name(item: Any) -> str | None:
    return item.VerifiedName.Details.verifiedName if item.HasField("VerifiedName") else None


def on_whatsapp(phones: list[str], found: Any) -> dict:
    """is_on_whatsapp's result from neonize's IsOnWhatsAppResponse list.

    whatsmeow queries with addressing_mode "lid", so WhatsApp now answers a registered
    number with its LID (…@lid); neonize passes on only that JID and the query (not the
    phone-number JID whatsmeow also gets). So `jid` is the phone-number JID, from the answer
    when it is one, else built from the number asked about, and `lid` the LID when WhatsApp
    gave one. A number WhatsApp did not answer for (an invalid one) is not on WhatsApp.
    """
    by_digits = {item.Query.lstrip("+"): item for item in found}
    entries = []
    for phone in phones:
        digits = phone.lstrip("+")
        item = by_digits.get(digits)
        if item is None or not item.IsIn:
            entries.append(results.on_whatsapp(phone, None, False, None))
            continue
        answered = jid_str(item.JID)
        lid = answered if answered and answered.endswith("@lid") else None
        jid = answered if answered and not lid else f"{digits}@{USER_SERVER}"
        entries.append(results.on_whatsapp(phone, jid, True, _verified_name(item), lid=lid))
    return results.on_whatsapp_results(entries)


# neonize.proto.Neonize_pb2.PrivacySettings.PrivacySetting: 1 UNDEFINED, 2 ALL … 7 NONE.
_PRIVACY_BY_NUMBER = dict(enumerate(results.PRIVACY_VALUES, start=2))
_PRIVACY_FIELDS = {
    "group_add": "GroupAdd",
    "last_seen": "LastSeen",
    "status": "Status",
    "profile": "Profile",
    "read_receipts": "ReadReceipts",
    "call_add": "CallAdd",
    "online": "Online",
}


def privacy(settings: Any) -> dict:
    """neonize's PrivacySettings proto -> the my_privacy result shape (UNDEFINED -> null)."""
    return results.privacy(
        {name: _PRIVACY_BY_NUMBER.get(getattr(settings, field)) for name, field in _PRIVACY_FIELDS.items()}
    )


def contacts(found: Any) -> dict:
    """neonize's Contact list (JID + ContactInfo) -> the contacts result shape."""
    return results.contacts(
        [
            results.contact(
                jid_str(item.JID) or "",
                item.Info.FirstName,
                item.Info.FullName,
                item.Info.PushName,
                item.Info.BusinessName,
            )
            for item in found
        ]
    )


def join_requests(group_jid: str, found: Any) -> dict:
    """group_requests' result from neonize's GroupParticipantRequest list. goneonize sends
    TimeAt as RequestedAt.UnixMicro(): microseconds."""
    return results.join_requests(
        group_jid,
        [results.join_request(jid_str(item.Participant) or "", (item.TimeAt / 1e6) or None) for item in found],
    )


def participants_changed(group_jid: str, action: str, found: Any) -> dict:
    """group_participants' result from neonize's GroupParticipant list (Error: WhatsApp's
    code for that person, 0 when the change was made)."""
    entries = []
    for p in found:
        request = p.AddRequest if p.HasField("AddRequest") else None
        entries.append(
            results.participant_change(
                jid_str(p.PhoneNumber) or jid_str(p.JID) or "",
                jid_str(p.LID),
                p.Error,
                request.Code if request is not None else None,
                request.Expiration if request is not None else None,  # float32 unix seconds
            )
        )
    return results.participants_changed(group_jid, action, entries)
