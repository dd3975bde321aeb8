"""The one typed Settings object. Built at each entry point and passed down; never at import."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

from wagw.accounts import DEFAULT, Roster, check_name
from wagw.exitcodes import ExitCode
from wagw.redact import mask_url

# WhatsApp's cap on companion devices per phone; the session counts as one.
MAX_LINKED_DEVICES = 4
# Anyone who knows the webhook secret can forge events for its consumers.
MIN_WEBHOOK_SECRET_BYTES = 16
# The dashboard's password is guessed over HTTP (throttled, wagw.loginthrottle), never offline.
MIN_DASHBOARD_PASSWORD_CHARS = 12
# What any job's data may inflate to, whatever WAGW_MAX_JOB_BYTES says (Settings.job_data_cap):
# the largest call the operation table accepts (one MAX_IMAGE_ARG argument) fits, and a
# webhook delivery's sealed event is far smaller.
MIN_JOB_DATA_CAP = 24 * 1024 * 1024

# `wagw run` sets this in each child's environment, which it builds with the env file merged
# in and the secrets that child is not granted left out (wagw.supervisor.grants): the child
# builds its Settings from that environment alone and never reads the env file itself.
SETTINGS_FROM_PARENT = "WAGW_SETTINGS_FROM_PARENT"

CommaList = Annotated[list[str], NoDecode]


def _split_commas(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _check_urls(urls: list[str]) -> list[str]:
    for url in urls:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"{url!r} is not an http(s) URL")
    return urls


def _weak_secret(secret: SecretStr) -> str | None:
    """Why a webhook secret is too easy to guess, or None. Surrounding whitespace is padding,
    not key material, so it does not count toward the minimum."""
    value = secret.get_secret_value()
    if value and not value.strip():
        return "is blank (only whitespace); use a random one (e.g. `openssl rand -hex 32`)"
    if len(value.strip().encode()) < MIN_WEBHOOK_SECRET_BYTES:
        return f"must be at least {MIN_WEBHOOK_SECRET_BYTES} bytes (e.g. `openssl rand -hex 32`)"
    return None


def _check_addr(value: str, name: str) -> str:
    if not value:
        return value
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{name} must look like host:port, got {value!r}")
    return value


# WAGW_SEND_RATE and WAGW_FIRST_CONTACT_RATE when unset, per backend (docs/configuration.md has
# the reasoning): the fake reaches nobody, so it is not paced.
PACE_DEFAULTS: dict[str, tuple[float, float]] = {"neonize": (30.0, 4.0), "fake": (0.0, 0.0)}


class AccountOverrides(BaseModel):
    """What one account may set differently from the global settings (docs/configuration.md):
    `WAGW_ACCOUNT__<NAME>__WA_WORKERS`, `…__WEBHOOK_URLS`, `…__WEBHOOK_SECRET`, `…__SEND_RATE`,
    `…__FIRST_CONTACT_RATE`."""

    model_config = ConfigDict(extra="forbid")

    wa_workers: int | None = Field(None, ge=1)
    webhook_urls: CommaList | None = None
    webhook_secret: SecretStr | None = None
    send_rate: float | None = Field(None, ge=0, allow_inf_nan=False)
    first_contact_rate: float | None = Field(None, ge=0, allow_inf_nan=False)

    _split = field_validator("webhook_urls", mode="before")(classmethod(lambda cls, v: _split_commas(v)))

    @field_validator("webhook_urls")
    @classmethod
    def _urls(cls, urls: list[str] | None) -> list[str] | None:
        return _check_urls(urls) if urls is not None else None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="WAGW_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        # WAGW_ACCOUNT__SALES__WA_WORKERS=2 -> account["sales"].wa_workers
        env_nested_delimiter="__",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        if os.environ.get(SETTINGS_FROM_PARENT) == "1":
            return init_settings, env_settings, file_secret_settings
        return init_settings, env_settings, dotenv_settings, file_secret_settings

    data_dir: Path = Field(default_factory=lambda: default_data_dir()[0])
    redis_url: str | None = None
    # A group whose members may use the embedded Redis's socket (apps running as other users):
    # the socket moves to <data dir>/socket/, the one place that group reaches.
    redis_socket_group: str | None = None
    # The embedded Redis's memory ceiling; past it writes fail instead of evicting queued work.
    redis_max_memory_mb: int = Field(1024, ge=64)
    # The share of Redis's ceiling kept for inbound events: what apps made (failed and finished
    # wa jobs) may not eat into it; the scheduler removes it, oldest first, when it does.
    redis_reserve_percent: int = Field(10, ge=0, le=50)
    backend: Literal["neonize", "fake"] = "neonize"
    wa_workers: int = Field(1, ge=1)
    webhook_workers: int = Field(2, ge=0)
    webhook_urls: CommaList = []
    webhook_secret: SecretStr | None = None
    webhook_events: CommaList = []  # empty: all events
    # history.sync events (WhatsApp's history sync) go to the endpoints too; off: event log only.
    webhook_history_sync: bool = False
    # Chats whose events are not delivered (still in the event log): every group, or these.
    webhook_ignore_groups: bool = False
    webhook_ignore_chats: CommaList = []
    webhook_connect_timeout: float = Field(5.0, gt=0)
    webhook_timeout: float = Field(15.0, gt=0)
    # Seconds between delivery attempts; the last entry spans out to about a day in total.
    # Failed deliveries wait this long (seconds) for `wagw webhooks replay`, bodies included.
    webhook_failure_ttl: int = Field(14 * 86_400, ge=3600)
    # wa job results wait this long for the app that enqueued them; failed jobs (arguments
    # included) stay this long for operators.
    wa_result_ttl: int = Field(86_400, ge=60)
    wa_failure_ttl: int = Field(7 * 86_400, ge=3600)
    # Seconds an idempotency key stands for its first job (wagw.idempotency).
    idempotency_ttl: int = Field(86_400, ge=60)
    # A wa job whose arguments take more than this in Redis (as rq stores them) fails at once.
    # The largest legitimate one is an image as base64 (wagw.operations.args.MAX_IMAGE_ARG).
    max_job_bytes: int = Field(24 * 1024 * 1024, ge=1024)
    # What a wa job that ended (finished, or failed for good) may keep in Redis: beyond it,
    # its arguments are dropped, keeping its function, id, size and outcome.
    ended_job_max_bytes: int = Field(64 * 1024, ge=4096)
    webhook_retry_schedule: CommaList = [
        "5",
        "15",
        "60",
        "300",
        "900",
        "1800",
        "3600",
        "7200",
        "14400",
        "28800",
        "28800",
        "28800",
    ]
    log_level: Literal["TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    dashboard_addr: str = ""
    dashboard_user: str = ""
    dashboard_password: SecretStr | None = None
    # Failed logins are counted over this many seconds (wagw.loginthrottle).
    dashboard_login_window: float = Field(60.0, gt=0)
    # Host names (as browsers send them) the dashboard answers to, besides IP addresses and
    # localhost: the name of a reverse proxy in front of it.
    dashboard_hosts: CommaList = []
    metrics_addr: str = ""
    # Host names Prometheus scrapes the exporter by, besides IP addresses and localhost.
    metrics_hosts: CommaList = []
    # The HTTP API and MCP (wagw.api): where it listens (empty: not started by `wagw run`),
    # its basic-auth logins (`user:pass,user2:pass2`), how long a synchronous call waits for
    # its job before answering 202, the largest upload it takes, the Host names it answers
    # to besides IP addresses and localhost, and the window failed logins are counted over.
    api_addr: str = ""
    api_basic_auth: SecretStr | None = None
    api_wait: float = Field(30.0, ge=0, le=3600)
    api_upload_max_bytes: int = Field(100 * 1024 * 1024, ge=1024)
    api_hosts: CommaList = []
    api_login_window: float = Field(60.0, gt=0)
    # A postgres:// URL to keep device stores there instead of sqlite files in data_dir.
    device_db: SecretStr | None = None
    events_maxlen: int = Field(100_000, ge=100)
    dedup_ttl: int = Field(86_400, ge=60)
    shutdown_grace: float = Field(20.0, gt=0)
    # `wagw run` forks its children from a warmed, secret-less fork server that never loads neonize
    # (wagw.forkserver); off: every child is started cold.
    fork_server: bool = True
    # An operation is quarantined after `quarantine_crashes` native crashes within the window
    # that came from at least `quarantine_targets` distinct targets: crashes on one target
    # poison that target, not the operation (wagw.quarantine, docs/jobs.md).
    quarantine_crashes: int = Field(5, ge=1)
    quarantine_targets: int = Field(3, ge=1)
    quarantine_window: float = Field(300.0, gt=0)
    quarantine_duration: float = Field(600.0, gt=0)
    # A target (JID or phone number) on which one operation crashed hosts this many times
    # within the window fails fast for `poison_duration` seconds.
    poison_crashes: int = Field(2, ge=1)
    poison_duration: float = Field(3600.0, gt=0)
    # Days a crash record is kept for `wagw crashes` (wagw.crashes; at most 10,000 records).
    crash_days: float = Field(30.0, gt=0)
    wa_connect_wait: float = Field(15.0, gt=0)
    # Per-account pace, messages per minute, of every send / of first messages to a person the
    # account has exchanged none with (wagw.sendorder; 0 = no limit). Unset: PACE_DEFAULTS.
    send_rate: float | None = Field(None, ge=0, allow_inf_nan=False)
    first_contact_rate: float | None = Field(None, ge=0, allow_inf_nan=False)
    # Seconds an account's first-contact sends are held after WhatsApp's reach-out limit
    # (error 463) when WhatsApp gives no end, which whatsmeow's send answer never does (wagw.reachout).
    reachout_hold: float = Field(86_400.0, gt=0)
    # The only folder jobs may read local files from (and where downloaded media goes).
    media_dir: Path | None = None
    # Seconds a file download_media stored stays in the media folder; older ones are removed
    # by the wa-workers (docs/jobs.md "download_media").
    media_retention: int = Field(604_800, gt=0)
    # Download each inbound media message in a wa-worker (download_media) and deliver its
    # webhooks with the local path, as go-whatsapp-web-multidevice's auto-download does
    # (docs/webhooks.md "Media auto-download"). The session never downloads.
    media_auto_download: bool = False
    # Media URLs may point at loopback, private, link-local or metadata addresses.
    fetch_private: bool = False
    # The WhatsApp accounts (wagw.accounts); the first also serves queue "wa".
    accounts: CommaList = [DEFAULT]
    account: dict[str, AccountOverrides] = {}
    # `wagw run --accounts a,b`: the accounts this daemon runs (empty: all of them).
    run_accounts: CommaList = []
    # The history store (wagw.history): a PostgreSQL URL (may hold a password) instead of the
    # SQLite file in the data dir, and the days its rows are kept (0: forever).
    history_url: SecretStr | None = None
    history_days: float = Field(90.0, ge=0)

    _split = field_validator(
        "accounts",
        "run_accounts",
        "webhook_urls",
        "webhook_events",
        "webhook_ignore_chats",
        "webhook_retry_schedule",
        "dashboard_hosts",
        "metrics_hosts",
        "api_hosts",
        mode="before",
    )(classmethod(lambda cls, v: _split_commas(v)))

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("webhook_urls")
    @classmethod
    def _urls(cls, urls: list[str]) -> list[str]:
        return _check_urls(urls)

    @field_validator("accounts", "run_accounts")
    @classmethod
    def _account_names(cls, names: list[str]) -> list[str]:
        for name in names:
            check_name(name)
        if len(set(names)) != len(names):
            raise ValueError("an account is listed twice")
        return names

    @field_validator("account", mode="before")
    @classmethod
    def _account_keys(cls, value: object) -> object:
        # Environment variable names cannot hold a hyphen: SUPPORT_LINE means support-line.
        if isinstance(value, dict):
            return {str(key).lower().replace("_", "-"): item for key, item in value.items()}
        return value

    @field_validator("webhook_ignore_chats")
    @classmethod
    def _chats(cls, chats: list[str]) -> list[str]:
        from wagw.addresses import normalize_target

        try:
            return [normalize_target(chat) for chat in chats]
        except ValueError as error:
            raise ValueError(str(error)) from None

    @field_validator("webhook_retry_schedule")
    @classmethod
    def _schedule(cls, steps: list[str]) -> list[str]:
        for step in steps:
            try:
                ok = float(step) > 0
            except ValueError:
                ok = False
            if not ok:
                raise ValueError(f"{step!r} is not a positive number of seconds")
        return steps

    @field_validator("dashboard_password")
    @classmethod
    def _dashboard_password(cls, password: SecretStr | None) -> SecretStr | None:
        if password is not None and 0 < len(password.get_secret_value()) < MIN_DASHBOARD_PASSWORD_CHARS:
            raise ValueError(
                f"must be at least {MIN_DASHBOARD_PASSWORD_CHARS} characters (e.g. `openssl rand -base64 18`)"
            )
        return password

    @field_validator("dashboard_addr", "metrics_addr", "api_addr")
    @classmethod
    def _addr(cls, value: str, info) -> str:
        return _check_addr(value, "WAGW_" + info.field_name.upper())

    @field_validator("api_basic_auth")
    @classmethod
    def _api_logins(cls, logins: SecretStr | None) -> SecretStr | None:
        if logins is not None:
            for pair in logins.get_secret_value().split(","):
                user, sep, password = pair.strip().partition(":")
                if pair.strip() and (not sep or not user or not password):
                    raise ValueError("must be user:password pairs separated by commas (a password may hold ':')")
        return logins

    @property
    def api_logins(self) -> list[tuple[str, str]]:
        """WAGW_API_BASIC_AUTH as (user, password) pairs."""
        value = self.api_basic_auth.get_secret_value() if self.api_basic_auth else ""
        pairs = [pair.strip().partition(":") for pair in value.split(",") if pair.strip()]
        return [(user, password) for user, _, password in pairs]

    @field_validator("history_url")
    @classmethod
    def _history_url(cls, url: SecretStr | None) -> SecretStr | None:
        schemes = ("postgres://", "postgresql://", "postgresql+psycopg://", "sqlite:///")
        if url is not None and not url.get_secret_value().startswith(schemes):
            raise ValueError("must be a PostgreSQL URL (postgresql://user:password@host/database)")
        return url

    @model_validator(mode="after")
    def _cross_checks(self) -> Settings:
        if self.webhook_urls:
            if self.webhook_secret is None:
                raise ValueError("webhook_secret: required when WAGW_WEBHOOK_URLS is set")
            if (problem := _weak_secret(self.webhook_secret)) is not None:
                raise ValueError(f"webhook_secret: {problem}")
        if not self.accounts:
            raise ValueError("accounts: name at least one account")
        # No file is read here: that overrides name an account of the roster (WAGW_ACCOUNTS
        # and `wagw accounts add`) is checked by try_settings (wagw.accounts.Roster.check).
        for name, overrides in self.account.items():
            if overrides.webhook_urls and self.webhook_secret_of(name) is None:
                raise ValueError(f"account__{name}__webhook_secret: required when its webhook URLs are set")
        # An account added later without overrides takes the global values checked here.
        for name in dict.fromkeys([*self.accounts, *self.account]):
            self._check_account(name)
        return self

    def _check_account(self, name: str) -> None:
        secret = self.webhook_secret_of(name)
        key = (
            "webhook_secret"
            if name not in self.account or self.account[name].webhook_secret is None
            else (f"account__{name}__webhook_secret")
        )
        if secret is not None and (problem := _weak_secret(secret)) is not None:
            raise ValueError(f"{key}: {problem}")
        workers = self.wa_workers_of(name)
        if 1 + workers > MAX_LINKED_DEVICES:
            key = (
                "wa_workers"
                if name not in self.account or self.account[name].wa_workers is None
                else (f"account__{name}__wa_workers")
            )
            raise ValueError(
                f"{key}: account {name!r}: the session plus {workers} worker slots need "
                f"{1 + workers} linked devices; WhatsApp allows {MAX_LINKED_DEVICES} per phone"
            )

    # Per-account values, falling back to the global ones -----------------------------------
    # A field of AccountOverrides is the global setting of the same name, for one account.
    def of_account(self, account: str, field: str) -> Any:
        overrides = self.account.get(account)
        value = getattr(overrides, field) if overrides is not None else None
        return value if value is not None else getattr(self, field)

    def wa_workers_of(self, account: str) -> int:
        return self.of_account(account, "wa_workers")

    def pace_of(self, account: str) -> tuple[float, float]:
        """(send rate, first-contact rate) of `account`, messages per minute, 0 = no limit."""
        defaults = PACE_DEFAULTS[self.backend]
        send, first = self.of_account(account, "send_rate"), self.of_account(account, "first_contact_rate")
        return (defaults[0] if send is None else send, defaults[1] if first is None else first)

    def webhook_urls_of(self, account: str) -> list[str]:
        return self.of_account(account, "webhook_urls")

    def webhook_secret_of(self, account: str) -> SecretStr | None:
        return self.of_account(account, "webhook_secret")

    @property
    def job_data_cap(self) -> int:
        """What a job's data (its call as JSON, once rq's zlib compression is undone) may take
        before anything decodes it: WAGW_MAX_JOB_BYTES, at least MIN_JOB_DATA_CAP."""
        return max(self.max_job_bytes, MIN_JOB_DATA_CAP)

    @property
    def retry_intervals(self) -> list[float]:
        return [float(step) for step in self.webhook_retry_schedule]

    @property
    def webhook_secret_bytes(self) -> bytes:
        return self.webhook_secret.get_secret_value().encode() if self.webhook_secret else b""

    @property
    def media_path(self) -> Path:
        return self.media_dir if self.media_dir is not None else self.data_dir / "media"

    @property
    def embedded_redis(self) -> bool:
        return not self.redis_url

    @property
    def redis_socket(self) -> Path:
        """As wagw.supervisor.embedded_redis.EmbeddedRedis places it."""
        folder = "socket" if self.redis_socket_group else "redis"
        return self.data_dir.resolve() / folder / "redis.sock"

    @property
    def effective_redis_url(self) -> str:
        return self.redis_url or f"unix://{self.redis_socket}"

    @property
    def redis_url_shown(self) -> str:
        """The Redis URL for messages: its password masked, in user:password@ or the query."""
        return mask_url(self.effective_redis_url)

    def redis_warnings(self) -> list[str]:
        """What an operator should know about the Redis in use (docs/security.md)."""
        parts = urlsplit(self.effective_redis_url)
        if parts.scheme == "unix" or parts.hostname in ("localhost", "127.0.0.1", "::1"):
            return []
        warnings = []
        if parts.password is None and "password=" not in parts.query:
            warnings.append(
                f"Redis at {self.redis_url_shown} is remote and has no password: anyone who reaches "
                "it can enqueue jobs and read events (set a password or an ACL user)"
            )
        if parts.scheme != "rediss":
            warnings.append(
                f"Redis at {self.redis_url_shown} is remote without TLS: jobs, events and the "
                "password cross the network in clear (use rediss://)"
            )
        return warnings

    def device_store(self, role: str) -> str:
        """Where a role's device keys live: one sqlite file per role, or the shared postgres URL."""
        if self.device_db is not None:
            return self.device_db.get_secret_value()
        return str(self.data_dir.resolve() / "devices" / f"{role}.sqlite3")


