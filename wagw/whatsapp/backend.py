"""The interface both backends implement, used by the session and by native hosts."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from wagw.errors import BackendError as BackendError
from wagw.errors import ConnectFailure as ConnectFailure
from wagw.errors import LoggedOut as LoggedOut
from wagw.errors import MissingSystemLibrary as MissingSystemLibrary
from wagw.errors import NotPaired as NotPaired
from wagw.errors import ReachOutLimited as ReachOutLimited
from wagw.errors import StreamReplaced as StreamReplaced
from wagw.errors import TemporaryBan as TemporaryBan
from wagw.events import InboundEvent

EventHandler = Callable[[InboundEvent], None]
Acknowledge = Callable[[], None]


@runtime_checkable
class Submitting(Protocol):
    """A handler that may return before its event is handled (the session's feed): it calls
    `acknowledge` once the event is stored, from any thread. A backend that acknowledges only
    handled events (the fake) hands them over through `submit` when the handler has it."""

    def submit(self, event: InboundEvent, acknowledge: Acknowledge | None = None) -> None: ...


class Backend(ABC):
    """One linked device. One instance per process (neonize is not safe with several)."""

    role: str

    # Connection -----------------------------------------------------------------------
    @abstractmethod
    def start(self, on_event: EventHandler | None = None) -> None:
        """Connect and return once connected; raise a BackendError subclass on failure.

        Events arrive on a backend thread, serially; the handler must return quickly. An
        event counts as handled (acknowledged) only when the handler returns, or, through a
        Submitting handler's `submit`, when it calls `acknowledge`.
        """

    @abstractmethod
    def wait(self) -> None:
        """Block until the connection ends; raise the BackendError that ended it."""

    @abstractmethod
    def stop(self) -> None:
        """Disconnect. May be called from a signal-driven shutdown path."""

    @abstractmethod
    def is_connected(self) -> bool: ...

    @abstractmethod
    def device_jid(self) -> str | None:
        """The paired device's JID, or None when the store holds no keys."""

    @abstractmethod
    def pn_for_lid(self, lid: str) -> str | None:
        """The phone-number JID (`…@s.whatsapp.net`, no device part) of a LID (`…@lid`) as
        this device's own store knows the pair, or None when it does not (or cannot say).
        Local and fast, never a network call and never raises: the session asks it for the
        LIDs of every event before storing it (wagw.events.lids)."""

    # Outbound calls (SPEC's workers.wa jobs). Arguments arrive validated and normalised.
    @abstractmethod
    def fetch_avatar(self, jid: str, preview: bool = False, is_community: bool = False) -> dict: ...

    @abstractmethod
    def send_text(
        self,
        to: str,
        text: str,
        reply_to: str | None = None,
        reply_to_sender: str | None = None,
        mentions: list[str] | None = None,
        reply_to_text: str | None = None,
    ) -> dict: ...

    @abstractmethod
    def send_image(
        self, to: str, image: bytes, mimetype: str, caption: str | None = None, view_once: bool = False
    ) -> dict: ...

    @abstractmethod
    def send_location(
        self, to: str, latitude: float, longitude: float, name: str | None = None, address: str | None = None
    ) -> dict: ...

    @abstractmethod
    def send_contact(self, to: str, name: str, phone: str) -> dict: ...

    @abstractmethod
    def send_link(self, to: str, url: str, caption: str | None = None) -> dict: ...

    @abstractmethod
    def send_poll(self, to: str, question: str, options: list[str], max_answers: int = 1) -> dict: ...

    @abstractmethod
    def send_file(
        self,
        to: str,
        file: bytes,
        filename: str | None = None,
        caption: str | None = None,
        mimetype: str = "application/octet-stream",
    ) -> dict: ...

    @abstractmethod
    def send_sticker(self, to: str, sticker: bytes, mimetype: str) -> dict: ...

    @abstractmethod
    def send_video(
        self, to: str, video: bytes, mimetype: str, caption: str | None = None, view_once: bool = False
    ) -> dict: ...

    @abstractmethod
    def send_audio(self, to: str, audio: bytes, mimetype: str, ptt: bool = False) -> dict: ...

    @abstractmethod
    def user_info(self, jids: list[str]) -> dict: ...

    @abstractmethod
    def is_on_whatsapp(self, phones: list[str]) -> dict: ...

    @abstractmethod
    def group_info(self, jid: str) -> dict: ...

    @abstractmethod
    def joined_groups(self) -> dict: ...

    @abstractmethod
    def mark_read(self, chat: str, ids: list[str], sender: str | None = None) -> dict: ...

    @abstractmethod
    def my_privacy(self) -> dict: ...

    @abstractmethod
    def contacts(self) -> dict: ...

    @abstractmethod
    def react(self, chat: str, message_id: str, emoji: str, sender: str | None = None) -> dict: ...

    @abstractmethod
    def revoke(self, chat: str, message_id: str, sender: str | None = None) -> dict: ...

    @abstractmethod
    def edit_message(self, chat: str, message_id: str, text: str) -> dict: ...

    @abstractmethod
    def send_presence(self, presence: str) -> dict: ...

    @abstractmethod
    def send_chat_presence(self, chat: str, state: str) -> dict: ...

    @abstractmethod
    def subscribe_presence(self, jid: str) -> None:
        """Subscribe to a person's presence, as WhatsApp's own clients do on opening a chat;
        the send path's warm-up after WhatsApp's reach-out limit (wagw.reachout). whatsmeow
        first makes sure it holds the chat's privacy token, asking WhatsApp for one when not."""

    @abstractmethod
    def set_disappearing(self, chat: str, seconds: int) -> dict: ...

    @abstractmethod
    def reject_call(self, call_id: str, caller: str) -> dict: ...

    @abstractmethod
    def leave_group(self, jid: str) -> dict: ...

    @abstractmethod
    def set_group_name(self, jid: str, name: str) -> dict: ...

    @abstractmethod
    def set_group_topic(self, jid: str, topic: str) -> dict: ...

    @abstractmethod
    def set_group_locked(self, jid: str, locked: bool) -> dict: ...

    @abstractmethod
    def set_group_announce(self, jid: str, announce: bool) -> dict: ...

    @abstractmethod
    def group_invite_link(self, jid: str, reset: bool = False) -> dict: ...

    @abstractmethod
    def group_requests(self, jid: str) -> dict: ...

    @abstractmethod
    def create_group(self, name: str, participants: list[str]) -> dict: ...

    @abstractmethod
    def group_participants(self, jid: str, action: str, participants: list[str]) -> dict: ...

    @abstractmethod
    def join_group(self, link: str) -> dict: ...

    @abstractmethod
    def group_info_from_link(self, link: str) -> dict: ...

    @abstractmethod
    def set_group_photo(self, jid: str, image: bytes, mimetype: str) -> dict: ...

    @abstractmethod
    def download_media(self, media: dict) -> dict:
        """The decrypted, verified bytes of the media `media` (DownloadMedia fields) describes:
        {"mimetype", "data_b64"} (bytes cross the host pipe as base64)."""
