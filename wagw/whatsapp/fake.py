"""The fake backend (`WAGW_BACKEND=fake`): a WhatsApp simulator driven through Redis (SPEC).

Outbound: every call is recorded on `wagw:fake:sent` as {"role", "op", "args", "time"} and
returns the same result shape as the neonize backend (wagw.whatsapp.results). A target whose
JID user part is `crash` dies of a real Go panic raised inside the real neonize library,
`hang` blocks until the process is killed, `fail` raises BackendError; a message into a
person's chat whose user part ends in `463` meets WhatsApp's reach-out limit (ReachOutLimited
with whatsmeow's text, as the neonize backend raises it). Like whatsmeow, user
part `nopic` has no profile picture (success, url null) and a phone number ending in `0000`
is not on WhatsApp (tests/conformance holds both backends to the same results).

Inbound (only when start() gets a handler, i.e. in the session): a thread moves each control
message from `wagw:fake:inbound` to `wagw:fake:pending` (atomically), hands the event to the
handler and removes it from pending only after the handler returned (a Submitting handler,
the session's feed: once it acknowledged the event, stored). On start, whatever is
still pending (the process died mid-event) is handed over again first, as WhatsApp
redelivers unacknowledged messages. Malformed messages go to `wagw:fake:rejected` with the
reason. Message formats: wagw.whatsapp.fake_inbound.

Accounts: a control message may name its account (`"account": NAME`); without one it is
the first account's. Every session sorts the shared list onto per-account lists
(`wagw:fake:inbound:<account>`, one Lua script), then takes from its own: one account's
stalled or crash-looping session never holds up another's events. A message naming an account
this daemon does not know goes to that account's list all the same, where it waits for that
account's session, as WhatsApp keeps messages for a device that is not connected: another
daemon on the same Redis may run it (`wagw run --accounts`, `wagw accounts add` there). The
first account's list gets the unnamed messages and those whose account is not a name at all,
which it rejects. Each account keeps its own pending list, and its own fake phone number
(`default`: 15550001111).

Device state: every role counts as paired and reachable unless `wagw:fake:device-state`
(a hash role -> state) says otherwise: "unpaired", "logged_out", "stream_replaced",
"temporary_ban" or "offline" make start() raise the matching error. `wagw pair` with the
fake backend clears the role's state. The device JID is the one `wagw pair` recorded in
`wagw:devices`, else a fixed fake one (session: 15550001111:1@s.whatsapp.net).

neonize is imported only at the moment a real Go panic is wanted, so the fake starts fast.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import redis
from loguru import logger

from wagw import accounts, calls, disappearing, keys, reachout, refusals
from wagw.addresses import person_chat
from wagw.config import Settings
from wagw.devices import DeviceState
from wagw.events import non_ad
from wagw.names import slot_of_role
from wagw.redisconn import as_text, connect
from wagw.whatsapp import fake_inbound, go_errors, results
from wagw.whatsapp.backend import (
    Backend,
    BackendError,
    ConnectFailure,
    EventHandler,
    LoggedOut,
    NotPaired,
    ReachOutLimited,
    StreamReplaced,
    Submitting,
    TemporaryBan,
)
from wagw.whatsapp.fake_inbound.fields import people, unix_time
from wagw.whatsapp.fake_lids import FakeLids, learnt_from_message, pair

FAKE_PHONE = "15550001111"
CRASH, HANG, FAIL = "crash", "hang", "fail"
# whatsmeow's semantics the fake follows (SPEC): these have no picture / are not on WhatsApp.
NO_PICTURE_USER = "nopic"
NOT_ON_WHATSAPP_SUFFIX = "0000"
INVITE_LINK_PREFIX = "https://chat.whatsapp.com/"  # whatsmeow's InviteLinkPrefix
_BLOCK_SECONDS = 0.5  # bounds how long a Redis call of the inbound loop may wait

# Simulated trouble is named after the device state it leads to.
_STATE_ERRORS: dict[str, tuple[type[BackendError], str]] = {
    DeviceState.UNPAIRED: (NotPaired, "device {role!r} is not paired: run `wagw pair --role {role}`"),
    DeviceState.LOGGED_OUT: (
        LoggedOut,
        "device {role!r} was logged out from the phone: run `wagw pair --role {role} --force`",
    ),
    DeviceState.STREAM_REPLACED: (StreamReplaced, "another client connected with device {role!r}'s keys"),
    DeviceState.TEMPORARY_BAN: (TemporaryBan, "WhatsApp temporarily banned the account (simulated)"),
    DeviceState.OFFLINE: (ConnectFailure, "cannot reach WhatsApp (simulated)"),
    "connect_failure": (ConnectFailure, "cannot reach WhatsApp (simulated)"),
}


def fake_phone(account: str) -> str:
    """The fake phone number of an account: fixed for `default`, derived from the name otherwise."""
    if account == accounts.DEFAULT:
        return FAKE_PHONE
    digits = str(int(hashlib.sha256(account.encode()).hexdigest(), 16))[-6:]
    return f"15559{digits[:5]}{max(1, int(digits[5]))}"  # never ends in 0000: it is on WhatsApp


def fake_device_jid(role: str) -> str:
    """The fixed fake companion JID for a role: session is device 1, worker-N is N+1."""
    prefix, _, base = role.rpartition("/")
    slot = slot_of_role(base)
    device = slot + 1 if slot is not None else 1
    return f"{fake_phone(prefix or accounts.DEFAULT)}:{device}@s.whatsapp.net"


# Sorts control messages from the shared inbound list onto each account's own list, in order:
# a message naming an account (wagw.accounts.NAME) goes to that account's list, configured here
# or not (another daemon on this Redis may run it); the first account's also takes the unnamed
# ones and those whose account is no name (and rejects those). Any session may sort for all, so
# a crash-looping session holds up nobody. ARGV: the first account, at most how many to sort.
_ROUTE = """
local function is_name(name)
  return type(name) == 'string' and #name <= 32 and name:match('^[a-z0-9][a-z0-9%-]*$') ~= nil
    and name:sub(-1) ~= '-'
