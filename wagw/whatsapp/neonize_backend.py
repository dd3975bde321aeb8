"""The real backend: one neonize (whatsmeow) client per process, for one device role.

Loads the Go runtime (through wagw.whatsapp.native, the one place that imports neonize)
when start() or an outbound call first needs it, so this module is only ever imported in
leaf processes (session, native hosts, pairing child) and such a process must never fork
afterwards.

Device stores: a sqlite file per role (settings.device_store(role)), or one postgres
database for all roles (WAGW_DEVICE_DB) where the role's device is the JID recorded in the
Redis hash `wagw:devices` by `wagw pair`. start() never connects an unpaired store (that
would begin a QR pairing) and only passes neonize a JID that is in the store (an unknown
JID makes the Go library panic). The store is read with wagw.whatsapp.device_store, not
neonize's own parser (which breaks on names with commas and on store errors); an unreadable
store is a ConnectFailure (75).

Connection states map to wagw's errors (and so to exit codes): LoggedOut -> LoggedOut (81),
StreamReplaced -> StreamReplaced (82), TemporaryBan -> TemporaryBan (83), ConnectFailure by
its reason, a dial error or a stalled connect -> ConnectFailure (75). A Disconnected event is
a state: whatsmeow reconnects by itself; only a disconnection that outlasts the reconnect
budget (RECONNECT) ends the connection. An event neonize cannot encode (an enum value its Go
encoder does not know) ends neonize's event loop and connect(): see _reconnect_after.

Replies and Go error texts are read by neonize_results and go_errors (pure Python).
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

from loguru import logger
from redis import Redis, RedisError

from wagw import accounts, calls, disappearing, events, keys
from wagw.addresses import GROUP_SERVER
from wagw.config import Settings
from wagw.operations.args import REVOKE_OTHERS, InvalidArguments
from wagw.operations.audio import duration as audio_duration
from wagw.operations.images import check_decodes, group_photo_jpeg
from wagw.operations.images import thumbnail as image_thumbnail
from wagw.operations.vcard import vcard
from wagw.operations.video import picture as video_picture
from wagw.refusals import Every
from wagw.whatsapp import go_errors, native, neonize_events, neonize_notes, neonize_results, results
from wagw.whatsapp.backend import (
    Backend,
    BackendError,
    ConnectFailure,
    EventHandler,
    LoggedOut,
    NotPaired,
    ReachOutLimited,
    StreamReplaced,
    TemporaryBan,
)
from wagw.whatsapp.device_store import stored_devices


@dataclass(frozen=True)
class ReconnectBudget:
    """How much reconnecting happens inside the process before the connection is given up:
    the process then exits 75 and its parent restarts it by its restart policy
    (wagw.childstate: the supervisor's for a session, the wa-worker's for a native host)."""

    disconnected_for: float = 90.0  # seconds a dropped connection may take whatsmeow to restore
    # Reconnects after events neonize could not encode (_reconnect_after): at most `drops`
    # within `drops_window` seconds; one more ends the connection instead of a reconnect loop.
    drops: int = 10
    drops_window: float = 600.0


RECONNECT = ReconnectBudget()

# Events neonize could not encode (go_errors.unencodable_event) that end the connection
# anyway; any other such event is dropped and the connection is made again in-process.
_UNENCODABLE_ENDINGS: dict[str, BackendError] = {
    "TemporaryBan": TemporaryBan("temporarily banned (WhatsApp's ban code is one neonize cannot pass on)"),
    "LoggedOut": LoggedOut("the phone logged this device out (for a reason neonize cannot pass on)"),
    "ConnectFailure": ConnectFailure(
        "WhatsApp refused the connection with a reason neonize cannot pass on "
        "(whatsmeow's 413/414 auth-token or 415/418 not-found/unknown-client failures)"
    ),
}
group_result = neonize_results.group  # the name tests and older callers use
_LOOKUP_WARNINGS = Every(60.0)  # a broken LID store is said once a minute, not per event


class _SelectableCount:
    """What neonize's build_poll_vote_creation reads of its VoteType argument: `.value`."""

    def __init__(self, value: int):
        self.value = value


# neonize.proto.Neonize_pb2.ConnectFailureReason
_FAILURE_REASONS: dict[int, tuple[type[BackendError], str]] = {
    2: (LoggedOut, "logged out"),
    3: (TemporaryBan, "temporarily banned"),
    4: (LoggedOut, "the main device is gone"),
    5: (LoggedOut, "logged out (unknown reason)"),
    6: (ConnectFailure, "this neonize/whatsmeow version is outdated: upgrade wagw"),
    7: (ConnectFailure, "bad user agent"),
    8: (ConnectFailure, "WhatsApp internal server error"),
    10: (ConnectFailure, "WhatsApp service unavailable"),
}


def parse_jid(text: str) -> dict[str, Any]:
    """ "user[.agent][:device]@server" -> the fields of neonize's JID proto."""
    user, _, server = text.partition("@")
    device = agent = 0
    if ":" in user:
        user, _, dev = user.partition(":")
        device = int(dev or 0)
    if "." in user and server != "lid":
        user, _, raw_agent = user.partition(".")
        agent = int(raw_agent or 0)
    return {"User": user, "Server": server, "Device": device, "RawAgent": agent, "Integrator": 0, "IsEmpty": False}


def jid_text(jid: Any) -> str | None:
    """neonize JID proto -> full "user:device@server" text (device kept), None when empty."""
    if jid is None or not jid.Server:
        return None
    if jid.RawAgent:
        return f"{jid.User}.{jid.RawAgent}:{jid.Device}@{jid.Server}"
    if jid.Device:
        return f"{jid.User}:{jid.Device}@{jid.Server}"
    return f"{jid.User}@{jid.Server}" if jid.User else jid.Server


