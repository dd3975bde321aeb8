"""Which devices a whatsmeow store holds, read through neonize's Go `GetAllDevices`.

neonize's own `ClientFactory.get_all_devices_from_db` cannot be used: it splits every row on
"," into exactly four fields, so a push or business name with a comma ("Acme, Inc.") raises
ValueError, and a store that cannot be opened comes back as the text "error: …", which it
parses as a device row (ValueError again). Either way the session, every native host and
the pairing child died with an unexplained exit 1.

What the Go side returns (goneonize's GetAllDevices, neonize 0.5.2): one C string, either
`error: <whatsmeow's error>` or the rows joined by "|\\x01|", each row
`<jid>,<push name>,<business name>,<true|false>`. A JID never contains a comma and the last
field never does either, so the JID is everything before the first comma and the flag
everything after the last one, whatever the names contain. wagw needs only the JIDs.
"""

from __future__ import annotations

import re

from wagw.whatsapp.backend import ConnectFailure

ROW_SEPARATOR = "|\x01|"
ERROR_PREFIX = "error: "
# "15550001111:7@s.whatsapp.net,<names…>,true": a row starts with a JID and ends with the flag.
_ROW = re.compile(r"(?P<jid>[^,@\s|]+@[a-z.]+),(?P<names>.*),(?P<initialized>true|false)", re.DOTALL)


def parse_devices(raw: str) -> list[str]:
    """GetAllDevices' text -> device JIDs ("user:device@server"); ConnectFailure for its errors
    (an unreadable store is treated like network trouble: exit 75, restart with backoff).

    A name that happens to contain the row separator is rejoined with its row: a piece that
    does not start like a row continues the one before it.
    """
    if raw.startswith(ERROR_PREFIX):
        raise ConnectFailure(f"the device store cannot be read: {raw[len(ERROR_PREFIX) :]}")
    if not raw:
        return []
    rows: list[str] = []
    for piece in raw.split(ROW_SEPARATOR):
        if rows and not re.match(r"[^,@\s|]+@[a-z.]+,", piece):
            rows[-1] += ROW_SEPARATOR + piece
        else:
            rows.append(piece)
    jids = []
    for row in rows:
        match = _ROW.fullmatch(row)
        if match is None:
            raise ConnectFailure(f"the device store returned a row wagw cannot read: {row[:80]!r}")
        jids.append(match["jid"])
    return jids


def stored_devices(store: str) -> list[str]:
    """JIDs of the devices in a store (sqlite path or postgres URL); [] when it holds none.

    Runs neonize's real Go store code (whatsmeow's sqlstore), which also creates the schema
    of a new sqlite file.
    """
    from wagw.whatsapp import native

    neonize = native.load()
    binder = neonize.binder
    # A log callback for the Go side, kept alive for the duration of the call.
    log_callback = binder.func_callback_bytes2(neonize.client.log_whatsmeow)
    raw = binder.gocode.GetAllDevices(store.encode(), log_callback)
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw or "")
    return parse_devices(text)