end
local moved = 0
while moved < tonumber(ARGV[2]) do
  local raw = redis.call('LPOP', KEYS[1])
  if not raw then break end
  local account = ARGV[1]
  local ok, data = pcall(cjson.decode, raw)
  if ok and type(data) == 'table' and is_name(data['account']) then
    account = data['account']
  end
  redis.call('RPUSH', KEYS[1] .. ':' .. account, raw)
  moved = moved + 1
end
return moved
"""
_ROUTE_BATCH = 500
# Takes the first message of an account's list onto its pending list: LMOVE, as a script whose
# first command (LPOP) frees what the second takes. Redis refuses a plain LMOVE past
# maxmemory, but not a script that has already written: like neonize, which takes events off
# the wire whatever Redis does, the fake then hands the event to the session's handler, which
# holds it until Redis takes it (docs/session.md).
_TAKE = """
local raw = redis.call('LPOP', KEYS[1])
if raw then redis.call('RPUSH', KEYS[2], raw) end
return raw
"""
_IDLE = 0.02  # seconds between looks when nothing is there
_REFUSED_PAUSE = 0.2  # seconds between tries while Redis refuses writes
_REFUSED_WARN_EVERY = 10.0


def user_part(target: str) -> str:
    """ "crash@s.whatsapp.net" -> "crash"; "+crash" -> "crash"; "1555:3@s…" -> "1555"."""
    return target.partition("@")[0].split(":", 1)[0].lstrip("+").lower()


def go_panic(settings: Settings, why: str) -> None:
    """Die of a real Go panic inside neonize (SIGABRT): get_me() on a never-connected client.

    Nothing is created on disk: the client never connects, so the store path stays unused.
    """
    logger.error("fake backend: raising a real Go panic in neonize ({})", why)
    sys.stdout.flush()
    sys.stderr.flush()
    from wagw.whatsapp import native  # loads the Go runtime; only here

    native.load().client.NewClient(str(settings.data_dir.resolve() / "fake-never-connected.sqlite3")).get_me()
    raise RuntimeError("neonize did not panic")  # not reached: the process has aborted


def _reach_out_limited(op: str, args: dict[str, Any]) -> bool:
    """A message into a person's chat whose user part ends in 463 meets WhatsApp's reach-out
    limit (SPEC), every time: a warm-up and retry meet it again, as on a held account."""
    argument = reachout.chat_argument(op)
    chat = args.get(argument) if argument else None
    return isinstance(chat, str) and person_chat(chat) and user_part(chat).endswith(reachout.FAKE_SUFFIX)


def _hang(op: str) -> None:
    logger.warning("fake backend: {} hangs until the process is killed", op)
    while True:
        time.sleep(3600)


def _fake_id(seed: str, length: int = 20) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:length].upper()


def _acknowledge(conn: redis.Redis | redis.client.Pipeline, pending: str, raw: bytes) -> None:
    """The session handled this control message: drop it from the pending list."""
    conn.lrem(pending, 1, raw)  # type: ignore[arg-type]  # redis-py types the value as str; bytes are what we read


class FakeBackend(Backend):
    def __init__(self, settings: Settings, role: str):
        self.settings = settings
        self.role = role
        roster = accounts.Roster.load(settings)
        self.account = roster.of_role(role) or roster.find(None)
        self.phone = fake_phone(self.account.name)
        self.pending = keys.FAKE_PENDING if self.account.legacy else f"{keys.FAKE_PENDING}:{self.account.name}"
        self._redis = connect(settings)
        self.lids = FakeLids(self._redis, self.account.name)
        self._on_event: EventHandler | None = None
        self._submit: Callable[..., None] | None = None
        self._handed = threading.Condition()  # events submitted and not yet acknowledged
        self._unacknowledged = 0
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._ended = threading.Event()
        self._error: BackendError | None = None
        self._connected = False

    # Connection -----------------------------------------------------------------------
    def _device_state(self) -> str | None:
        return as_text(self._redis.hget(keys.FAKE_DEVICE_STATE, self.role)) or None

    def start(self, on_event: EventHandler | None = None) -> None:
        try:
            state = self._device_state()
        except redis.RedisError as error:
            raise ConnectFailure(f"fake backend: Redis unreachable: {error}") from error
        if state:
            error_class, message = _STATE_ERRORS.get(state, (ConnectFailure, f"simulated state {state!r}"))
            raise error_class(message.format(role=self.role))
        self._connected = True
        self._on_event = on_event
        self._submit = on_event.submit if isinstance(on_event, Submitting) else None
        if on_event is not None:
            self._thread = threading.Thread(target=self._inbound_loop, name="fake-inbound", daemon=True)
            self._thread.start()
        logger.info("fake backend: role {} connected as {}", self.role, self.device_jid())

    def wait(self) -> None:
        while not self._stopping.is_set() and not self._ended.is_set():
            self._stopping.wait(0.2)
        if self._thread is not None:
            self._thread.join(timeout=2 * _BLOCK_SECONDS + 1)
        self._connected = False
        if self._error is not None:
            raise self._error

    def stop(self) -> None:
        self._stopping.set()

    def is_connected(self) -> bool:
        return self._connected and not self._ended.is_set()

    def device_jid(self) -> str | None:
        if self._device_state() == DeviceState.UNPAIRED:
            return None
        return as_text(self._redis.hget(keys.DEVICE_JIDS, self.role)) or fake_device_jid(self.role)

    def pn_for_lid(self, lid: str) -> str | None:
        try:
            return self.lids.pn_for_lid(lid)
        except redis.RedisError as error:  # the body lists the LID as unresolved
            logger.warning("fake backend: LID store unreadable ({}); the LID stays", refusals.reason(error))
            return None

    # Inbound --------------------------------------------------------------------------
    def _inbound_loop(self) -> None:
        # Its own connection: a blocking BLMOVE must not hold up outbound calls.
        conn = connect(self.settings, socket_timeout=_BLOCK_SECONDS + 10)
        try:
            pending = conn.lrange(self.pending, 0, -1)
            if pending:
                logger.info("fake backend: redelivering {} unacknowledged event(s)", len(pending))
            for raw in pending:
                if self._stopping.is_set() or not self._handle(conn, raw):
                    return
            take = self._claim_one(conn)
            refused = refusals.Every(_REFUSED_WARN_EVERY)
            while not self._stopping.is_set():
                try:
                    moved = take(conn)
                except redis.ResponseError as error:
                    # Redis refuses the move (full, read-only): like WhatsApp, the fake keeps
                    # the message until the device can take it.
                    if refused.due():
                        why = refusals.reason(error)
                        logger.warning("fake backend: cannot take inbound messages: {}; waiting", why)
                    self._stopping.wait(_REFUSED_PAUSE)
                    continue
                if moved is not None and not self._handle(conn, moved):
                    return
        except redis.RedisError as error:
            self._error = ConnectFailure(f"fake backend: Redis connection lost: {error}")
        finally:
            self._connected = False
            self._ended.set()
            conn.close()

    def _claim_one(self, conn: redis.Redis) -> Callable[[redis.Redis], Any]:
        route = conn.register_script(_ROUTE)
        take_one = conn.register_script(_TAKE)
        own = f"{keys.FAKE_INBOUND}:{self.account.name}"

        def take(conn: redis.Redis) -> Any:
            route(keys=[keys.FAKE_INBOUND], args=[self.settings.accounts[0], _ROUTE_BATCH], client=conn)
            raw = take_one(keys=[own, self.pending], client=conn)
            if raw is None:
                self._stopping.wait(_IDLE)
            return raw

        return take

    def _handle(self, conn: redis.Redis, raw: Any) -> bool:
        """Handle one pending control message; False ends the connection."""
        try:
            data = json.loads(raw)
        except ValueError as error:
            return self._reject(conn, raw, f"invalid JSON: {error}")
        named = data.get("account") if isinstance(data, dict) else None
        if named is not None and named != self.account.name:
            return self._reject(conn, raw, f"no account {named!r} is configured (WAGW_ACCOUNTS)")
        kind = data.get("type") if isinstance(data, dict) else None
        if kind == "lid_pair":
            return self._learn(conn, raw, data)
        if kind in ("crash", "disconnect"):
            self._settle()  # the events before it are stored first, as they would have been
        if kind == "crash":
            # Acknowledged first: a crash request must not crash every restart after it.
            _acknowledge(conn, self.pending, raw)
            go_panic(self.settings, "inbound {'type': 'crash'}")
        if kind == "disconnect":
            _acknowledge(conn, self.pending, raw)
            reason = data.get("reason") or "connect_failure"
            error_class, message = _STATE_ERRORS.get(reason, _STATE_ERRORS["connect_failure"])
            self._error = error_class(message.format(role=self.role))
            logger.warning("fake backend: simulated disconnect: {}", reason)
            return False
        try:
            event = fake_inbound.to_event(data)
        except fake_inbound.Malformed as error:
            return self._reject(conn, raw, str(error))
        handler = self._on_event
        if handler is None:  # outbound-only (a native host): inbound is the session's
            return False
        learnt = learnt_from_message(data)
        if learnt is not None:  # as whatsmeow, before the event is dispatched
            self.lids.put(*learnt)
        if event is None:  # not an event wagw delivers (a status update): acknowledged, dropped
            _acknowledge(conn, self.pending, raw)
            return True
        self._note(conn, kind, data)
        try:
            if self._submit is not None:
                self._submit(event, self._acknowledger(raw))
                with self._handed:  # (its acknowledgement may have come first: the count dips below 0)
                    self._unacknowledged += 1
            else:
                handler(event)
        except Exception as error:  # left pending: handed over again after the restart
            logger.exception("fake backend: the event handler failed; the event stays pending")
            self._error = ConnectFailure(f"event handler failed: {error}")
            return False
        if self._submit is None:
            _acknowledge(conn, self.pending, raw)
        return True

    def _acknowledger(self, raw: Any) -> Callable[[], None]:
        """What a Submitting handler calls once it stored the event: drop it from pending.
        (Not there if it fails: the event is handed over again, and found a duplicate.)"""
        done = False

        def acknowledge() -> None:
            nonlocal done
            if done:
                return
            done = True
            try:
                _acknowledge(self._redis, self.pending, raw)
            except redis.RedisError as error:
                logger.warning("fake backend: a stored event stays pending: {}", refusals.reason(error))
            with self._handed:
                self._unacknowledged -= 1
                self._handed.notify_all()

        return acknowledge

    def _settle(self, timeout: float = 30.0) -> None:
        """Until the events handed over are acknowledged (stored), a stop, or `timeout`."""
        deadline = time.monotonic() + timeout
        with self._handed:
            while self._unacknowledged > 0 and not self._stopping.is_set() and time.monotonic() < deadline:
                self._handed.wait(0.1)

    def _note(self, conn: redis.Redis, kind: Any, data: dict) -> None:
        """Note what a later send needs from a (well-formed) inbound message, as the neonize
        backend does from WhatsApp's events; best effort, like there."""
        try:
            if kind == "call_offer":
                creator = non_ad(data["sender"]) or ""
                calls.note_offer(conn, self.account.name, data["call_id"], creator, non_ad(data.get("sender_alt")))
            elif kind == "message" and data.get("expiration"):  # a message in a chat with a timer
                chat = people(data)
                at = unix_time(data)
                disappearing.note(conn, self.account.name, [chat["chat"], chat["chat_alt"]], data["expiration"], at)
        except redis.RedisError as error:
            logger.warning("fake backend: could not note a {} for later sends: {}", kind, type(error).__name__)

    def _learn(self, conn: redis.Redis, raw: Any, data: dict) -> bool:
        """A `lid_pair` control message: a pair the account's store now knows."""
        learnt = pair(data.get("lid"), data.get("pn"))
        if learnt is None or not str(data.get("lid")).endswith("@lid"):
            return self._reject(conn, raw, "'lid' must be a LID (…@lid) and 'pn' a phone-number JID (…@s.whatsapp.net)")
        self.lids.put(*learnt)
        _acknowledge(conn, self.pending, raw)
        return True

    def _reject(self, conn: redis.Redis, raw: Any, reason: str) -> bool:
        text = raw.decode("utf-8", "replace")
        logger.error("fake backend: rejected inbound message ({}): {}", reason, text[:500])
        record = json.dumps({"raw": text, "error": reason, "time": time.time()})
        try:
            with conn.pipeline(transaction=True) as pipe:
                pipe.rpush(keys.FAKE_REJECTED, record)
                pipe.ltrim(keys.FAKE_REJECTED, -1000, -1)
                _acknowledge(pipe, self.pending, raw)
                pipe.execute()
        except redis.ResponseError as error:  # Redis full: the rejection is in the log only
            logger.warning("fake backend: rejected message not kept: {}", refusals.reason(error))
            _acknowledge(conn, self.pending, raw)
        return True

    # Outbound -------------------------------------------------------------------------
    def _call(self, op: str, args: dict[str, Any], targets: list[str]) -> None:
        """Record the call, then act out a crash/hang/fail target."""
        slot = slot_of_role(self.role.rpartition("/")[2])
        if op in disappearing.TIMED and (seconds := disappearing.timer(self._redis, self.account.name, args["to"])):
            args = {**args, "expiration": seconds}  # the chat's disappearing timer, as the message carries it
        record: dict[str, Any] = {"role": self.role, "account": self.account.name, "slot": slot, "op": op}
        record.update(args=args, time=time.time())
        self._redis.rpush(keys.FAKE_SENT, json.dumps(record))
        users = {user_part(t) for t in targets if t}
        if CRASH in users:
            go_panic(self.settings, f"{op} to a crash target")
        if HANG in users:
            _hang(op)
        if FAIL in users:
            raise BackendError(f"{op} failed (simulated failure for a 'fail' target)")
        if _reach_out_limited(op, args):  # as the neonize backend reads whatsmeow's answer
            raise ReachOutLimited(f"{op} failed: {go_errors.REACH_OUT_LIMITED}")

    def fetch_avatar(self, jid: str, preview: bool = False, is_community: bool = False) -> dict:
        self._call("fetch_avatar", {"jid": jid, "preview": preview, "is_community": is_community}, [jid])
        if user_part(jid) == NO_PICTURE_USER:  # whatsmeow: ErrProfilePictureNotSet -> success, no URL
            return results.avatar(jid, None, None, preview, None)
        picture_id = str(int(_fake_id(jid, 12), 16) % 10**10)
        path = f"/v/t61.24694-24/{picture_id}_{'preview' if preview else 'full'}.jpg"
        url = f"https://pps.whatsapp.net{path}?ccb=11-4&oh=fake&oe=fake"
        return results.avatar(jid, url, picture_id, preview, path)

    def send_text(
        self,
        to: str,
        text: str,
        reply_to: str | None = None,
        reply_to_sender: str | None = None,
        mentions: list[str] | None = None,
        reply_to_text: str | None = None,
    ) -> dict:
        args: dict[str, Any] = {"to": to, "text": text, "reply_to": reply_to, "reply_to_sender": reply_to_sender}
        args.update(mentions=list(mentions or []), reply_to_text=reply_to_text)
        self._call("send_text", args, [to])
        return results.sent("3EB0" + secrets.token_hex(9).upper(), time.time(), to)

    def send_image(
        self, to: str, image: bytes, mimetype: str, caption: str | None = None, view_once: bool = False
    ) -> dict:
        described = {"bytes": len(image), "sha256": hashlib.sha256(image).hexdigest()}
        args = {"to": to, "image": described, "mimetype": mimetype, "caption": caption, "view_once": view_once}
        self._call("send_image", args, [to])
        return results.sent("3EB0" + secrets.token_hex(9).upper(), time.time(), to)

    def send_location(
        self, to: str, latitude: float, longitude: float, name: str | None = None, address: str | None = None
    ) -> dict:
        args = {"to": to, "latitude": latitude, "longitude": longitude, "name": name, "address": address}
        self._call("send_location", args, [to])
        return results.sent("3EB0" + secrets.token_hex(9).upper(), time.time(), to)

    def send_contact(self, to: str, name: str, phone: str) -> dict:
        from wagw.operations.vcard import vcard  # phonenumbers: not in the session

        self._call("send_contact", {"to": to, "name": name, "phone": phone, "vcard": vcard(name, phone)}, [to])
        return results.sent("3EB0" + secrets.token_hex(9).upper(), time.time(), to)

    def send_link(self, to: str, url: str, caption: str | None = None) -> dict:
        self._call("send_link", {"to": to, "url": url, "caption": caption}, [to])
        return results.sent("3EB0" + secrets.token_hex(9).upper(), time.time(), to)

    def send_poll(self, to: str, question: str, options: list[str], max_answers: int = 1) -> dict:
        args = {"to": to, "question": question, "options": list(options), "max_answers": max_answers}
        self._call("send_poll", args, [to])
        return results.sent("3EB0" + secrets.token_hex(9).upper(), time.time(), to)

    def send_file(
        self,
        to: str,
        file: bytes,
        filename: str | None = None,
        caption: str | None = None,
        mimetype: str = "application/octet-stream",
    ) -> dict:
        described = {"bytes": len(file), "sha256": hashlib.sha256(file).hexdigest()}
        args = {"to": to, "file": described, "filename": filename, "caption": caption, "mimetype": mimetype}
        self._call("send_file", args, [to])
        return results.sent("3EB0" + secrets.token_hex(9).upper(), time.time(), to)

    def send_sticker(self, to: str, sticker: bytes, mimetype: str) -> dict:
        described = {"bytes": len(sticker), "sha256": hashlib.sha256(sticker).hexdigest()}
        self._call("send_sticker", {"to": to, "sticker": described, "mimetype": mimetype}, [to])
        return results.sent("3EB0" + secrets.token_hex(9).upper(), time.time(), to)

    def send_video(
        self, to: str, video: bytes, mimetype: str, caption: str | None = None, view_once: bool = False
    ) -> dict:
        described = {"bytes": len(video), "sha256": hashlib.sha256(video).hexdigest()}
        args = {"to": to, "video": described, "mimetype": mimetype, "caption": caption, "view_once": view_once}
        self._call("send_video", args, [to])
        return results.sent("3EB0" + secrets.token_hex(9).upper(), time.time(), to)

    def send_audio(self, to: str, audio: bytes, mimetype: str, ptt: bool = False) -> dict:
        described = {"bytes": len(audio), "sha256": hashlib.sha256(audio).hexdigest()}
        self._call("send_audio", {"to": to, "audio": described, "mimetype": mimetype, "ptt": ptt}, [to])
        return results.sent("3EB0" + secrets.token_hex(9).upper(), time.time(), to)

    def user_info(self, jids: list[str]) -> dict:
        self._call("user_info", {"jids": list(jids)}, list(jids))
        return results.users(
            [
                results.user(
                    jid,
                    "Hey there! I am using WhatsApp.",
                    str(int(_fake_id(jid, 12), 16) % 10**10),
                    None,
                    [jid.replace("@", ":0@", 1)],
                )
                for jid in jids
            ]
        )

    def is_on_whatsapp(self, phones: list[str]) -> dict:
        self._call("is_on_whatsapp", {"phones": list(phones)}, list(phones))
        entries = []
        for phone in phones:
            digits = phone.lstrip("+")
            if digits.endswith(NOT_ON_WHATSAPP_SUFFIX):
                entries.append(results.on_whatsapp(phone, None, False, None))
            else:
                entries.append(results.on_whatsapp(phone, f"{digits}@s.whatsapp.net", True, None))
        return results.on_whatsapp_results(entries)

    def group_info(self, jid: str) -> dict:
        self._call("group_info", {"jid": jid}, [jid])
        return self._fake_group(jid)

    def joined_groups(self) -> dict:
        self._call("joined_groups", {}, [])
        return results.groups(
            [self._fake_group("120363000000000001@g.us"), self._fake_group("120363000000000002@g.us")]
        )

    def mark_read(self, chat: str, ids: list[str], sender: str | None = None) -> dict:
        self._call("mark_read", {"chat": chat, "ids": list(ids), "sender": sender}, [chat])
        return results.marked_read(chat, ids, sender)

    def my_privacy(self) -> dict:
        self._call("my_privacy", {}, [])
        return results.privacy(
            {
                "group_add": "all",
                "last_seen": "contacts",
                "status": "contacts",
                "profile": "all",
                "read_receipts": "all",
                "call_add": "all",
                "online": "match_last_seen",
            }
        )

    def contacts(self) -> dict:
        self._call("contacts", {}, [])
        return results.contacts(
            [
                results.contact("15551234567@s.whatsapp.net", "Alice", "Alice Liddell", "Alice", None),
                results.contact("15557654321@s.whatsapp.net", None, None, "Bob", None),
                results.contact("15559876543@s.whatsapp.net", None, None, None, "Carol's Bakery"),
            ]
        )

    def react(self, chat: str, message_id: str, emoji: str, sender: str | None = None) -> dict:
        args = {"chat": chat, "message_id": message_id, "emoji": emoji, "sender": sender}
        self._call("react", args, [chat])
        return results.acted("3EB0" + secrets.token_hex(9).upper(), time.time(), chat, message_id, emoji=emoji)

    def revoke(self, chat: str, message_id: str, sender: str | None = None) -> dict:
        from wagw.operations.args import REVOKE_OTHERS, InvalidArguments  # not in the session (~1 MB)

        own = user_part(self.device_jid() or fake_device_jid(self.role))
        own_lid = self.lids.lid_for_pn(f"{own}@s.whatsapp.net")  # the account's LID is the account too
        if sender and not chat.endswith("@g.us") and user_part(sender) not in {own, user_part(own_lid or "")}:
            raise InvalidArguments(REVOKE_OTHERS)
        self._call("revoke", {"chat": chat, "message_id": message_id, "sender": sender}, [chat])
        return results.acted("3EB0" + secrets.token_hex(9).upper(), time.time(), chat, message_id, sender=sender)

    def edit_message(self, chat: str, message_id: str, text: str) -> dict:
        self._call("edit_message", {"chat": chat, "message_id": message_id, "text": text}, [chat])
        return results.acted("3EB0" + secrets.token_hex(9).upper(), time.time(), chat, message_id, text=text)

    def send_presence(self, presence: str) -> dict:
        self._call("send_presence", {"presence": presence}, [])
        return results.presence_sent(presence)

    def subscribe_presence(self, jid: str) -> None:
        self._call("subscribe_presence", {"jid": jid}, [jid])

    def send_chat_presence(self, chat: str, state: str) -> dict:
        self._call("send_chat_presence", {"chat": chat, "state": state}, [chat])
        return results.chat_presence_sent(chat, state)

    def set_disappearing(self, chat: str, seconds: int) -> dict:
        self._call("set_disappearing", {"chat": chat, "seconds": seconds}, [chat])
        disappearing.note(self._redis, self.account.name, [chat], seconds)  # what sends carry from now
        return results.disappearing_set(chat, seconds)

    def reject_call(self, call_id: str, caller: str) -> dict:
        caller = calls.caller_to_reject(self._redis, self.account.name, call_id, caller)  # the offer's creator
        self._call("reject_call", {"call_id": call_id, "caller": caller}, [caller])
        return results.call_rejected(call_id, caller)

    def leave_group(self, jid: str) -> dict:
        self._call("leave_group", {"jid": jid}, [jid])
        return results.left_group(jid)

    def set_group_name(self, jid: str, name: str) -> dict:
        self._call("set_group_name", {"jid": jid, "name": name}, [jid])
        return results.group_named(jid, name)

    def set_group_topic(self, jid: str, topic: str) -> dict:
        self._call("set_group_topic", {"jid": jid, "topic": topic}, [jid])
        return results.group_topic(jid, topic)

    def set_group_locked(self, jid: str, locked: bool) -> dict:
        self._call("set_group_locked", {"jid": jid, "locked": locked}, [jid])
        return results.group_locked(jid, locked)

    def set_group_announce(self, jid: str, announce: bool) -> dict:
        self._call("set_group_announce", {"jid": jid, "announce": announce}, [jid])
        return results.group_announce(jid, announce)

    def group_invite_link(self, jid: str, reset: bool = False) -> dict:
        self._call("group_invite_link", {"jid": jid, "reset": reset}, [jid])
        seed = jid + (secrets.token_hex(8) if reset else "")
        code = base64.urlsafe_b64encode(hashlib.sha256(seed.encode()).digest()).decode()[:22]
        return results.invite_link(jid, INVITE_LINK_PREFIX + code, reset)

    def group_requests(self, jid: str) -> dict:
        self._call("group_requests", {"jid": jid}, [jid])
        return results.join_requests(jid, [results.join_request("15557654321@s.whatsapp.net", 1_764_412_200)])

    def create_group(self, name: str, participants: list[str]) -> dict:
        self._call("create_group", {"name": name, "participants": list(participants)}, list(participants))
        jid = "120363" + str(int(_fake_id(name + secrets.token_hex(8), 12), 16) % 10**12).zfill(12) + "@g.us"
        owner = f"{self.phone}@s.whatsapp.net"
        members = [results.participant(owner, "100000000000001@lid", True, True, None)]
        members += [results.participant(p, None, False, False, None) for p in participants]
        return results.group(jid, name, None, owner, time.time(), False, False, members)

    def group_participants(self, jid: str, action: str, participants: list[str]) -> dict:
        args = {"jid": jid, "action": action, "participants": list(participants)}
        self._call("group_participants", args, [jid, *participants])
        entries = [results.participant_change(p, None, None) for p in participants]
        return results.participants_changed(jid, action, entries)

    def join_group(self, link: str) -> dict:
        self._call("join_group", {"link": link}, [link])
        return results.joined_group(self._group_of_code(link))

    def group_info_from_link(self, link: str) -> dict:
        self._call("group_info_from_link", {"link": link}, [link])
        return self._fake_group(self._group_of_code(link))

    def set_group_photo(self, jid: str, image: bytes, mimetype: str) -> dict:
        digest = hashlib.sha256(image).hexdigest()
        described = {"bytes": len(image), "sha256": digest}
        self._call("set_group_photo", {"jid": jid, "image": described, "mimetype": mimetype}, [jid])
        return results.group_photo(jid, str(int(_fake_id(jid + digest, 12), 16) % 10**10))

    def download_media(self, media: dict) -> dict:
        """The fake's media (fake_inbound.fake_media): bytes derived from the media key. As with
        whatsmeow, a path not on the fake's media host is gone (404; "/v/t62.fake/expired…"
        410), and bytes whose hash differs from file_sha256 fail verification. The path's file
        name ("/v/t62.fake/crash.enc") is the target crash/hang/fail act on."""
        from wagw.operations.args import InvalidArguments

        path = media["direct_path"].split("?", 1)[0]
        stem = path.rsplit("/", 1)[-1].split(".", 1)[0]
        self._call("download_media", {"media": dict(media)}, [stem])
        gone = None
        if not path.startswith(fake_inbound.FAKE_MEDIA_PREFIX):
            gone = 404
        elif stem == "expired":
            gone = 410
        if gone is not None:
            refused = go_errors.media_download_refused(f"download failed with status code {gone}")
            raise InvalidArguments(
                f"invalid arguments for download_media: media: {refused} (download failed with status code {gone})"
            )
        data = fake_inbound.fake_media_bytes(base64.b64decode(media["media_key"]), int(media["file_length"]))
        expected = media.get("file_sha256")
        if expected and base64.b64decode(expected) != hashlib.sha256(data).digest():
            refused = go_errors.media_download_refused("hash of media plaintext doesn't match")
            raise InvalidArguments(
                f"invalid arguments for download_media: media: {refused} (hash of media plaintext doesn't match)"
            )
        return {"mimetype": media.get("mime_type"), "data_b64": base64.b64encode(data).decode()}

    def _group_of_code(self, code: str) -> str:
        return "120363" + str(int(_fake_id(code, 12), 16) % 10**12).zfill(12) + "@g.us"

    def _fake_group(self, jid: str) -> dict:
        owner = f"{self.phone}@s.whatsapp.net"
        members = [
            results.participant(owner, "100000000000001@lid", True, True, None),
            results.participant("15551234567@s.whatsapp.net", "100000000000002@lid", False, False, "Alice"),
        ]
        return results.group(
            jid,
            f"Fake group {jid.partition('@')[0][-4:]}",
            "A simulated group",
            owner,
            1_700_000_000,
            False,
            False,
            members,
        )
