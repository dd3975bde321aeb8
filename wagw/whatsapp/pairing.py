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

`--publish ID` is how `wagw run` pairs a role the HTTP API asked for (wagw.devicecontrol):
the QR code or pairing code goes to Redis for the API instead of the terminal, and so does
the outcome. With the fake backend it then waits for the simulated phone, which takes a code
from the list wagw:fake:scans. `--logout` logs the roles out of WhatsApp instead: the phone
no longer lists them, and they wait for a pairing.
"""

from __future__ import annotations

import argparse
import multiprocessing
import secrets
import select
import sys
import time
from pathlib import Path
from typing import Any

from loguru import logger

from wagw import accounts, devicecontrol, devices, keys
from wagw.addresses import normalize_phone
from wagw.config import Settings
from wagw.devices import DeviceState
from wagw.exitcodes import ExitCode
from wagw.names import SESSION, pairing_name, slot_of_role
from wagw.redisconn import connect

# Extra time the parent grants the child past the pairing timeout before killing it.
KILL_MARGIN = 5.0
# How long a QR code is valid (whatsmeow: the first 60 s, each later one 20 s), and a pairing code.
FIRST_QR_SECONDS, NEXT_QR_SECONDS, CODE_SECONDS = 60.0, 20.0, 180.0


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


class Publisher:
    """Publishes a pairing the HTTP API asked for (wagw.devicecontrol): its QR code or pairing
    code, then its outcome. The codes go to Redis only, never to the log or the terminal."""

    def __init__(self, settings: Settings, role: str, pairing_id: str) -> None:
        self.conn = connect(settings)
        self.role = role
        self.id = pairing_id
        self.codes = 0

    def starting(self) -> None:
        devicecontrol.publish(self.conn, self.role, self.id, devicecontrol.STARTING)

    def qr(self, data: str) -> None:
        seconds = FIRST_QR_SECONDS if self.codes == 0 else NEXT_QR_SECONDS
        self.codes += 1
        devicecontrol.publish(self.conn, self.role, self.id, devicecontrol.QR, qr=data, expires=time.time() + seconds)
        logger.info("{}: QR code {} published for the HTTP API", self.role, self.codes)

    def code(self, code: str) -> None:
        devicecontrol.publish(
            self.conn, self.role, self.id, devicecontrol.CODE, code=code, expires=time.time() + CODE_SECONDS
        )
        logger.info("{}: pairing code published for the HTTP API", self.role)

    def outcome(self, result: dict) -> None:
        state = result.get("status")
        if state not in (devicecontrol.PAIRED, devicecontrol.ALREADY_PAIRED):
            state = devicecontrol.FAILED
        devicecontrol.publish(self.conn, self.role, self.id, state, jid=result.get("jid"), error=result.get("error"))


def pair_child(
    settings: Settings, role: str, phone: str | None, force: bool, timeout: float, report, publish: str | None = None
) -> None:
    """Runs in the child: pair one role and send {"status", "jid"|"error"} through `report`
    (with `publish`, the QR or pairing code goes to Redis for the HTTP API: Publisher).

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
    publisher = Publisher(settings, role, publish) if publish else None

    def on_qr(_client, data: bytes) -> None:
        if phone:
            if not outcome.get("code_requested"):
                outcome["code_requested"] = True
                threading.Thread(target=request_code, daemon=True).start()
            return
        text = data.decode() if isinstance(data, bytes) else str(data)
        if publisher is not None:
            publisher.qr(text)
        else:
            _show_qr(text, png)

    def request_code() -> None:
        try:
            # The pairing code's client type is the platform's (whatsmeow pair-code.go:
            # PairClientType), which neonize would misread from the props (SAFARI is 5 there,
            # OPERA in its ClientType): named here.
            safari = neonize.enum.ClientType.SAFARI
            code = client.PairPhone(phone, show_push_notification=True, client_type=safari)
            if publisher is not None:
                publisher.code(code)
            else:
                where = "WhatsApp > Linked devices > Link with phone number"
                print(f"Pairing code for {role}: {code}  ({where})", flush=True)
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


def run_child(
    settings: Settings,
    role: str,
    phone: str | None,
    force: bool,
    timeout: float,
    target=pair_child,
    publish: str | None = None,
) -> dict:
    """Pair one role in a spawned child; kill it if it outlives timeout + KILL_MARGIN."""
    ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: nothing inherited, no fork
    receiver, sender = ctx.Pipe(duplex=False)
    args = (settings, role, phone, force, timeout, sender) + ((publish,) if publish else ())
    child = ctx.Process(target=target, args=args, name=pairing_name(role), daemon=True)
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


def pair_fake_published(
    settings: Settings, conn, role: str, phone: str | None, force: bool, timeout: float, publisher: Publisher
) -> dict:
    """The fake backend's pairing for the HTTP API: publish a code, then wait for the simulated
    phone to take it (an entry of wagw:fake:scans equal to it), as a person scans a QR code."""
    from wagw.whatsapp.fake import fake_device_jid

    state = conn.hget(keys.FAKE_DEVICE_STATE, role)
    if (state.decode() if state else None) not in (DeviceState.UNPAIRED, DeviceState.LOGGED_OUT) and not force:
        return pair_fake(settings, conn, role, force)  # already paired
    if phone:
        code = f"{secrets.token_hex(2)}-{secrets.token_hex(2)}".upper()
        publisher.code(code)
    else:
        code = f"2@fake-{secrets.token_urlsafe(24)},{role}"
        publisher.qr(code)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if conn.lrem(keys.FAKE_SCANS, 1, code):
            conn.hdel(keys.FAKE_DEVICE_STATE, role)
            logger.info("fake backend: {} paired by the simulated phone", role)
            return {"status": "paired", "jid": fake_device_jid(role)}
        time.sleep(0.1)  # a simulated phone: nothing to wake on
    return {"status": "failed", "error": f"not paired within {timeout:g}s"}


