"""neonize's Go boundary, stubbed only where it would touch the network.

neonize calls its Go library (goneonize, with whatsmeow inside) through ctypes function
pointers on one loaded CDLL object, `neonize._binder.gocode`. Each entry has its real
`argtypes`, `restype` and an `errcheck` hook that copies the result and frees it with Go's
own FreeBytesStruct / FreeString.

Real in this tier:
- all of neonize's Python: NewClient and its wrappers (get_profile_picture, send_message,
  send_image with its Pillow thumbnail, is_on_whatsapp, mark_read, …), its argument
  serialisation, its result parsing and exceptions, Event.execute, its protobuf classes;
- the ctypes layer: every call crosses a real C function pointer with the entry's own
  argtypes/restype/errcheck, and results are freed by the real Go FreeBytesStruct/FreeString;
- the real Go library for everything that works offline: GetAllDevices (whatsmeow's sqlstore
  on a real sqlite file; it creates the schema, into which scenarios.make_store writes device
  rows as whatsmeow's PutDevice would, since only a real pairing makes one), FreeBytesStruct,
  FreeString; and whatsmeow's client on that store: the stubbed `Neonize` first calls the real
  one with a proxy address Go cannot parse, so goneonize opens the store, loads the device,
  makes the whatsmeow client and registers it under the connection's uuid, then returns the
  parse error before any network (main.go Neonize: `clients[uuid] = client` comes before
  applyProxySettings). GetPNFromLID and GetLIDFromPN therefore run whatsmeow's real LID store
  (sqlstore CachedLIDMap) on the real sqlite file, and the offline builders and readers of
  that client (stub_sources.TRACED: GetMe, BuildReaction, BuildPollVoteCreation,
  GenerateMessageID, GetAllContacts on the store's contacts table) run for real, their
  arguments recorded in the world's calls;
- wagw itself, all of it.

Stubbed (stub_sources.STUBBED, each with the Go source its model follows): the entries that
would talk to WhatsApp. Each is replaced by a
Python callback behind a C function pointer with the same prototype; it decodes its
arguments as goneonize does, asks `whatsmeow.World` for the answer and returns it as
goneonize would: the marshalled `…ReturnFunction` in a malloc'd BytesReturn (as
ProtoReturnV3) or a malloc'd C string (as C.CString). `Neonize` (connect) emits the Device
and Connected events, then dispatches queued inbound events through the real neonize event
callback (Event.execute) until `Stop`, and returns Go's error text when an event cannot be
marshalled, as goneonize's CallbackFunction does. `Stop` ends that loop (the real client
never connected). Before dispatching a message, the loop stores its sender's alternate
address (else the recipient's) in the store's LID map, as whatsmeow's handleEncryptedMessage
does before dispatching (whatsmeow.store_message_pair).
"""

from __future__ import annotations

import contextlib
import ctypes
import queue
import sqlite3
import threading
import traceback
from collections.abc import Callable, Iterator
from typing import Any

from neonize import _binder
from neonize.proto import Neonize_pb2 as N
from neonize.proto.waCompanionReg.WAWebProtobufsCompanionReg_pb2 import DeviceProps
from neonize.proto.waE2E import WAWebProtobufsE2E_pb2 as E

from tests.conformance import whatsmeow
from tests.conformance.stub_sources import STUBBED, TRACED

# Entries whose Go function returns an error text (C.CString, "" for none), not a BytesReturn.
STRING_RESULTS = (
    "Neonize",
    "SetGroupAnnounce",
    "SetGroupLocked",
    "MarkRead",
    "LeaveGroup",
    "SetGroupName",
    "SetGroupTopic",
    "SendPresence",
    "SendChatPresence",
    "SubscribePresence",
    "SetDisappearingTimer",
    "RejectCall",
)

_libc = ctypes.CDLL(None)
_libc.malloc.restype = ctypes.c_void_p
_libc.malloc.argtypes = [ctypes.c_size_t]


def go_bytes(message: Any) -> int:
    """A BytesReturn on the C heap, as goneonize's ProtoReturnV3 makes it (freed by Go)."""
    data = whatsmeow.marshal(message)
    result = _libc.malloc(ctypes.sizeof(_binder.Bytes))
    returned = _binder.Bytes.from_address(result)
    returned.size = len(data)
    returned.ptr = None
    if data:
        returned.ptr = _libc.malloc(len(data))
        ctypes.memmove(returned.ptr, data, len(data))
    return result


def go_string(text: str) -> int:
    """A C string on the C heap, as Go's C.CString makes it (freed by Go's FreeString)."""
    data = text.encode() + b"\0"
    pointer = _libc.malloc(len(data))
    ctypes.memmove(pointer, data, len(data))
    return pointer


