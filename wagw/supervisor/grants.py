"""Which secrets each child of `wagw run` is given: one table (docs/security.md).

A child's environment is the supervisor's, with the env file merged in
(wagw.config.env_file_variables), minus every secret setting and every per-account override;
then the supervisor writes out, from its own Settings, the overrides that hold no secret and
the secrets the child's row grants. The child reads no env file itself
(wagw.config.SETTINGS_FROM_PARENT), so what is not written here it never has. Per-account
overrides are written out too, not passed along, so a secret cannot ride in under another
spelling (`WAGW_ACCOUNT='{"sales": {"webhook_secret": …}}'`).

The embedded redis-server is in no row: it gets none of the supervisor's environment
(wagw.supervisor.embedded_redis.environment).
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from pydantic import SecretStr

if TYPE_CHECKING:
    from collections.abc import Mapping

    from wagw.config import Settings


class Secret(StrEnum):
    WEBHOOKS = "every account's webhook URLs and secrets"
    OWN_WEBHOOKS = "its own account's webhook URLs and secret"
    DASHBOARD_PASSWORD = "the dashboard password"
    DEVICE_DB = "the device store URL (WAGW_DEVICE_DB)"
    HISTORY_URL = "the history store URL (WAGW_HISTORY_URL)"
    API_LOGINS = "the HTTP API's basic-auth logins (WAGW_API_BASIC_AUTH)"


# Keyed by the `wagw` command the child runs. A process that runs jobs apps enqueue, or
# serves HTTP, never holds a key that signs or seals webhooks.
GRANTS: dict[str, frozenset[Secret]] = {
    "scheduler": frozenset(),
    "webhook-worker": frozenset({Secret.WEBHOOKS}),  # signs every account's deliveries
    "wa-worker": frozenset({Secret.DEVICE_DB}),  # its native host opens the device store
    "session": frozenset({Secret.OWN_WEBHOOKS, Secret.DEVICE_DB}),  # seals its account's deliveries
    "dashboard": frozenset({Secret.DASHBOARD_PASSWORD}),
    "metrics": frozenset(),
    "history-writer": frozenset({Secret.HISTORY_URL}),  # the history store's URL may hold a password
    # checks logins; enqueues jobs, reads the history store (/chats); never holds device keys
    "api": frozenset({Secret.API_LOGINS, Secret.HISTORY_URL}),
    "pair": frozenset({Secret.DEVICE_DB}),  # `wagw pair --ask` on the supervisor's terminal
}

# Settings that hold a secret: global, and the fields of an account's overrides.
_SECRET_SETTINGS = frozenset(
    {"WAGW_WEBHOOK_SECRET", "WAGW_WEBHOOK_URLS", "WAGW_DASHBOARD_PASSWORD", "WAGW_DEVICE_DB", "WAGW_API_BASIC_AUTH"}
)
_SECRET_SETTINGS |= {"WAGW_HISTORY_URL"}
_WEBHOOK_FIELDS = frozenset({"webhook_urls", "webhook_secret"})
_ACCOUNT = "WAGW_ACCOUNT"


def written_out(variable: str) -> bool:
    """Whether a variable of the supervisor's environment reaches a child only as this module
    writes it: a secret setting, or any per-account override."""
    name = variable.upper()
    return name in _SECRET_SETTINGS or name == _ACCOUNT or name.startswith(f"{_ACCOUNT}__")


def without_secrets(environ: Mapping[str, str]) -> dict[str, str]:
    return {name: value for name, value in environ.items() if not written_out(name)}


def granted(settings: Settings, command: str, account: str | None = None) -> dict[str, str]:
    """The variables `written_out` keeps back, as the child running `wagw <command>` (for
    `account`) gets them: the overrides that hold no secret, and the secrets of its row."""
    grants = GRANTS[command]
    env: dict[str, str] = {}
    if Secret.WEBHOOKS in grants:
        _put(env, "WAGW_WEBHOOK_URLS", settings.webhook_urls)
        _put(env, "WAGW_WEBHOOK_SECRET", settings.webhook_secret)
    if Secret.DASHBOARD_PASSWORD in grants:
        _put(env, "WAGW_DASHBOARD_PASSWORD", settings.dashboard_password)
    if Secret.DEVICE_DB in grants:
        _put(env, "WAGW_DEVICE_DB", settings.device_db)
    if Secret.HISTORY_URL in grants:
        _put(env, "WAGW_HISTORY_URL", settings.history_url)
    if Secret.API_LOGINS in grants:
        _put(env, "WAGW_API_BASIC_AUTH", settings.api_basic_auth)
    for name, overrides in settings.account.items():
        for field, value in overrides:
            if field not in _WEBHOOK_FIELDS or Secret.WEBHOOKS in grants:
                _put(env, _account_variable(name, field), value)
    if Secret.OWN_WEBHOOKS in grants and account is not None and settings.webhook_urls_of(account):
        _put(env, _account_variable(account, "webhook_urls"), settings.webhook_urls_of(account))
        _put(env, _account_variable(account, "webhook_secret"), settings.webhook_secret_of(account))
    return env


def _account_variable(account: str, field: str) -> str:
    # Environment variable names cannot hold a hyphen: support-line is SUPPORT_LINE.
    return f"{_ACCOUNT}__{account.upper().replace('-', '_')}__{field.upper()}"


def _put(env: dict[str, str], variable: str, value: object) -> None:
    if value is None:
        return
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    env[variable] = ",".join(value) if isinstance(value, list) else str(value)