def logout_child(settings: Settings, role: str, phone: str | None, force: bool, timeout: float, report) -> None:
    """Runs in the child: log one paired role out of WhatsApp (the phone drops the linked
    device, whatsmeow clears its keys) and send {"status"[, "error"]} through `report`."""
    import os
    import threading

    from wagw.logs import configure_logging

    configure_logging(settings, pairing_name(role), wire=False)
    from wagw.whatsapp import native
    from wagw.whatsapp.backend import BackendError
    from wagw.whatsapp.neonize_backend import NeonizeBackend

    backend = NeonizeBackend(settings, role)
    try:
        client = backend.make_client()
    except BackendError as error:  # not paired, an unreadable store
        report.send({"status": "not_paired" if "not paired" in str(error) else "failed", "error": str(error)})
        report.close()
        return
    connected = threading.Event()
    client.event(native.load().events.ConnectedEv)(lambda _client, _event: connected.set())
    threading.Thread(target=client.connect, daemon=True).start()
    outcome: dict = {"status": "failed", "error": f"not connected within {timeout:g}s"}
    if connected.wait(timeout):
        try:
            client.logout()
            outcome = {"status": "logged_out"}
        except Exception as error:
            outcome = {"status": "failed", "error": f"logout failed: {error}"}
    report.send(outcome)
    report.close()
    sys.stdout.flush()
    os._exit(ExitCode.OK)  # neonize's disconnect can block: leave without it


def logout_role(settings: Settings, conn, role: str, timeout: float) -> dict:
    """Log `role` out of WhatsApp; with the fake backend, simulate it (its state `logged_out`)."""
    if settings.backend == "fake":
        conn.hset(keys.FAKE_DEVICE_STATE, role, DeviceState.LOGGED_OUT.value)
        result = {"status": "logged_out"}
    else:
        result = run_child(settings, role, None, False, timeout, target=logout_child)
    if result.get("status") in ("logged_out", "not_paired"):
        conn.hdel(keys.DEVICE_JIDS, role)
    return result


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


def pair_role(
    settings: Settings,
    conn,
    role: str,
    phone: str | None,
    force: bool,
    timeout: float,
    publisher: Publisher | None = None,
) -> dict:
    if settings.backend == "fake":
        if publisher is not None:
            return pair_fake_published(settings, conn, role, phone, force, timeout, publisher)
        return pair_fake(settings, conn, role, force)
    return run_child(settings, role, phone, force, timeout, publish=publisher.id if publisher else None)


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
    if getattr(args, "logout", False):
        return _logout_all(settings, conn, roles, timeout)
    publish = getattr(args, "publish", None)
    if publish is not None:
        if len(roles) != 1 or ask or not devicecontrol.ID.fullmatch(publish):
            print("wagw pair: --publish takes a pairing id and pairs one role, without --ask", file=sys.stderr)
            return ExitCode.USAGE
        return _pair_published(settings, conn, roles[0], phone, force, timeout, Publisher(settings, roles[0], publish))
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


def _pair_published(
    settings: Settings, conn, role: str, phone: str | None, force: bool, timeout: float, publisher: Publisher
) -> int:
    """Pair one role for the HTTP API: codes and the outcome go to Redis (Publisher)."""
    publisher.starting()
    try:
        result = pair_role(settings, conn, role, phone, force, timeout, publisher)
    except Exception as error:  # a broken pairing must still end the API's wait
        result = {"status": "failed", "error": f"pairing failed: {type(error).__name__}"}
        logger.exception("pairing {} for the HTTP API failed", role)
    if result.get("status") == "paired":
        devices.record_pairing(conn, role, result["jid"])
        logger.info("{}: paired as {}", role, result["jid"])
    elif result.get("status") == "already_paired":
        conn.hset(keys.DEVICE_JIDS, role, result["jid"])
        logger.info("{}: already paired as {}", role, result["jid"])
    else:
        logger.error("{}: {}", role, result.get("error", "pairing failed"))
    publisher.outcome(result)
    return ExitCode.OK if result.get("status") in ("paired", "already_paired") else ExitCode.FAILURE


def _logout_all(settings: Settings, conn, roles: list[str], timeout: float) -> int:
    """Log each role out of WhatsApp, saying so for each (a logout is never silent)."""
    failures = 0
    for role in roles:
        result = logout_role(settings, conn, role, timeout)
        if result.get("status") == "logged_out":
            logger.warning("{}: logged out of WhatsApp; link it again with `wagw pair --role {}`", role, role)
        elif result.get("status") == "not_paired":
            logger.info("{}: not paired; nothing to log out", role)
        else:
            logger.error("{}: {}", role, result.get("error", "logout failed"))
            failures += 1
    return ExitCode.FAILURE if failures else ExitCode.OK


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