def _read(pointer: int | None, size: int) -> bytes:
    return ctypes.string_at(pointer, size) if pointer and size > 0 else b""


def _text(pointer: int | None) -> str:
    return ctypes.string_at(pointer).decode() if pointer else ""


class Boundary:
    """The stubs, installed on the loaded Go library until restore()."""

    def __init__(self, world: whatsmeow.World):
        self.world = world
        self.gocode = _binder.gocode
        self.real_get_all_devices = self.gocode.GetAllDevices
        self.real_neonize = self.gocode.Neonize
        self.errors: list[str] = []  # tracebacks of stubs that raised (a test bug, reported)
        self._saved: dict[str, Any] = {}
        self._keep: list[Any] = []  # callbacks must outlive every call through them
        self._stop: dict[str, threading.Event] = {}
        self._stores: dict[str, tuple[str, str]] = {}  # connection uuid -> (store file, own JID)
        self.connects = 0

    # Installing ---------------------------------------------------------------------------------
    def install(self) -> Boundary:
        implementations: dict[str, Callable[..., Any]] = {
            "Neonize": self._neonize,
            "Stop": self._stop_client,
            "GetProfilePicture": self._get_profile_picture,
            "IsOnWhatsApp": self._is_on_whatsapp,
            "GetUserInfo": self._get_user_info,
            "SendMessage": self._send_message,
            "Upload": self._upload,
            "GetGroupInfo": self._get_group_info,
            "GetJoinedGroups": self._get_joined_groups,
            "MarkRead": self._mark_read,
            "GetPrivacySettings": self._get_privacy_settings,
            "SendPresence": self._send_presence,
            "SendChatPresence": self._send_chat_presence,
            "SubscribePresence": self._subscribe_presence,
            "SetDisappearingTimer": self._set_disappearing_timer,
            "RejectCall": self._reject_call,
            "LeaveGroup": self._leave_group,
            "SetGroupPhoto": self._set_group_photo,
            "GetGroupInfoFromLink": self._get_group_info_from_link,
            "JoinGroupWithLink": self._join_group_with_link,
            "UpdateGroupParticipants": self._update_group_participants,
            "CreateGroup": self._create_group,
            "GetGroupRequestParticipants": self._get_group_request_participants,
            "GetGroupInviteLink": self._get_group_invite_link,
            "SetGroupAnnounce": self._set_group_announce,
            "SetGroupLocked": self._set_group_locked,
            "SetGroupName": self._set_group_name,
            "SetGroupTopic": self._set_group_topic,
            "DownloadMediaWithPath": self._download_media_with_path,
        }
        for name in STUBBED:
            self._replace(name, implementations[name])
        recorders: dict[str, Callable[..., dict[str, Any]]] = {
            "GetMe": lambda uuid: {},
            "BuildReaction": self._build_reaction_arguments,
            "BuildPollVoteCreation": self._build_poll_vote_creation_arguments,
            "GenerateMessageID": lambda uuid: {},
            "GetAllContacts": self._get_all_contacts_arguments,
        }
        for name in TRACED:
            self._trace(name, recorders[name], self._store_unreadable if name == "GetAllContacts" else None)
        return self

    def restore(self) -> None:
        for name, real in self._saved.items():
            setattr(self.gocode, name, real)
        self._saved.clear()

    def _replace(self, name: str, implementation: Callable[..., Any]) -> None:
        real = getattr(self.gocode, name)
        # The callback sees raw pointers (a c_char_p argument would arrive cut at its first
        # NUL byte); the function pointer neonize calls keeps the real prototype and errcheck.
        raw_args = [ctypes.c_void_p if t is ctypes.c_char_p else t for t in real.argtypes]
        callback = ctypes.CFUNCTYPE(ctypes.c_void_p, *raw_args)(self._guarded(name, implementation))
        pointer = ctypes.CFUNCTYPE(real.restype, *real.argtypes)(ctypes.cast(callback, ctypes.c_void_p).value)
        if getattr(real, "errcheck", None) is not None:
            pointer.errcheck = real.errcheck
        self._saved[name] = real
        self._keep += [callback, pointer]
        setattr(self.gocode, name, pointer)

    def _trace(
        self,
        name: str,
        arguments: Callable[..., dict[str, Any]],
        around: Callable[..., contextlib.AbstractContextManager[None]] | None = None,
    ) -> None:
        """The real Go entry, called with the same raw arguments after recording them; its
        result pointer goes back unchanged to neonize's errcheck, which frees it with Go."""
        real = getattr(self.gocode, name)
        raw_args = [ctypes.c_void_p if t is ctypes.c_char_p else t for t in real.argtypes]
        address = ctypes.cast(real, ctypes.c_void_p).value
        go = ctypes.CFUNCTYPE(ctypes.c_void_p, *raw_args)(address)

        def call(*args: Any) -> Any:
            self.world.record(name, **arguments(*args))
            with around(*args) if around else contextlib.nullcontext():
                return go(*args)

        self._replace(name, call)
        self._keep.append(go)

    def _guarded(self, name: str, implementation: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            try:
                return implementation(*args)
            except Exception:  # an exception must not cross into C: report it as a Go error
                self.errors.append(f"{name}: {traceback.format_exc()}")
                return go_string(f"stub {name} raised") if name in STRING_RESULTS else 0

        return call

    # Connection --------------------------------------------------------------------------------
    def _neonize(self, db, uuid, jid_ptr, jid_size, new_device, log_level, qr_cb, login_cb, event_cb, log_cb,
                 subscribers, subscribers_size, props, props_size, pair, pair_size, proxy) -> int:  # fmt: skip
        uuid_bytes = ctypes.string_at(uuid)
        wanted = N.JID.FromString(_read(jid_ptr, jid_size))
        subscribed = set(_read(subscribers, subscribers_size))
        stop = self._stop[uuid_bytes.decode()] = threading.Event()
        self._stores[uuid_bytes.decode()] = (_text(db), whatsmeow.jid_text(wanted))
        self.connects += 1
        # goneonize merges the props into whatsmeow's store.DeviceProps, sent when a device is linked.
        device = DeviceProps.FromString(_read(props, props_size))
        self.world.record(
            "Neonize",
            store=_text(db),
            jid=whatsmeow.jid_text(wanted),
            subscribed=sorted(subscribed),
            device_os=device.os,
            device_platform=DeviceProps.PlatformType.Name(device.platformType),
        )
        # The real Go opens the store and loads the device (and panics on a JID it does not
        # hold; wagw never passes one): read the store the same, real, way.
        log_callback = _binder.func_callback_bytes2(lambda *_: None)
        stored = self.real_get_all_devices(_text(db).encode(), log_callback).decode()
        if (
            not stored.startswith(whatsmeow.jid_text(wanted) + ",")
            and f"|\x01|{whatsmeow.jid_text(wanted)}," not in stored
        ):
            return go_string(f"device {whatsmeow.jid_text(wanted)} is not in the store (the real library panics here)")
        made = self._real_client(db, uuid_bytes, _read(jid_ptr, jid_size), _read(props, props_size))
        if made is not None:
            return go_string(made)
        me = N.Device(JID=wanted, LID=whatsmeow.jid(None), Platform="", BussinessName="", PushName="", Initialized=True)

        def dispatch(code: int, event: Any) -> str | None:
            try:
                data = whatsmeow.marshal(event)
            except whatsmeow.MarshalError as error:  # CallbackFunction: `return err`
                return str(error)
            buffer = ctypes.create_string_buffer(data, len(data))
            event_cb(uuid_bytes, ctypes.addressof(buffer), len(data), code)
            return None

        dispatch(whatsmeow.DEVICE_CODE, me)  # FetchMe, before the loop
        if whatsmeow.CONNECTED in subscribed:
            dispatch(whatsmeow.CONNECTED, N.Connected(status=True))
        while not stop.is_set():
            try:
                item = self.world.inbound.get(timeout=0.02)
            except queue.Empty:
                continue
            if stop.is_set():  # stopped while it waited: the event is for the next connection
                self.world.inbound.put(item)
                break
            code, event, done = item
            if code == whatsmeow.MESSAGE:
                whatsmeow.store_message_pair(_text(db), event)
            failure = dispatch(code, event) if code in subscribed else None
            done.set()
            if failure is not None:
                return go_string(failure)
        return go_string("")

    # The proxy address the real Neonize cannot parse: it returns right after making the client.
    UNPARSABLE_PROXY = b"%zz"

    def _real_client(self, db, uuid: bytes, jid: bytes, props: bytes) -> str | None:
        """The real goneonize makes this connection's whatsmeow client on its store and
        registers it, then stops at the proxy (None), or the error it stopped at instead."""
        callbacks = (
            _binder.func_string(lambda *_: None),
            _binder.func_string(lambda *_: None),
            _binder.func_callback_bytes(lambda *_: None),
            _binder.func_callback_bytes2(lambda *_: None),  # the client's logger keeps calling it
        )
        self._keep += callbacks
        proxy = _binder._CProxySettings(proxyAddress=self.UNPARSABLE_PROXY)
        returned = self.real_neonize(
            ctypes.string_at(db), uuid, jid, len(jid), 0, b"ERROR", *callbacks, b"", 0, props, len(props), b"", 0,
            ctypes.byref(proxy),
        )  # fmt: skip
        text = returned.decode() if isinstance(returned, bytes) else str(returned)
        return None if "invalid URL escape" in text else f"the real Neonize did not make its client: {text}"

    def _stop_client(self, uuid) -> int:
        stop = self._stop.get(_text(uuid))
        if stop is not None:
            stop.set()
        return 0  # goneonize's Stop returns nothing

    # Calls --------------------------------------------------------------------------------------
    def _download_media_with_path(
        self, uuid, path, enc, enc_size, plain, plain_size, key, key_size, length, media_type, mms_type
    ) -> int:
        return go_bytes(
            self.world.download_media_with_path(
                _text(path),
                _read(enc, enc_size),
                _read(plain, plain_size),
                _read(key, key_size),
                length,
                media_type,
                _text(mms_type),
            )
        )

    def _get_profile_picture(self, uuid, jid_ptr, jid_size, params_ptr, params_size) -> int:
        target = N.JID.FromString(_read(jid_ptr, jid_size))
        params = N.GetProfilePictureParams.FromString(_read(params_ptr, params_size))
        return go_bytes(self.world.get_profile_picture(target, params))

    def _is_on_whatsapp(self, uuid, numbers) -> int:
        answer = self.world.is_on_whatsapp(_text(numbers))
        # user.go IsOnWhatsApp: each LID answered with its number goes into the LID store
        for found in answer.IsOnWhatsAppResponse:
            if found.JID.Server == "lid":
                number = whatsmeow.international(found.Query)[1:] + "@s.whatsapp.net"
                whatsmeow.store_lid_pair(self._stores[_text(uuid)][0], whatsmeow.jid_text(found.JID), number)
        return go_bytes(answer)

    def _get_user_info(self, uuid, jids_ptr, jids_size) -> int:
        return go_bytes(self.world.get_user_info(N.JIDArray.FromString(_read(jids_ptr, jids_size))))

    def _send_message(self, uuid, jid_ptr, jid_size, message_ptr, message_size) -> int:
        target = N.JID.FromString(_read(jid_ptr, jid_size))
        return go_bytes(self.world.send_message(target, E.Message.FromString(_read(message_ptr, message_size))))

    def _upload(self, uuid, data, size, media_type) -> int:
        return go_bytes(self.world.upload(_read(data, size), media_type))

    def _build_poll_vote_creation_arguments(self, uuid, name, options_ptr, options_size, selectable) -> dict:
        options = N.ArrayString.FromString(_read(options_ptr, options_size))
        return {"name": _text(name), "options": list(options.data), "selectable": selectable}

    def _get_group_info(self, uuid, jid_ptr, jid_size) -> int:
        return go_bytes(self.world.get_group_info(N.JID.FromString(_read(jid_ptr, jid_size))))

    def _get_joined_groups(self, uuid) -> int:
        return go_bytes(self.world.get_joined_groups())

    def _mark_read(self, uuid, ids, timestamp, chat, chat_size, sender, sender_size, receipt_type) -> int:
        chat_jid, sender_jid = N.JID.FromString(_read(chat, chat_size)), N.JID.FromString(_read(sender, sender_size))
        return go_string(self.world.mark_read(_text(ids), timestamp, chat_jid, sender_jid, _text(receipt_type)))

    def _get_privacy_settings(self, uuid) -> int:
        return go_bytes(self.world.get_privacy_settings())

    def _get_all_contacts_arguments(self, uuid) -> dict:
        """The world's contacts go into the connection's real store first."""
        store, own = self._stores[_text(uuid)]
        whatsmeow.store_contacts(store, own, self.world.contacts)
        return {}

    @contextlib.contextmanager
    def _store_unreadable(self, uuid) -> Iterator[None]:
        """While the world says so, the store's contacts table cannot be read (a real sqlite
        error from the real query)."""
        if not self.world.contacts_unreadable:
            yield
            return
        with sqlite3.connect(self._stores[_text(uuid)][0]) as db:
            db.execute("ALTER TABLE whatsmeow_contacts RENAME TO whatsmeow_contacts_away")
        try:
            yield
        finally:
            with sqlite3.connect(self._stores[_text(uuid)][0]) as db:
                db.execute("ALTER TABLE whatsmeow_contacts_away RENAME TO whatsmeow_contacts")

    def _build_reaction_arguments(self, uuid, chat, chat_size, sender, sender_size, message_id, reaction) -> dict:
        chat_jid, sender_jid = N.JID.FromString(_read(chat, chat_size)), N.JID.FromString(_read(sender, sender_size))
        return {
            "chat": whatsmeow.jid_text(chat_jid),
            "sender": whatsmeow.jid_text(sender_jid),
            "id": _text(message_id),
            "reaction": _text(reaction),
        }

    def _send_presence(self, uuid, presence) -> int:
        return go_string(self.world.send_presence(_text(presence)))

    def _send_chat_presence(self, uuid, jid_ptr, jid_size, state, media) -> int:
        chat = N.JID.FromString(_read(jid_ptr, jid_size))
        return go_string(self.world.send_chat_presence(chat, state, media))

    def _subscribe_presence(self, uuid, jid_ptr, jid_size) -> int:
        return go_string(self.world.subscribe_presence(N.JID.FromString(_read(jid_ptr, jid_size))))

    def _set_disappearing_timer(self, uuid, jid_ptr, jid_size, timer, setting_ts) -> int:
        chat = N.JID.FromString(_read(jid_ptr, jid_size))
        return go_string(self.world.set_disappearing_timer(chat, timer, setting_ts))

    def _reject_call(self, uuid, jid_ptr, jid_size, call_id) -> int:
        caller = N.JID.FromString(_read(jid_ptr, jid_size))
        return go_string(self.world.reject_call(caller, _text(call_id)))

    def _leave_group(self, uuid, jid_ptr, jid_size) -> int:
        return go_string(self.world.leave_group(N.JID.FromString(_read(jid_ptr, jid_size))))

    def _set_group_name(self, uuid, jid_ptr, jid_size, name) -> int:
        target = N.JID.FromString(_read(jid_ptr, jid_size))
        return go_string(self.world.set_group_name(target, ctypes.string_at(name).decode()))

    def _set_group_topic(self, uuid, jid_ptr, jid_size, previous_id, new_id, topic) -> int:
        target = N.JID.FromString(_read(jid_ptr, jid_size))
        texts = (ctypes.string_at(p).decode() for p in (previous_id, new_id, topic))
        return go_string(self.world.set_group_topic(target, *texts))

    def _set_group_locked(self, uuid, jid_ptr, jid_size, locked) -> int:
        return go_string(self.world.set_group_locked(N.JID.FromString(_read(jid_ptr, jid_size)), bool(locked)))

    def _set_group_announce(self, uuid, jid_ptr, jid_size, announce) -> int:
        return go_string(self.world.set_group_announce(N.JID.FromString(_read(jid_ptr, jid_size)), bool(announce)))

    def _get_group_invite_link(self, uuid, jid_ptr, jid_size, reset) -> int:
        target = N.JID.FromString(_read(jid_ptr, jid_size))
        return go_bytes(self.world.get_group_invite_link(target, bool(reset)))

    def _get_group_request_participants(self, uuid, jid_ptr, jid_size) -> int:
        target = N.JID.FromString(_read(jid_ptr, jid_size))
        return go_bytes(self.world.get_group_request_participants(target))

    def _create_group(self, uuid, request_ptr, request_size) -> int:
        return go_bytes(self.world.create_group(N.ReqCreateGroup.FromString(_read(request_ptr, request_size))))

    def _update_group_participants(self, uuid, jid_ptr, jid_size, jids_ptr, jids_size, action) -> int:
        target = N.JID.FromString(_read(jid_ptr, jid_size))
        people = N.JIDArray.FromString(_read(jids_ptr, jids_size))
        return go_bytes(self.world.update_group_participants(target, list(people.JIDS), _text(action)))

    def _join_group_with_link(self, uuid, code) -> int:
        return go_bytes(self.world.join_group_with_link(_text(code)))

    def _get_group_info_from_link(self, uuid, code) -> int:
        return go_bytes(self.world.get_group_info_from_link(_text(code)))

    def _set_group_photo(self, uuid, jid_ptr, jid_size, data, size) -> int:
        target = N.JID.FromString(_read(jid_ptr, jid_size))
        return go_bytes(self.world.set_group_photo(target, _read(data, size)))

    # Inbound ------------------------------------------------------------------------------------
    def deliver(self, *events: tuple[int, Any], timeout: float = 10.0) -> None:
        """Hand whatsmeow events to the running connection; return once each was dispatched
        (handled by neonize's Event.execute and the handler) or made connect() return."""
        waits = []
        for code, event in events:
            done = threading.Event()
            self.world.inbound.put((code, event, done))
            waits.append(done)
        for done in waits:
            if not done.wait(timeout):
                raise TimeoutError("an inbound event was not dispatched (is the backend connected?)")