def device_name(role: str) -> str:
    """What the phone's Linked Devices list calls this role's device: `wagw <account>/<role>`."""
    return f"wagw {accounts.name_of_role(role)}/{role.rpartition('/')[2]}"


def device_props(role: str) -> Any:
    """The DeviceProps neonize hands whatsmeow for this role's device. whatsmeow sends them
    when the device is linked (store/clientpayload.go: getRegistrationPayload's DeviceProps,
    `Os` being the name the phone lists), so a device keeps the name it was paired with.
    Safari is neonize's own platform when it is given no props (NewClient.connect)."""
    DeviceProps = native.load().client.DeviceProps
    return DeviceProps(os=device_name(role), platformType=DeviceProps.SAFARI)


def with_timer(message: Any, seconds: int) -> Any:
    """`message` carrying a chat's disappearing timer, as phones send into such a chat: its
    content's contextInfo.expiration (a plain text becomes the extended text that has one)."""
    if message.conversation:
        text = message.conversation
        message.ClearField("conversation")
        message.extendedTextMessage.text = text
    for field, content in message.ListFields():
        if field.message_type is not None and "contextInfo" in field.message_type.fields_by_name:
            content.contextInfo.expiration = seconds
            break
    return message


def error_for_event(name: str, event: Any) -> BackendError | None:
    """The wagw error a neonize connection event ends the connection with, or None."""
    if name == "LoggedOut":
        return LoggedOut(f"the phone logged this device out (reason {event.Reason}, on connect: {event.OnConnect})")
    if name == "StreamReplaced":
        return StreamReplaced("another client connected with this device's keys (stream replaced)")
    if name == "TemporaryBan":
        return TemporaryBan(f"temporary ban (code {event.Code}, expires in {event.Expire}s)")
    if name == "ConnectFailure":
        error_class, text = _FAILURE_REASONS.get(event.Reason, (ConnectFailure, "connect failure"))
        return error_class(f"{text} (reason {event.Reason}): {event.Message}".rstrip(": "))
    if name == "ClientOutdated":
        return ConnectFailure("WhatsApp says this client is outdated: upgrade wagw/neonize")
    return None


