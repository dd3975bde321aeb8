"""`wagw pair [--role session|worker-N|all] [--phone +NUMBER] [--force] [--timeout S]`.

Links a device role to the phone: a QR code in the terminal (and as a PNG in the data dir,
`pair-<role>.png`, refreshed as WhatsApp rotates it), or an 8-character pairing code for
`--phone`. `--role all` pairs the session device, then every wa-worker slot in turn. Each
paired role's JID is recorded in the Redis hash `wagw:devices`. A role that is already paired
is left as it is, saying so, and the command exits 0 (the same with `--role all`), unless
`--force`, which moves the old sqlite store aside and links a new device. `--ask` first asks
on the terminal: QR code, phone number or skip (what `wagw run` runs when it finds a device
unpaired on a terminal).

Each pairing also records its time (wagw.devices.record_pairing): a running daemon restarts a
process that gave up for want of keys, and a wa-worker slot spawns a fresh native host, so a
device paired while wagw runs connects without a restart of anything else.

The neonize connection runs in a child process with a deadline: after a QR expires,
neonize's connect() may never return, and only killing the process ends it. The parent
stays pure Python. With the fake backend, pairing is simulated (see wagw.whatsapp.fake).
"""

from __future__ import annotations

import argparse
import multiprocessing
import select
import sys
import time
from pathlib import Path
from typing import Any

from loguru import logger

from wagw import accounts, devices, keys
from wagw.addresses import normalize_phone
from wagw.config import Settings
from wagw.devices import DeviceState
from wagw.exitcodes import ExitCode
from wagw.names import SESSION, pairing_name, slot_of_role
from wagw.redisconn import connect

# Extra time the parent grants the child past the pairing timeout before killing it.
KILL_MARGIN = 5.0


class PairingError(Exception):
    pass


def roles_for(settings: Settings, role: str, account_name: str | None = None) -> list[str]:
    """The device roles `--role` (and `--account`) name, as the account spells them. A role
    may also be given qualified (`sales/session`); `all` without an account is every account's."""
    if "/" in role:
        account_name, _, role = role.rpartition("/")
    if role == "all" and account_name is None:
        return [each for account in accounts.configured(settings) for each in account.roles()]
    try:
        account = accounts.find(settings, account_name)
    except ValueError as error:
        raise PairingError(str(error)) from None
    if role == "all":
        return account.roles()
    slot = slot_of_role(role)
    if role != SESSION and slot is None:
        raise PairingError(f"unknown role {role!r}: use session, worker-N or all")
    if slot is not None and slot > account.wa_workers:
        raise PairingError(f"{role} does not exist: account {account.name} has {account.wa_workers} wa-worker slot(s)")
    return [account.role(role)]


def qr_png_path(settings: Settings, role: str) -> Path:
    return settings.data_dir.resolve() / f"pair-{role.replace('/', '-')}.png"


# The child -------------------------------------------------------------------------------


def _show_qr(data: str, png: Path) -> None:
    import qrcode

    qr = qrcode.QRCode(border=1)
    qr.add_data(data)
    qr.make(fit=True)
    qr.print_ascii(out=sys.stdout, invert=True)
    png.parent.mkdir(parents=True, exist_ok=True)
    qr.make_image().save(png)
    print(f"Scan with WhatsApp > Linked devices > Link a device (also saved as {png})", flush=True)


def pairing_client(backend: Any) -> Any:
    """The neonize client that links a new device for a NeonizeBackend's role, named in the
    phone's Linked Devices as that role (neonize_backend.device_props)."""
    from wagw.whatsapp import native
    from wagw.whatsapp.neonize_backend import device_props

    return native.load().client.NewClient(
        backend.store,
        props=device_props(backend.role),
        uuid=f"wagw-pair-{backend.role}",
        new_device=backend.uses_postgres,
    )


