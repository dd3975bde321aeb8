"""The contact card (vCard 3.0) that send_contact sends, the same on both backends.

neonize's gen_vcard writes `FN:` only (phones that read the structured name `N:` show an
empty one), puts the name in unescaped (a `,` or `;` splits it on the phone) and labels the
number `Ponsel` (Indonesian for "mobile") through an `item1.X-ABLabel` group. This card is
what WhatsApp's own phones write: `N:` and `FN:` with the name escaped as RFC 2426 says, the
number formatted by country with `waid` (the card's "Message" and "Add" buttons) and typed
CELL, no label. Pure Python (phonenumbers): the wa-worker and the fake may import it.
"""

from __future__ import annotations

_ESCAPES = str.maketrans({"\\": "\\\\", ",": "\\,", ";": "\\;"})


def escape(text: str) -> str:
    """A vCard text value: backslash, comma and semicolon escaped (line breaks are refused
    before a name gets here: wagw.operations.args.SendContactArgs)."""
    return text.translate(_ESCAPES)


def vcard(name: str, digits: str) -> str:
    """The card of `name` with the international number `digits` (no "+")."""
    import phonenumbers

    shown = phonenumbers.format_number(phonenumbers.parse("+" + digits), phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    value = escape(name)
    return (
        "BEGIN:VCARD\nVERSION:3.0\n"
        f"N:;{value};;;\nFN:{value}\n"
        f"TEL;type=CELL;type=VOICE;waid={digits}:{shown}\n"
        "END:VCARD"
    )