def project_folder() -> Path:
    """The folder this wagw belongs to: the source checkout it runs from (pyproject.toml next
    to the package: a clone, or an editable install), else the folder holding its virtualenv
    (/opt/wagw for /opt/wagw/venv), else the current folder. Never where a command happens to
    run, so every command and every app's client finds the same data dir."""
    package = Path(__file__).resolve().parent
    if (package.parent / "pyproject.toml").is_file():
        return package.parent
    if sys.prefix != sys.base_prefix:
        return Path(sys.prefix).resolve().parent
    return Path.cwd()


def systemd_state_dir() -> Path | None:
    """wagw's StateDirectory from $STATE_DIRECTORY (systemd makes it when the unit starts), if
    set; another unit's own state dir is not wagw's."""
    state = Path(os.environ.get("STATE_DIRECTORY", "").split(":")[0])
    return state if state.name == "wagw" and state.is_absolute() else None


def default_data_dir() -> tuple[Path, str]:
    """The data dir when WAGW_DATA_DIR is unset, and how it was found: the systemd unit's
    StateDirectory=wagw ($STATE_DIRECTORY), else
    `var` in the project folder."""
    state = systemd_state_dir()
    if state is not None:
        return state, "$STATE_DIRECTORY (the systemd unit's StateDirectory)"
    folder = project_folder()
    return folder / "var", f"the project folder {folder} (WAGW_DATA_DIR unset)"