def pair_child(settings: Settings, role: str, phone: str | None, force: bool, timeout: float, report) -> None:
    """Runs in the child: pair one role and send {"status", "jid"|"error"} through `report`.

    Loads neonize, so it must run in a process that will not fork afterwards.
    """
    import os
    import threading

    from wagw.logs import configure_logging

    configure_logging(settings, pairing_name(role), wire=False)
    from wagw.whatsapp import native
    from wagw.whatsapp.backend import BackendError
    from wagw.whatsapp.neonize_backend import NeonizeBackend, jid_text

    backend = NeonizeBackend(settings, role)
    try:
        existing = backend.find_device()
    except BackendError as error:  # an unreadable store, a missing system library
        report.send({"status": "failed", "error": str(error)})
        report.close()
        return
    if existing and not force:
        report.send({"status": "already_paired", "jid": existing})
        return
    if existing and not backend.uses_postgres:
        old = Path(backend.store)
        old.rename(old.with_name(f"{old.name}.replaced-{int(time.time())}"))
        logger.warning("moved the old store of {} aside; remove the old linked device on the phone", role)

    neonize = native.load()
    ConnectedEv, PairStatusEv = neonize.events.ConnectedEv, neonize.events.PairStatusEv

    done = threading.Event()
    outcome: dict = {}
    png = qr_png_path(settings, role)
    client = pairing_client(backend)

    def on_qr(_client, data: bytes) -> None:
        if phone:
            if not outcome.get("code_requested"):
                outcome["code_requested"] = True
                threading.Thread(target=request_code, daemon=True).start()
            return
        _show_qr(data.decode() if isinstance(data, bytes) else str(data), png)

    def request_code() -> None:
        try:
            # The pairing code's client type is the platform's (whatsmeow pair-code.go:
            # PairClientType), which neonize would misread from the props (SAFARI is 5 there,
            # OPERA in its ClientType): named here.
            safari = neonize.enum.ClientType.SAFARI
            code = client.PairPhone(phone, show_push_notification=True, client_type=safari)
            print(f"Pairing code for {role}: {code}  (WhatsApp > Linked devices > Link with phone number)", flush=True)
        except Exception as error:
            outcome.update(status="failed", error=f"pairing code request failed: {error}")
            done.set()

    def on_pair(_client, event) -> None:
        if event.Status == 2:  # PairStatus.SUCCESS
            outcome.update(status="paired", jid=jid_text(event.ID))
            logger.info("{} paired as {}", role, outcome["jid"])
        else:
            outcome.update(status="failed", error=f"pairing failed: {event.Error or 'rejected'}")
            done.set()

    def on_connected(_client, event) -> None:
        if outcome.get("status") == "paired":
            done.set()

    client.event.qr(on_qr)
    client.event(PairStatusEv)(on_pair)
    client.event(ConnectedEv)(on_connected)

    def run() -> None:
        try:
            client.connect()
        except Exception as error:
            outcome.setdefault("status", "failed")
            outcome.setdefault("error", f"cannot connect to WhatsApp: {error}")
        done.set()

    threading.Thread(target=run, daemon=True).start()
    done.wait(timeout)
    if "status" not in outcome:
        outcome.update(status="failed", error=f"not paired within {timeout:g}s")
    outcome.pop("code_requested", None)
    if outcome.get("status") == "paired" and not outcome.get("jid"):
        outcome.update(status="failed", error="paired, but WhatsApp sent no device JID")
    report.send(outcome)
    report.close()
    # neonize's connect()/stop() can block forever after a QR expires: leave without them.
    sys.stdout.flush()
    os._exit(ExitCode.OK)


# The parent ------------------------------------------------------------------------------


