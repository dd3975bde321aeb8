"""Accounts: the WhatsApp phone numbers one daemon serves, and how each is spelled.

An account owns a session device, its wa-worker slots (each its own linked device) and its
queue `wa.<name>`; the first configured account also serves the queue `wa`. Redis, the
scheduler, the webhook workers, the dashboard and the exporter are shared.

The account named `default` keeps the single-account layout exactly (device roles `session`
and `worker-N`, device stores in `<data dir>/devices/`, Redis keys): a data dir made before
accounts existed keeps working untouched. Any other account qualifies its roles as
`<name>/session`, `<name>/worker-N`, and its device stores live in `<data dir>/devices/<name>/`.
With several accounts, per-account process names carry the account the same way
(`sales/session`, `sales/wa-worker-1`, `sales/wa-worker-1/host`).

Accounts added or removed with `wagw accounts add|remove` while wagw runs are recorded in
`<data dir>/accounts.json` (wagw.supervisor.reconcile), on top of WAGW_ACCOUNTS; Roster is
the one place that puts the two together.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from wagw import keys, names

if TYPE_CHECKING:
    from wagw.config import Settings

DEFAULT = "default"
NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?")
OVERLAY_FILE = "accounts.json"


def check_name(name: str) -> str:
    if not NAME.fullmatch(name):
        raise ValueError(
            f"{name!r} is not an account name (lowercase letters, digits and inner hyphens, at most 32 characters)"
        )
    return name


@dataclass(frozen=True)
class Account:
    name: str
    primary: bool  # the first configured account: also serves queue "wa"
    several: bool  # more than one account is configured: process names carry the account
    wa_workers: int

    @property
    def legacy(self) -> bool:
        """Spelled as before accounts existed (roles, device stores, keys)."""
        return self.name == DEFAULT

    def _qualified(self, base: str) -> str:
        return base if self.legacy else f"{self.name}/{base}"

    # Device roles (persistent: Redis keys, device store paths, `wagw pair --role`) ---------
    @property
    def session_role(self) -> str:
        return self._qualified(names.SESSION)

    def worker_role(self, slot: int) -> str:
        return self._qualified(names.worker_role(slot))

    def roles(self) -> list[str]:
        return [self._qualified(role) for role in names.device_roles(self.wa_workers)]

    def role(self, base: str) -> str:
        """`session` or `worker-N` as this account spells it."""
        return self._qualified(base)

    # Process names (display: status, log tags, crash records) ------------------------------
    def process(self, base: str) -> str:
        return f"{self.name}/{base}" if self.several else base

    @property
    def session_process(self) -> str:
        return self.process(names.SESSION)

    def wa_worker_process(self, slot: int) -> str:
        return self.process(names.wa_worker_name(slot))

    def host_process(self, slot: int) -> str:
        return self.process(names.host_name(slot))

    # Queues -----------------------------------------------------------------------------------
    @property
    def queue(self) -> str:
        return queue_of(self.name)

    @property
    def queues(self) -> list[str]:
        """What this account's wa-workers take jobs from, its own queue first."""
        return [self.queue, keys.WA_QUEUE] if self.primary else [self.queue]

    def scoped(self, operation: str) -> str:
        """Per-account name of a quarantine scope: one account's crashes never fence another's."""
        return self._qualified(operation)


# The one account of an installation that never configured any.
SINGLE_ACCOUNT = Account(DEFAULT, primary=True, several=False, wa_workers=1)


def queue_of(account: str) -> str:
    return f"{keys.WA_QUEUE}.{account}"


def overlay_path(settings: Settings) -> Path:
    return settings.data_dir / OVERLAY_FILE


