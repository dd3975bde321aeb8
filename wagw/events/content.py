"""What a `message` carries besides text, under go-whatsapp-web-multidevice's names: media
objects (and the `media` object download_media takes), locations, contact cards, polls and a
Click-to-WhatsApp ad's referral. Both backends build them here, so that a location from
neonize and from the fake are the same JSON.
"""

from __future__ import annotations

from typing import Any

MEDIA_KINDS = ("image", "video", "audio", "document", "sticker", "video_note")

# What download_media needs of a media message (docs/events.md "The media object").
DOWNLOAD_FIELDS = ("mime_type", "direct_path", "media_key", "file_sha256", "file_enc_sha256", "file_length")


def download_object(kind: str, obj: dict[str, Any]) -> dict[str, Any] | None:
    """The payload's top-level `media` object, the argument of download_media: the kind and
    what WhatsApp needs to find, decrypt and verify the file. None when the message lacks a
    direct path, key, either hash or length (nothing download_media could fetch)."""
    if not all(obj.get(name) for name in ("direct_path", "media_key", "file_sha256", "file_enc_sha256", "file_length")):
        return None
    media: dict[str, Any] = {"kind": kind}
    for name in DOWNLOAD_FIELDS:
        if obj.get(name) not in (None, ""):
            media[name] = obj[name]
    return media


def location(latitude: float, longitude: float, name: str | None = None, address: str | None = None) -> dict:
    """`location`: the fields of WhatsApp's LocationMessage that gateway's docs show."""
    found: dict[str, Any] = {"degreesLatitude": float(latitude), "degreesLongitude": float(longitude)}
    if name:
        found["name"] = name
    if address:
        found["address"] = address
    return found


def live_location(latitude: float, longitude: float) -> dict:
    return {"degreesLatitude": float(latitude), "degreesLongitude": float(longitude)}


def contact_card(display_name: str, vcard: str) -> dict:
    """`contact` (and each of `contacts_array`): name, vCard, and the vCard's first phone
    number as `phone_number` (omitted when it has none), as that gateway sends it."""
    card: dict[str, Any] = {"displayName": display_name, "vcard": vcard}
    phone = vcard_phone(vcard)
    if phone:
        card["phone_number"] = phone
    return card


def vcard_phone(vcard: str) -> str | None:
    """The value of a vCard's first TEL line (folded lines joined), or None."""
    lines: list[str] = []
    for raw in vcard.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if not raw.strip():
            continue
        if raw[:1] in (" ", "\t") and lines:  # RFC 6350 line folding
            lines[-1] += raw.strip()
        else:
            lines.append(raw.strip())
    for line in lines:
        if line.upper().startswith("TEL") and ":" in line:
            return line.rsplit(":", 1)[1].strip() or None
    return None


def poll(question: str, options: list[str], max_answers: int) -> dict:
    """`poll` (a wagw addition: that gateway documents none), named as send_poll's arguments."""
    return {"question": question, "options": list(options), "max_answers": int(max_answers)}


# `referral`: a Click-to-WhatsApp ad's attribution (WhatsApp's ExternalAdReplyInfo), under
# go-whatsapp's names. Texts are left out when empty; flags and enums when WhatsApp left
# them unset, as that gateway does.
REFERRAL_TEXTS = (
    "ctwa_clid",
    "source_url",
    "source_id",
    "ref",
    "source_app",
    "ad_title",
    "ad_body",
    "thumbnail_url",
    "original_image_url",
    "media_url",
    "greeting_message_body",
    "source_type",
)
REFERRAL_FLAGS = (
    "show_ad_attribution",
    "contains_auto_reply",
    "automated_greeting_message_shown",
    "click_to_whatsapp_call",
)
REFERRAL_CHOICES = {"media_type": ("NONE", "IMAGE", "VIDEO"), "ad_type": ("CTWA", "CAWC")}


def referral(**fields: Any) -> dict | None:
    """The `referral` object of a message that started from a Meta ad, or None when the ad
    carried nothing. `fields` are go-whatsapp's names (REFERRAL_*); None means unset."""
    unknown = set(fields) - {*REFERRAL_TEXTS, *REFERRAL_FLAGS, *REFERRAL_CHOICES}
    if unknown:
        raise ValueError(f"unknown referral fields {sorted(unknown)}")
    found: dict[str, Any] = {}
    for name in REFERRAL_TEXTS:
        if fields.get(name):
            found[name] = fields[name]
    for name, choices in REFERRAL_CHOICES.items():
        value = fields.get(name)
        if value is not None:
            if value not in choices:
                raise ValueError(f"unknown referral {name} {value!r}")
            found[name] = value
    for name in REFERRAL_FLAGS:
        if fields.get(name) is not None:
            found[name] = bool(fields[name])
    return found or None