class NeonizeBackend(Backend):
    def __init__(self, settings: Settings, role: str, budget: ReconnectBudget = RECONNECT):
        self.settings = settings
        self.role = role
        self.budget = budget
        self.store = settings.device_store(role)
        self.account = accounts.name_of_role(role)
        self._notes: Redis | None = None  # what the session notes for sends, and sends read
        self._client: Any = None  # neonize's NewClient, created in start() (neonize is untyped)
        self._device: str | None = None
        self._on_event: EventHandler | None = None
        self._connected = threading.Event()
        self._ended = threading.Event()
        self._stopping = threading.Event()
        self._error: BackendError | None = None
        self._disconnected_since: float | None = None
        self._handlers: list = []  # strong references: neonize keeps plain functions only
        # The ctypes callbacks of connections this client made before (neonize #202): a new
        # connect() replaces the client's own references while the old connection's Go
        # goroutines may still log or dispatch through them.
        self._retired_callbacks: list = []
        self._drops: list[float] = []  # when events neonize could not encode were dropped
        # Store lookups and client setup go through Go; the status heartbeat may ask for the
        # JID from another thread meanwhile, and neonize is not safe with concurrent setup.
        self._setup_lock = threading.Lock()

    @property
    def uses_postgres(self) -> bool:
        return self.store.startswith(("postgres://", "postgresql://"))

    # Device -----------------------------------------------------------------------------
    def _recorded_jid(self) -> str | None:
        from wagw.redisconn import as_text, connect

        conn = connect(self.settings)
        try:
            value = conn.hget(keys.DEVICE_JIDS, self.role)
        finally:
            conn.close()
        return as_text(value) or None

    def find_device(self) -> str | None:
        """This role's device JID in its store, or None when the role is not paired."""
        if not self.uses_postgres:
            try:
                Path(self.store).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            except OSError as error:
                raise ConnectFailure(f"the device store's folder cannot be created: {error}") from None
        devices = stored_devices(self.store)
        if not devices:
            return None
        recorded = self._recorded_jid() if (self.uses_postgres or len(devices) > 1) else None
        if self.uses_postgres or recorded:
            # A shared postgres store holds every role's device: only the recorded one is ours.
            return recorded if recorded in devices else None
        return devices[0]

    def device_jid(self) -> str | None:
        with self._setup_lock:
            if self._device is None and self._client is None:
                self._device = self.find_device()
            return self._device

    def pn_for_lid(self, lid: str) -> str | None:
        # whatsmeow's own LID store (Store.LIDs.GetPNForLID, through goneonize's GetPNFromLID):
        # a read of this process's device store, cached in memory by whatsmeow, which stores a
        # pair before it dispatches the event naming it (a message's SenderAlt, group changes).
        from wagw.events import is_lid, non_ad

        client = self._client
        if client is None or not is_lid(lid):
            return None
        try:
            return non_ad(jid_text(client.get_pn_from_lid(self._jid(lid))))
        except Exception as error:  # a store error: the LID stays, listed as unresolved
            if _LOOKUP_WARNINGS.due():
                logger.warning("whatsmeow's LID store cannot answer: {}", error)
            return None

    # Connection -----------------------------------------------------------------------
    def make_client(self):
        """The neonize client for this role's stored device, handlers registered."""
        neonize = native.load()
        with self._setup_lock:
            self._device = self.find_device()
            if self._device is None:
                raise NotPaired(f"device {self.role!r} is not paired: run `wagw pair --role {self.role}`")
            go_log = logging.getLogger("neonize.utils.log")
            go_log.setLevel(max(logging.INFO, logging.getLogger().level or logging.INFO))
            jid = neonize.proto.JID(**parse_jid(self._device))
            props = device_props(self.role)
            client = neonize.client.NewClient(self.store, jid=jid, props=props, uuid=f"wagw-{self.role}")
            self._register(client)
            self._client = client
            return client

    def _register(self, client) -> None:
        nev = native.load().events

        def on(event_class, function) -> None:
            def handler(_client, event) -> None:
                try:
                    function(event)
                except Exception:  # never let an exception unwind into the Go callback
                    logger.exception("neonize {} handler failed", event_class.__name__)

            self._handlers.append(handler)
            client.event(event_class)(handler)

        on(nev.ConnectedEv, self._on_connected)
        on(nev.DisconnectedEv, self._on_disconnected)
        on(nev.KeepAliveTimeoutEv, self._on_keepalive_timeout)
        on(nev.KeepAliveRestoredEv, self._on_keepalive_restored)
        for name, event_class in (
            ("LoggedOut", nev.LoggedOutEv),
            ("StreamReplaced", nev.StreamReplacedEv),
            ("TemporaryBan", nev.TemporaryBanEv),
            ("ConnectFailure", nev.ConnectFailureEv),
            ("ClientOutdated", nev.ClientOutdatedEv),
        ):
            on(event_class, lambda event, name=name: self._fail(error_for_event(name, event)))
        if self._on_event is not None:
            # One handler per proto class neonize_events maps (by the proto's own name).
            for event_class in nev.EVENT_TO_INT:
                name = event_class.__name__
                if name in neonize_events.MAPPERS:
                    on(event_class, lambda event, name=name: self._inbound(name, event))

    def registered_events(self) -> list[str]:
        """Names of the neonize event classes with a handler (for tests and logs)."""
        INT_TO_EVENT = native.load().events.INT_TO_EVENT

        return sorted(INT_TO_EVENT[code].__name__ for code in self._client.event.list_func)

    def _on_connected(self, event) -> None:
        self._disconnected_since = None
        self._connected.set()
        logger.info("WhatsApp connected ({} as {})", self.role, self._device)

    def _on_disconnected(self, event) -> None:
        if self._disconnected_since is None:
            self._disconnected_since = time.monotonic()
        logger.warning("WhatsApp disconnected ({}); waiting for whatsmeow to reconnect", self.role)

    def _on_keepalive_timeout(self, event) -> None:
        # whatsmeow keepalive.go keepAliveLoop: WhatsApp stopped answering pings. After three
        # minutes whatsmeow forces a reconnect with Disconnect(), which emits no Disconnected:
        # not connected from here on, and the give-up window runs from the last answered ping.
        silent = max(0.0, time.time() - event.LastSuccess) if event.LastSuccess > 0 else 0.0
        if self._disconnected_since is None:
            self._disconnected_since = time.monotonic() - silent
        logger.warning(
            "WhatsApp keepalive timeout ({}: {} errors, {:.0f}s since the last answer)",
            self.role,
            event.ErrorCount,
            silent,
        )

    def _on_keepalive_restored(self, event) -> None:
        # keepAliveLoop: pings answered again on the same connection (a new one sends Connected).
        self._disconnected_since = None
        logger.info("WhatsApp keepalive answered again ({})", self.role)

    def _fail(self, error: BackendError | None) -> None:
        if error is None:
            return
        logger.error("WhatsApp connection ended for {}: {}", self.role, error)
        if self._error is None:
            self._error = error
        self._ended.set()

    def _inbound(self, name: str, event) -> None:
        handler = self._on_event
        if handler is None:  # outbound-only (a native host): inbound events are not ours
            return
        self._note(name, event)
        if name == neonize_events.HISTORY_SYNC_CLASS:  # a message sent from the phone is the account's
            mapped = neonize_events.history_sync_events(event, own=events.non_ad(self._device))
        else:
            mapped = neonize_events.MAPPERS[name](event)
        for wagw_event in mapped:
            handler(wagw_event)

    def notes(self) -> Redis:
        """The Redis client for what the session notes for later sends and sends read."""
        if self._notes is None:
            from wagw.redisconn import connect

            self._notes = connect(self.settings)
        return self._notes

    def _note(self, name: str, event) -> None:
        """Note what a later send needs from an inbound event (best effort: the event itself
        is delivered whatever Redis says here)."""
        try:
            if name == "CallOffer" and (offer := neonize_notes.call_offer(event)) is not None:
                calls.note_offer(self.notes(), self.account, *offer)
            elif (timer := neonize_notes.chat_timer(name, event)) is not None:
                disappearing.note(self.notes(), self.account, *timer)
        except RedisError as error:
            logger.warning("could not note a {} event for later sends: {}", name, type(error).__name__)

    def _run_connect(self) -> None:
        NeonizeError = native.load().exc.NeonizeError

        try:
            while True:
                try:
                    self._client.connect()
                    break
                except NeonizeError as error:
                    if self._reconnect_after(str(error)):
                        continue
                    if self._error is None:
                        self._error = ConnectFailure(f"cannot connect to WhatsApp: {error}")
                    break
        except BaseException as error:  # surfaced by wait()
            if self._error is None:
                self._error = ConnectFailure(f"neonize connect() failed: {error!r}")
        finally:
            if self._error is None and not self._stopping.is_set():
                self._error = ConnectFailure("the connection ended")
            self._ended.set()

    def _reconnect_after(self, text: str) -> bool:
        """connect() returned `text`: reconnect in-process if neonize dropped an event it
        could not encode (go_errors.unencodable_event); False to end the connection.

        Such an event ends neonize's event loop and with it connect(), while whatsmeow stays
        connected. An event that ends the connection anyway (a temporary ban, a connect
        failure, a logout) becomes the matching error; any other (a receipt of a type neonize
        has no value for) is dropped with this log line, the old client is stopped and a new
        connection is made, so the process and everything it holds survive.
        """
        found = go_errors.unencodable_event(text)
        if found is None or self._stopping.is_set():
            return False
        event, field = found
        ending = _UNENCODABLE_ENDINGS.get(event)
        if ending is not None:
            logger.error("neonize could not pass on a {} event ({} not set)", event, field)
            self._error = self._error or type(ending)(str(ending))
            return False
        now = time.monotonic()
        self._drops = [t for t in self._drops if now - t < self.budget.drops_window] + [now]
        if len(self._drops) > self.budget.drops:
            self._error = self._error or ConnectFailure(
                f"neonize dropped {len(self._drops)} events it could not encode within {self.budget.drops_window:g}s"
            )
            return False
        logger.error(
            "neonize could not pass on a {} event from WhatsApp ({} is a value its encoder does not know: {} not set);"
            " the event is dropped and the connection is made again",
            event,
            event,
            field,
        )
        if self._disconnected_since is None:
            self._disconnected_since = now
        self._retired_callbacks.append(getattr(self._client, "_connect_refs", None))
        self._client.stop()  # disconnects the client whose event loop ended
        return True

    def start(self, on_event: EventHandler | None = None) -> None:
        self._on_event = on_event
        self.make_client()
        threading.Thread(target=self._run_connect, name=f"neonize-{self.role}", daemon=True).start()
        deadline = time.monotonic() + self.settings.wa_connect_wait
        while not self._connected.is_set() and not self._ended.is_set() and time.monotonic() < deadline:
            self._connected.wait(0.05)
        if self._ended.is_set() and not self._connected.is_set():
            raise self._error or ConnectFailure("the connection ended")
        if not self._connected.is_set():
            raise ConnectFailure(f"no WhatsApp connection within {self.settings.wa_connect_wait:g}s")

    def wait(self) -> None:
        while not self._ended.is_set() and not self._stopping.is_set():
            self._ended.wait(0.25)
            since = self._disconnected_since
            if since is not None and time.monotonic() - since > self.budget.disconnected_for:
                self._fail(ConnectFailure(f"disconnected for more than {self.budget.disconnected_for:g}s"))
        if self._error is not None and not self._stopping.is_set():
            raise self._error

    def stop(self) -> None:
        """Cancel the connection. neonize's stop() can hang on a stalled network: call it
        where a hang is bounded (the session runs it on a thread with a deadline)."""
        self._stopping.set()
        if self._client is not None:
            self._client.stop()

    def is_connected(self) -> bool:
        return self._connected.is_set() and not self._ended.is_set() and self._disconnected_since is None

    # Outbound -------------------------------------------------------------------------
    def _jid(self, text: str):
        return native.load().proto.JID(**parse_jid(text))

    def _call(self, op: str, function, *args, **kwargs):
        NeonizeError = native.load().exc.NeonizeError

        if self._client is None:
            raise ConnectFailure(f"{op}: not connected (start() first)")
        try:
            return function(*args, **kwargs)
        except NeonizeError as error:
            text = go_errors.error_text(error)
            if go_errors.reach_out_limited(text):  # whatsmeow gives no end time (wagw.reachout)
                raise ReachOutLimited(f"{op} failed: {text}") from None
            raise BackendError(f"{op} failed: {text}") from None

    def _send(self, op: str, to: str, message: Any) -> Any:
        """Send a built message into `to` (neonize's send_message), carrying the chat's
        disappearing timer when it has one (wagw.disappearing)."""
        seconds = self._chat_timer(op, to)
        if seconds:
            with_timer(message, seconds)
        return self._call(op, self._client.send_message, self._jid(to), message)

    def _chat_timer(self, op: str, chat: str) -> int:
        try:
            return disappearing.timer(self.notes(), self.account, chat)
        except RedisError as error:
            logger.warning("{}: the chat's timer cannot be read ({}); sent without one", op, type(error).__name__)
            return 0

    def fetch_avatar(self, jid: str, preview: bool = False, is_community: bool = False) -> dict:
        neonize = native.load()
        if self._client is None:
            raise ConnectFailure("fetch_avatar: not connected (start() first)")
        params = neonize.proto.GetProfilePictureParams(Preview=preview, IsCommunity=is_community)
        try:
            info = self._client.get_profile_picture(self._jid(jid), params)
        except neonize.exc.GetProfilePictureError as error:
            text = go_errors.error_text(error)
            if text in go_errors.NO_PICTURE:
                return results.avatar(jid, None, None, preview, None)  # none set, or hidden from us
            raise BackendError(f"fetch_avatar failed: {text}") from None
        return results.avatar(jid, info.URL, info.ID, preview, info.DirectPath)

    # download_media: the event's kind -> whatsmeow's MediaType (stickers are images and video
    # notes videos to WhatsApp's media hosts, as in neonize's MediaTypeToMMS.from_message).
    _DOWNLOAD_TYPES: ClassVar[dict[str, str]] = {
        "image": "MediaImage",
        "sticker": "MediaImage",
        "video": "MediaVideo",
        "video_note": "MediaVideo",
        "audio": "MediaAudio",
        "document": "MediaDocument",
    }

    def download_media(self, media: dict) -> dict:
        # neonize's download_media_with_path: goneonize's DownloadMediaWithPath calls whatsmeow's,
        # which fetches the direct path from WhatsApp's media hosts, checks the HMAC and both
        # hashes and decrypts. wagw never fetches the event's URL itself.
        neonize = native.load()
        if self._client is None:
            raise ConnectFailure("download_media: not connected (start() first)")
        media_type = getattr(neonize.enum.MediaType, self._DOWNLOAD_TYPES[media["kind"]])
        try:
            data = self._client.download_media_with_path(
                media["direct_path"],
                base64.b64decode(media["file_enc_sha256"]),
                base64.b64decode(media["file_sha256"]),
                base64.b64decode(media["media_key"]),
                int(media["file_length"]),
                media_type,
                media_type.to_mms(),
            )
        except neonize.exc.DownloadError as error:
            text = go_errors.error_text(error)
            refused = go_errors.media_download_refused(text)
            if refused is not None:
                raise InvalidArguments(f"invalid arguments for download_media: media: {refused} ({text})") from None
            raise BackendError(f"download_media failed: {text}") from None
        return {"mimetype": media.get("mime_type"), "data_b64": base64.b64encode(data).decode()}

    def send_text(
        self,
        to: str,
        text: str,
        reply_to: str | None = None,
        reply_to_sender: str | None = None,
        mentions: list[str] | None = None,
        reply_to_text: str | None = None,
    ) -> dict:
        # Always a Message, never the text itself: given a str, neonize's send_message reads
        # `@` and 5 to 16 digits (or `@0`) in it as mentions and, for every `@<id>@g.us`, asks
        # WhatsApp for that group's info (client.py: _parse_mention, _parse_group_mention).
        # Whom a message mentions is the caller's `mentions`, nothing else.
        e2e = native.load().e2e
        context = e2e.ContextInfo(mentionedJID=list(mentions or []))
        if reply_to:
            # WhatsApp finds the quoted message by its id and its sender (the participant);
            # in a direct chat the sender is the other person unless the caller says otherwise.
            if reply_to_sender is None and to.endswith("@" + GROUP_SERVER):
                raise InvalidArguments("invalid arguments for send_text: reply_to_sender: required in a group")
            context.stanzaID = reply_to
            context.participant = reply_to_sender or to
            context.quotedMessage.CopyFrom(e2e.Message(conversation=reply_to_text or ""))
        if mentions or reply_to:
            message = e2e.Message(extendedTextMessage=e2e.ExtendedTextMessage(text=text, contextInfo=context))
        else:
            message = e2e.Message(conversation=text)
        response = self._send("send_text", to, message)
        return results.sent(response.ID, response.Timestamp, to)

    def send_image(
        self, to: str, image: bytes, mimetype: str, caption: str | None = None, view_once: bool = False
    ) -> dict:
        # Not neonize's send_image: its thumbnail is made from the stored pixels, so a photo
        # with an EXIF orientation shows sideways in the chat, and it reads the caption with
        # its own @mention regex. The same ImageMessage with an upright thumbnail and the
        # image's size, from neonize's upload (as an image) and send_message.
        try:
            small, width, height = image_thumbnail(image)
        except ValueError as error:
            raise InvalidArguments(f"invalid arguments for send_image: image: {error}") from None
        neonize = native.load()
        uploaded = self._uploaded("send_image", image, mimetype, neonize.enum.MediaType.MediaImage)
        message = neonize.e2e.ImageMessage(
            **uploaded, JPEGThumbnail=small, width=width, height=height, viewOnce=view_once
        )
        if caption:
            message.caption = caption
        response = self._send("send_image", to, neonize.e2e.Message(imageMessage=message))
        return results.sent(response.ID, response.Timestamp, to)

    def send_location(
        self, to: str, latitude: float, longitude: float, name: str | None = None, address: str | None = None
    ) -> dict:
        # neonize 0.5.2 has no send_location helper: its own send_message with whatsmeow's
        # LocationMessage (what WhatsApp's "share location" sends; not a live location).
        e2e = native.load().e2e
        location = e2e.LocationMessage(degreesLatitude=latitude, degreesLongitude=longitude)
        if name is not None:
            location.name = name
        if address is not None:
            location.address = address
        message = e2e.Message(locationMessage=location)
        response = self._send("send_location", to, message)
        return results.sent(response.ID, response.Timestamp, to)

    def send_contact(self, to: str, name: str, phone: str) -> dict:
        # Not neonize's send_contact: its vCard (gen_vcard) has no N: line, an unescaped FN:
        # and an Indonesian "Ponsel" label. The same ContactMessage with wagw's card
        # (wagw.operations.vcard), sent with neonize's send_message.
        e2e = native.load().e2e
        if self._client is None:
            raise ConnectFailure("send_contact: not connected (start() first)")
        message = e2e.Message(contactMessage=e2e.ContactMessage(displayName=name, vcard=vcard(name, phone)))
        response = self._send("send_contact", to, message)
        return results.sent(response.ID, response.Timestamp, to)

    def send_link(self, to: str, url: str, caption: str | None = None) -> dict:
        # The text WhatsApp shows is the caption, then the link on its own line; matchedText
        # marks the link. Never neonize's link_preview=True: that fetches the page and its
        # image from the host process with no address checks (SSRF; docs/security.md).
        e2e = native.load().e2e
        text = f"{caption}\n{url}" if caption else url
        message = e2e.Message(extendedTextMessage=e2e.ExtendedTextMessage(text=text, matchedText=url))
        response = self._send("send_link", to, message)
        return results.sent(response.ID, response.Timestamp, to)

    def send_poll(self, to: str, question: str, options: list[str], max_answers: int = 1) -> dict:
        # neonize's build_poll_vote_creation (whatsmeow's BuildPollCreation: the options, the
        # selectable count and a fresh message secret for the votes), then send_message.
        # neonize types the count as VoteType (SINGLE=1, MULTIPLE=0 "any number") but hands
        # Go its `.value`: any count from 1 to the number of options passes as it is.
        if self._client is None:
            raise ConnectFailure("send_poll: not connected (start() first)")
        count = _SelectableCount(max_answers)
        message = self._call("send_poll", self._client.build_poll_vote_creation, question, list(options), count)
        response = self._send("send_poll", to, message)
        return results.sent(response.ID, response.Timestamp, to)

    def send_file(
        self,
        to: str,
        file: bytes,
        filename: str | None = None,
        caption: str | None = None,
        mimetype: str = "application/octet-stream",
    ) -> dict:
        # The DocumentMessage of neonize's send_document (uploaded as MediaDocument, the file
        # name as name and title, wagw's mimetype from the bytes), built here: neonize's reads
        # the caption with its own @mention regex and asks WhatsApp about every group id in it.
        neonize = native.load()
        uploaded = self._uploaded("send_file", file, mimetype, neonize.enum.MediaType.MediaDocument)
        uploaded.pop("seconds", None)  # a document has no duration
        document = neonize.e2e.DocumentMessage(**uploaded)
        if filename:
            document.fileName = document.title = filename
        if caption:
            document.caption = caption
        response = self._send("send_file", to, neonize.e2e.Message(documentMessage=document))
        return results.sent(response.ID, response.Timestamp, to)

    def send_sticker(self, to: str, sticker: bytes, mimetype: str) -> dict:
        # neonize's send_sticker: a static image is squared with Pillow and saved as WebP
        # (with its sticker EXIF), uploaded and sent. The wa-worker has already checked that
        # it is one static image and scaled it to fit 512x512 (workers/wa/media.py); animated
        # stickers go through ffmpeg in neonize, which wagw does not offer.
        try:
            check_decodes(sticker)
        except ValueError as error:
            raise InvalidArguments(f"invalid arguments for send_sticker: sticker: {error}") from None
        if self._client is None:
            raise ConnectFailure("send_sticker: not connected (start() first)")
        message = self._call("send_sticker", self._client.build_sticker_message, sticker)
        response = self._send("send_sticker", to, message)
        return results.sent(response.ID, response.Timestamp, to)

    def _uploaded(self, operation: str, data: bytes, mimetype: str, media_type: Any) -> dict[str, Any]:
        """Upload `data` with neonize's own upload; the fields a Video/AudioMessage takes for it,
        the duration read from the container (wagw.operations.audio) when it says."""
        if self._client is None:
            raise ConnectFailure(f"{operation}: not connected (start() first)")
        upload = self._call(operation, self._client.upload, data, media_type)
        fields = {
            "URL": upload.url,
            "directPath": upload.DirectPath,
            "fileEncSHA256": upload.FileEncSHA256,
            "fileLength": upload.FileLength,
            "fileSHA256": upload.FileSHA256,
            "mediaKey": upload.MediaKey,
            "mimetype": mimetype,
        }
        seconds = audio_duration(data, mimetype)
        if seconds is not None:
            fields["seconds"] = seconds
        return fields

    def send_video(
        self, to: str, video: bytes, mimetype: str, caption: str | None = None, view_once: bool = False
    ) -> dict:
        # Not neonize's send_video: it runs the ffmpeg program for the duration and a thumbnail
        # (wagw does not require ffmpeg). The same VideoMessage from neonize's own upload (as
        # video) and send_message, the duration read from the MP4's movie header, the shown
        # size from its video track, the thumbnail from its cover picture if it has one
        # (wagw.operations.video).
        neonize = native.load()
        shown = video_picture(video)
        uploaded = self._uploaded("send_video", video, mimetype, neonize.enum.MediaType.MediaVideo)
        message = neonize.e2e.VideoMessage(**uploaded, viewOnce=view_once)
        if shown.width and shown.height:
            message.width, message.height = shown.width, shown.height
        if shown.cover:
            try:
                message.JPEGThumbnail = image_thumbnail(shown.cover)[0]
            except ValueError:
                logger.info("send_video: the video's cover picture does not decode; sent without a thumbnail")
        if caption:
            message.caption = caption
        response = self._send("send_video", to, neonize.e2e.Message(videoMessage=message))
        return results.sent(response.ID, response.Timestamp, to)

    def send_audio(self, to: str, audio: bytes, mimetype: str, ptt: bool = False) -> dict:
        # Not neonize's send_audio: it asks the ffmpeg program for the duration (wagw does not
        # require ffmpeg). The same message from neonize's own upload (as audio) and
        # send_message, with the duration read from the container (wagw.operations.audio).
        neonize = native.load()
        uploaded = self._uploaded("send_audio", audio, mimetype, neonize.enum.MediaType.MediaAudio)
        message = neonize.e2e.AudioMessage(**uploaded, PTT=ptt)
        response = self._send("send_audio", to, neonize.e2e.Message(audioMessage=message))
        return results.sent(response.ID, response.Timestamp, to)

    def user_info(self, jids: list[str]) -> dict:
        found = self._call("user_info", self._client.get_user_info, *[self._jid(j) for j in jids])
        entries = []
        for item in found:
            info = item.UserInfo
            verified = info.VerifiedName.Details.verifiedName if info.HasField("VerifiedName") else None
            entries.append(
                results.user(
                    neonize_events.jid_str(item.JID) or "",
                    info.Status,
                    info.PictureID,
                    verified,
                    [jid for d in info.Devices if (jid := jid_text(d))],
                )
            )
        return results.users(entries)

    def is_on_whatsapp(self, phones: list[str]) -> dict:
        neonize = native.load()
        if self._client is None:
            raise ConnectFailure("is_on_whatsapp: not connected (start() first)")
        # whatsmeow reads a number without "+" as a national one: always send "+<digits>".
        queries = ["+" + phone.lstrip("+") for phone in phones]
        try:
            found = self._client.is_on_whatsapp(*queries)
        except neonize.exc.IsOnWhatsAppError as error:
            text = go_errors.error_text(error)
            if text != go_errors.NOTHING_RETURNED:
                raise BackendError(f"is_on_whatsapp failed: {text}") from None
            found = []  # WhatsApp answered for none of them (invalid numbers): none is on it
        return neonize_results.on_whatsapp(queries, found)

    def group_info(self, jid: str) -> dict:
        info = self._call("group_info", self._client.get_group_info, self._jid(jid))
        self._note_group_timers([info])
        return neonize_results.group(info)

    def joined_groups(self) -> dict:
        found = self._call("joined_groups", self._client.get_joined_groups)
        self._note_group_timers(found)
        return results.groups([neonize_results.group(g) for g in found])

    def _note_group_timers(self, infos: Any) -> None:
        """A group's info says its disappearing timer: what sends into it carry."""
        try:
            for info in infos:
                if (timer := neonize_notes.group_timer(info)) is not None:
                    disappearing.note(self.notes(), self.account, *timer)
        except RedisError as error:
            logger.warning("groups' disappearing timers not noted: {}", type(error).__name__)

    def mark_read(self, chat: str, ids: list[str], sender: str | None = None) -> dict:
        ReceiptType = native.load().enum.ReceiptType

        self._call(
            "mark_read",
            self._client.mark_read,
            *ids,
            chat=self._jid(chat),
            sender=self._jid(sender or chat),
            receipt=ReceiptType.READ,
        )
        return results.marked_read(chat, ids, sender)

    def my_privacy(self) -> dict:
        # goneonize's GetPrivacySettings returns the settings only: whatsmeow fetches them once
        # per connection and caches them; a failed fetch is logged by whatsmeow and reads as
        # every setting unset (null here), never as an error.
        return neonize_results.privacy(self._call("my_privacy", self._client.get_privacy_settings))

    def contacts(self) -> dict:
        # whatsmeow's contact store of this slot's device (goneonize's GetAllContacts): local,
        # filled by the app-state sync from the phone; a store error is ContactStoreError.
        if self._client is None:
            raise ConnectFailure("contacts: not connected (start() first)")
        return neonize_results.contacts(self._call("contacts", self._client.contact.get_all_contacts))

    def react(self, chat: str, message_id: str, emoji: str, sender: str | None = None) -> dict:
        # whatsmeow's BuildReaction keys the message by chat, id and sender: a sender other
        # than this account makes it someone else's message (and, in a group, its participant).
        # In a direct chat the message is the other person's unless the caller says otherwise.
        if sender is None and chat.endswith("@" + GROUP_SERVER):
            raise InvalidArguments("invalid arguments for react: sender: required when chat is a group")
        message = self._call(
            "react", self._client.build_reaction, self._jid(chat), self._jid(sender or chat), message_id, emoji
        )
        response = self._call("react", self._client.send_message, self._jid(chat), message)
        return results.acted(response.ID, response.Timestamp, chat, message_id, emoji=emoji)

    def revoke(self, chat: str, message_id: str, sender: str | None = None) -> dict:
        # neonize's build_revoke keys the message as this account's own when the sender's user
        # is ours (get_me()), else, outside a direct chat, names the sender as participant
        # (an admin deleting a member's message).
        found = self._call("revoke", self._client.get_me)
        me = found.JID
        # The account's LID is the account too (as in whatsmeow's BuildMessageKey).
        own = sender is None or sender.partition("@")[0] in {me.User, found.LID.User} - {""}
        if not own and not chat.endswith("@" + GROUP_SERVER):
            raise InvalidArguments(REVOKE_OTHERS)
        who = self._jid(sender) if sender is not None and not own else me
        response = self._call("revoke", self._client.revoke_message, self._jid(chat), who, message_id)
        return results.acted(response.ID, response.Timestamp, chat, message_id, sender=sender)

    def edit_message(self, chat: str, message_id: str, text: str) -> dict:
        # neonize's build_edit: a MESSAGE_EDIT protocol message keyed as this account's own.
        e2e = native.load().e2e
        response = self._call(
            "edit_message", self._client.edit_message, self._jid(chat), message_id, e2e.Message(conversation=text)
        )
        return results.acted(response.ID, response.Timestamp, chat, message_id, text=text)

    def send_presence(self, presence: str) -> dict:
        # whatsmeow refuses with "can't send presence without PushName set" until the phone
        # has synced the account's push name to this device.
        Presence = native.load().enum.Presence

        self._call("send_presence", self._client.send_presence, Presence(presence.encode()))
        return results.presence_sent(presence)

    def subscribe_presence(self, jid: str) -> None:
        # neonize's subscribe_presence: goneonize SubscribePresence -> whatsmeow's (presence.go),
        # which ensures the chat's privacy token (ensureTCToken) before <presence type=subscribe>.
        self._call("subscribe_presence", self._client.subscribe_presence, self._jid(jid))

    def send_chat_presence(self, chat: str, state: str) -> dict:
        # whatsmeow's chat states are composing and paused; "recording" is composing with
        # media "audio" (what phones show as "recording audio…").
        enum = native.load().enum
        presence = (
            enum.ChatPresence.CHAT_PRESENCE_PAUSED if state == "paused" else enum.ChatPresence.CHAT_PRESENCE_COMPOSING
        )
        media = (
            enum.ChatPresenceMedia.CHAT_PRESENCE_MEDIA_AUDIO
            if state == "recording"
            else enum.ChatPresenceMedia.CHAT_PRESENCE_MEDIA_TEXT
        )
        self._call("send_chat_presence", self._client.send_chat_presence, self._jid(chat), presence, media)
        return results.chat_presence_sent(chat, state)

    def set_disappearing(self, chat: str, seconds: int) -> dict:
        # goneonize reads the timer as a Go time.Duration (nanoseconds: neonize passes an int
        # through, a timedelta would become milliseconds) and the setting time as
        # time.UnixMilli(setting_ts); neonize computes that as
        # int(time.time() + setting_ts.total_seconds() * 1000), and without it sends 0, i.e.
        # 1970, as the EphemeralSettingTimestamp of a direct chat's setting message. So
        # setting_ts is chosen to make neonize's sum the current unix time in milliseconds.
        now = time.time()
        setting_ts = timedelta(seconds=(now * 1000 - now) / 1000)
        self._call(
            "set_disappearing",
            self._client.set_disappearing_timer,
            self._jid(chat),
            seconds * 1_000_000_000,
            setting_ts,
        )
        disappearing.note(self.notes(), self.account, [chat], seconds, now)  # what sends carry from now
        return results.disappearing_set(chat, seconds)

    def reject_call(self, call_id: str, caller: str) -> dict:
        # whatsmeow's RejectCall sends a <call><reject/></call> from the account (device part
        # dropped) to the caller: any device of the account can decline the call. The caller
        # must be the offer's creator as WhatsApp addressed it (LID or number: wagw.calls).
        caller = calls.caller_to_reject(self.notes(), self.account, call_id, caller)
        self._call("reject_call", self._client.reject_call, self._jid(caller), call_id)
        return results.call_rejected(call_id, caller)

    # Groups ---------------------------------------------------------------------------------
    def leave_group(self, jid: str) -> dict:
        self._call("leave_group", self._client.leave_group, self._jid(jid))
        return results.left_group(jid)

    def set_group_name(self, jid: str, name: str) -> dict:
        self._call("set_group_name", self._client.set_group_name, self._jid(jid), name)
        return results.group_named(jid, name)

    def set_group_topic(self, jid: str, topic: str) -> dict:
        # No previous or new topic id: whatsmeow reads the current one from the group's info
        # and makes a new one (an empty topic is sent as a removal).
        self._call("set_group_topic", self._client.set_group_topic, self._jid(jid), "", "", topic)
        return results.group_topic(jid, topic)

    def set_group_locked(self, jid: str, locked: bool) -> dict:
        self._call("set_group_locked", self._client.set_group_locked, self._jid(jid), locked)
        return results.group_locked(jid, locked)

    def set_group_announce(self, jid: str, announce: bool) -> dict:
        self._call("set_group_announce", self._client.set_group_announce, self._jid(jid), announce)
        return results.group_announce(jid, announce)

    def group_invite_link(self, jid: str, reset: bool = False) -> dict:
        link = self._call("group_invite_link", self._client.get_group_invite_link, self._jid(jid), reset)
        return results.invite_link(jid, link, reset)

    def group_requests(self, jid: str) -> dict:
        found = self._call("group_requests", self._client.get_group_request_participants, self._jid(jid))
        return neonize_results.join_requests(jid, found)

    def create_group(self, name: str, participants: list[str]) -> dict:
        # neonize makes a new create key per call: a second call is a second group.
        info = self._call("create_group", self._client.create_group, name, [self._jid(p) for p in participants])
        self._note_group_timers([info])
        return neonize_results.group(info)

    def group_participants(self, jid: str, action: str, participants: list[str]) -> dict:
        change = native.load().enum.ParticipantChange(action)
        found = self._call(
            "group_participants",
            self._client.update_group_participants,
            self._jid(jid),
            [self._jid(p) for p in participants],
            change,
        )
        return neonize_results.participants_changed(jid, action, found)

    def join_group(self, link: str) -> dict:
        joined = self._call("join_group", self._client.join_group_with_link, link)
        return results.joined_group(neonize_events.jid_str(joined) or "")

    def group_info_from_link(self, link: str) -> dict:
        return neonize_results.group(self._call("group_info_from_link", self._client.get_group_info_from_link, link))

    def set_group_photo(self, jid: str, image: bytes, mimetype: str) -> dict:
        try:
            photo = group_photo_jpeg(image)  # WhatsApp takes a JPEG (whatsmeow: ErrInvalidImageFormat)
        except ValueError as error:
            raise InvalidArguments(f"invalid arguments for set_group_photo: image: {error}") from None
        # Always bytes: given a str, neonize would fetch a URL or read a file itself, unchecked.
        picture_id = self._call("set_group_photo", self._client.set_group_photo, self._jid(jid), photo)
        return results.group_photo(jid, picture_id)