def data_dir_origin(settings: Settings) -> str:
    return "WAGW_DATA_DIR" if "data_dir" in settings.model_fields_set else default_data_dir()[1]


def redis_origin(settings: Settings) -> str:
    """How these settings came to name their Redis: for a message saying it cannot be reached."""
    if not settings.embedded_redis:
        return "WAGW_REDIS_URL"
    where = settings.data_dir.resolve()
    return f"the embedded Redis's socket in the data dir {where}, from {data_dir_origin(settings)}"


def describe_error(error: ValidationError | ValueError) -> str:
    """One line naming the offending setting and what is wrong with it."""
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        loc = "__".join(str(part) for part in first["loc"] if not isinstance(part, int))
        message = first["msg"].removeprefix("Value error, ")
    else:  # raised as `<setting>: <problem>`, as the model validator's
        loc, message = "", str(error)
    if not loc and ":" in message:
        loc, _, message = message.partition(":")
    name = f"WAGW_{loc.upper()}" if loc else "settings"
    return f"invalid setting {name}: {message.strip()}"


def env_file_variables(environ: Mapping[str, str]) -> dict[str, str]:
    """The WAGW_ variables the env file sets and `environ` does not (names compare without
    case, as Settings reads them): what Settings takes from the file, for `wagw run` to hand
    its children in their environment instead."""
    from dotenv import dotenv_values  # what pydantic-settings reads the file with

    path = Path(str(Settings.model_config.get("env_file")))
    if not path.is_file():
        return {}
    given = {name.upper() for name in environ}
    found = dotenv_values(path, encoding=Settings.model_config.get("env_file_encoding"))
    return {
        name.upper(): value
        for name, value in found.items()
        if value is not None and name.upper().startswith("WAGW_") and name.upper() not in given
    }


def try_settings(**overrides: Any) -> tuple[Settings | None, str | None]:
    """Settings, or None and the one line describing what is invalid (`wagw doctor`); the
    accounts file is read once here to check the settings that name accounts against it."""
    if os.environ.get(SETTINGS_FROM_PARENT) == "1":
        # Not even read: pydantic-settings reads .env before settings_customise_sources drops
        # it, which would leave every secret in a child's memory.
        overrides.setdefault("_env_file", None)
    try:
        settings = Settings(**overrides)
    except ValidationError as error:
        return None, describe_error(error)
    try:
        roster = Roster.load(settings)
    except ValueError as error:  # `wagw accounts` writes the file; a hand edit may break it
        return None, describe_error(ValueError(f"accounts: {error}"))
    try:
        roster.check()
    except ValueError as error:
        return None, describe_error(error)
    return settings, None


def load_settings(**overrides: Any) -> Settings:
    """Build Settings or exit with ExitCode.CONFIG and one clear line on stderr."""
    settings, error = try_settings(**overrides)
    if settings is None:
        print(f"wagw: {error}", file=sys.stderr)
        raise SystemExit(ExitCode.CONFIG)
    return settings