@dataclass(frozen=True)
class Overlay:
    """The accounts `wagw accounts add|remove` recorded in `<data dir>/accounts.json`."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    @classmethod
    def read(cls, path: Path) -> Overlay:
        """What the file holds; empty when there is none. ValueError naming the file if broken."""
        try:
            raw = json.loads(path.read_text())
        except FileNotFoundError:
            return cls()
        except ValueError as error:
            raise ValueError(f"{path} is not valid JSON ({error}): fix or remove it") from None
        if not isinstance(raw, dict):
            raise ValueError(f"{path} must hold a JSON object")
        fields = {}
        for field in ("added", "removed"):
            value = raw.get(field, [])
            if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
                raise ValueError(f"{path}: {field!r} must be a list of account names")
            fields[field] = tuple(check_name(name) for name in value)
        return cls(**fields)

    def as_json(self) -> dict[str, list[str]]:
        return {"added": list(self.added), "removed": list(self.removed)}


@dataclass(frozen=True)
class Roster:
    """Every account of this installation, built in this one place from Settings
    (WAGW_ACCOUNTS, the per-account overrides) and the overlay file. A process loads it
    once and passes it down; what follows `wagw accounts` live (the supervisor, the
    scheduler, the webhook workers) loads it again when the file changes."""

    settings: Settings
    overlay: Overlay = Overlay()

    @classmethod
    def load(cls, settings: Settings) -> Roster:
        return cls(settings, Overlay.read(overlay_path(settings)))

    @property
    def names(self) -> list[str]:
        """WAGW_ACCOUNTS with the accounts added and removed by `wagw accounts`, in order."""
        removed = set(self.overlay.removed)
        names_ = [name for name in self.settings.accounts if name not in removed]
        names_ += [name for name in self.overlay.added if name not in names_ and name not in removed]
        return names_

    @property
    def configured(self) -> list[Account]:
        """Every account (all hosts), the primary first."""
        settings = self.settings
        # Decided by WAGW_ACCOUNTS alone, so adding an account to a running daemon renames nothing.
        several = len(settings.accounts) > 1
        return [
            Account(
                name,
                primary=name == settings.accounts[0],
                several=several or name not in settings.accounts,
                wa_workers=settings.wa_workers_of(name),
            )
            for name in self.names
        ]

    @property
    def running(self) -> list[Account]:
        """The accounts this daemon runs: `wagw run --accounts` if given, else all of them."""
        if not self.settings.run_accounts:
            return self.configured
        wanted = set(self.settings.run_accounts) | set(self.overlay.added)
        return [account for account in self.configured if account.name in wanted]

    def find(self, name: str | None) -> Account:
        """The account `name`, or with None the only one; ValueError naming the choices."""
        accounts = self.configured
        if name is None:
            if len(accounts) == 1:
                return accounts[0]
            raise ValueError(
                f"several accounts are configured: say which with --account ({', '.join(a.name for a in accounts)})"
            )
        for account in accounts:
            if account.name == name:
                return account
        raise ValueError(f"no account {name!r} is configured (WAGW_ACCOUNTS: {', '.join(a.name for a in accounts)})")

    def of_role(self, role: str) -> Account | None:
        """The account a qualified device role belongs to."""
        name = name_of_role(role)
        return next((account for account in self.configured if account.name == name), None)

    @property
    def wa_queues(self) -> list[str]:
        """Every account's wa queue, `wa` first (it is served by the primary account)."""
        return [keys.WA_QUEUE, *(account.queue for account in self.configured)]

    @property
    def queue_accounts(self) -> dict[str, str]:
        """Which account each wa queue's jobs belong to (`wa`: the primary's)."""
        return {queue: account.name for account in self.configured for queue in account.queues}

    def check(self) -> None:
        """What Settings cannot check without the file: overrides and `wagw run --accounts`
        name known accounts. ValueError as `<setting>: <problem>`, as a validator's."""
        settings = self.settings
        known = set(settings.accounts) | set(self.overlay.added)
        for name in settings.account:
            if name not in known:
                raise ValueError(
                    f"account__{name}: no account {name!r} in WAGW_ACCOUNTS ({', '.join(settings.accounts)})"
                )
        for name in settings.run_accounts:
            if name not in known:
                raise ValueError(f"run_accounts: no account {name!r} in WAGW_ACCOUNTS ({', '.join(settings.accounts)})")


# Shorthands for a caller that needs one answer now, read from the file as it is.
def configured_names(settings: Settings) -> list[str]:
    return Roster.load(settings).names


def configured(settings: Settings) -> list[Account]:
    return Roster.load(settings).configured


def find(settings: Settings, name: str | None) -> Account:
    return Roster.load(settings).find(name)


def running(settings: Settings) -> list[Account]:
    return Roster.load(settings).running


def is_role(role: str) -> bool:
    """Whether `role` is a device role as an account spells it (`session`, `worker-N`, and
    `NAME/…` for an account other than the default one)."""
    prefix, sep, base = role.rpartition("/")
    if sep and (prefix == DEFAULT or not NAME.fullmatch(prefix)):
        return False
    return base == names.SESSION or names.slot_of_role(base) is not None


def name_of_role(role: str) -> str:
    """The name of the account a device role is spelled for ("sales/worker-1" -> "sales")."""
    prefix, sep, _base = role.rpartition("/")
    return prefix if sep else DEFAULT