def run_child(settings: Settings, role: str, phone: str | None, force: bool, timeout: float, target=pair_child) -> dict:
    """Pair one role in a spawned child; kill it if it outlives timeout + KILL_MARGIN."""
    ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: nothing inherited, no fork
    receiver, sender = ctx.Pipe(duplex=False)
    child = ctx.Process(
        target=target, args=(settings, role, phone, force, timeout, sender), name=pairing_name(role), daemon=True
    )
    child.start()
    sender.close()
    deadline = time.monotonic() + timeout + KILL_MARGIN
    result: dict | None = None
    try:
        while time.monotonic() < deadline:
            if receiver.poll(0.1):
                result = receiver.recv()
                break
            if not child.is_alive():
                break
    except EOFError:
        result = None
    finally:
        child.join(timeout=3 if result is not None else 0.1)  # an answer is followed by a quick exit
        if child.is_alive():
            logger.warning("the pairing child for {} is stuck (neonize connect after QR expiry); killing it", role)
            child.kill()
            child.join(timeout=5)
        # A QR code logs a device in while it is valid: it must not outlive the pairing.
        qr_png_path(settings, role).unlink(missing_ok=True)
    if result is None:
        if child.exitcode is not None and child.exitcode != 0 and time.monotonic() < deadline:
            return {"status": "failed", "error": f"the pairing process died ({ExitCode.describe(child.exitcode)})"}
        return {"status": "failed", "error": f"no answer within {timeout:g}s (pairing process killed)"}
    return result


def pair_fake(settings: Settings, conn, role: str, force: bool) -> dict:
    """The fake backend's simulated pairing: clear a simulated unpaired/logged-out state."""
    from wagw.whatsapp.fake import fake_device_jid

    state = conn.hget(keys.FAKE_DEVICE_STATE, role)
    state = state.decode() if state else None
    if state not in (DeviceState.UNPAIRED, DeviceState.LOGGED_OUT) and not force:
        recorded = conn.hget(keys.DEVICE_JIDS, role)
        return {"status": "already_paired", "jid": recorded.decode() if recorded else fake_device_jid(role)}
    conn.hdel(keys.FAKE_DEVICE_STATE, role)
    print(f"fake backend: {role} paired (simulated, no phone involved)", flush=True)
    return {"status": "paired", "jid": fake_device_jid(role)}


def _phone_argument(value: str) -> str:
    try:
        return normalize_phone(value)
    except ValueError as error:
        raise PairingError(f"--phone: {error}; give the international number, like +15551234567") from None


# Asking on the terminal (`--ask`, what `wagw run` runs on a terminal) ---------------------

SKIP = "skip"
# Nobody answering a question within this long counts as "skip": a `wagw run` left on a
# terminal must not hold its log back forever.
ASK_TIMEOUT = 120.0


def timed_input(prompt: str, timeout: float = ASK_TIMEOUT) -> str:
    """input(), but EOFError when no line arrives within `timeout` seconds."""
    sys.stdout.write(prompt)
    sys.stdout.flush()
    ready, _, _ = select.select([sys.stdin], [], [], timeout)
    line = sys.stdin.readline() if ready else ""
    if not line:
        if not ready:
            print(f"\n(no answer within {timeout:g} s)", flush=True)
        raise EOFError
    return line.rstrip("\n")


def ask_method(roles: list[str], read=timed_input, write=print) -> str | None:
    """Ask how to pair: None for a QR code, a phone number (digits) for a pairing code, or
    SKIP. End of input counts as skip."""
    write(
        f"Link wagw's WhatsApp devices ({', '.join(roles)}) to your phone:\n"
        "  Enter           show a QR code to scan (WhatsApp > Settings > Linked devices > Link a device)\n"
        "  +NUMBER Enter   get an 8-character code to type on the phone instead (e.g. +15551234567)\n"
        "  s Enter         skip; pair later with `wagw pair --role all`",
        flush=True,
    )
    while True:
        try:
            answer = read("pair> ").strip()
        except EOFError:
            return SKIP
        if not answer:
            return None
        if answer.lower() in ("s", "skip", "q", "n", "no"):
            return SKIP
        try:
            return _phone_argument(answer)
        except PairingError as error:
            write(f"{error}; or press Enter for a QR code, s to skip", flush=True)


def ask_again(role: str, read=timed_input) -> bool:
    """After a failed pairing: try `role` again?"""
    try:
        answer = read(f"try {role} again? [Enter: yes, s: skip] ").strip().lower()
    except EOFError:
        return False
    return answer in ("", "y", "yes")


def pair_role(settings: Settings, conn, role: str, phone: str | None, force: bool, timeout: float) -> dict:
    if settings.backend == "fake":
        return pair_fake(settings, conn, role, force)
    return run_child(settings, role, phone, force, timeout)


def phones_of(roles: list[str]) -> dict[str, list[str]]:
    """Roles grouped by the phone they link to: one group per account, in order."""
    groups: dict[str, list[str]] = {}
    for role in roles:
        groups.setdefault(role.rpartition("/")[0], []).append(role)
    return groups


def main(settings: Settings, args: argparse.Namespace) -> int:
    try:
        roles = roles_for(settings, getattr(args, "role", None) or SESSION, getattr(args, "account", None))
        phone = _phone_argument(args.phone) if getattr(args, "phone", None) else None
        if phone is not None and len(phones_of(roles)) > 1:
            raise PairingError("--phone links one account's devices (one phone): add --account NAME")
    except PairingError as error:
        print(f"wagw pair: {error}", file=sys.stderr)
        return ExitCode.USAGE
    force = bool(getattr(args, "force", False))
    timeout = float(getattr(args, "timeout", None) or 180.0)
    ask = bool(getattr(args, "ask", False))
    conn = connect(settings)
    failures = paired_groups = newly_paired = 0
    for group in phones_of(roles).values():  # each account is its own phone: asked separately
        group_phone = phone
        if ask and phone is None:
            method = ask_method(group)
            if method == SKIP:
                print(
                    f"not pairing now ({', '.join(group)}): run `wagw pair --role all` when you are ready", flush=True
                )
                continue
            group_phone = method
        paired_groups += 1
        failed, paired = _pair_all(settings, conn, group, group_phone, force, timeout, ask)
        failures, newly_paired = failures + failed, newly_paired + paired
    if not paired_groups:
        return ExitCode.OK
    if failures:
        return ExitCode.FAILURE
    if newly_paired:
        print("done: a running wagw connects the paired devices by itself; otherwise start it (`wagw run`)", flush=True)
    return ExitCode.OK


def _pair_all(
    settings: Settings, conn, roles: list[str], phone: str | None, force: bool, timeout: float, ask: bool
) -> tuple[int, int]:
    """Pair each role in turn; how many failed, and how many were paired now. A role already
    paired is left as it is (not a failure: `--force` links a new device in its place)."""
    failures = paired = 0
    for role in roles:
        print(f"== pairing {role} ==", flush=True)
        result = pair_role(settings, conn, role, phone, force, timeout)
        while ask and result.get("status") not in ("paired", "already_paired"):
            print(f"{role}: {result.get('error', 'pairing failed')}", file=sys.stderr, flush=True)
            if not ask_again(role):
                break
            result = pair_role(settings, conn, role, phone, force, timeout)
        status = result.get("status")
        if status == "paired":
            devices.record_pairing(conn, role, result["jid"])
            print(f"{role}: paired as {result['jid']}", flush=True)
            paired += 1
        elif status == "already_paired":
            conn.hset(keys.DEVICE_JIDS, role, result["jid"])
            print(
                f"{role}: already paired as {result['jid']}; nothing to do "
                f"(`wagw pair --role {role} --force` links a new device in its place)",
                flush=True,
            )
        else:
            if not ask:  # asking printed it already
                print(f"{role}: {result.get('error', 'pairing failed')}", file=sys.stderr, flush=True)
            failures += 1
    return failures, paired
