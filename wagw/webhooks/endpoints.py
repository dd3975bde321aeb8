"""Webhook endpoints as operators configure them, and as jobs, logs and the dashboard show them.

A delivery job names its endpoint by id, never by URL: the id is a short hash of the URL as
configured (for an account other than `default`, of the account and the URL), and each
webhook worker looks it up in its own configuration: WAGW_WEBHOOK_URLS, or an account's
WAGW_ACCOUNT__<NAME>__WEBHOOK_URLS. An endpoint belongs to one account and signs with that
account's secret. So whoever can write a job cannot choose where wagw POSTs, and
URL credentials and tokens stay in the configuration, out of Redis (docs/security.md).
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit, urlunsplit

from wagw.accounts import DEFAULT
from wagw.logs import escape_controls
from wagw.webhooks.signing import seal_key

if TYPE_CHECKING:
    from wagw.config import Settings

# How much of a reference that names no configured endpoint a message or `wagw status` shows.
SHOWN_REFERENCE_CHARS = 64


@dataclass(frozen=True)
class Endpoint:
    id: str
    shown: str  # for logs, job descriptions, the dashboard and `wagw status`
    # Where requests go: no userinfo, but the query (a token) stays. Kept out of repr, as the
    # credentials are, so an Endpoint in a traceback or a log line shows neither.
    url: str = field(repr=False)
    credentials: tuple[str, str] | None = field(default=None, repr=False)
    account: str = DEFAULT
    secret: bytes = field(default=b"", repr=False, compare=False)  # signs what goes there
    seal_key: bytes = field(default=b"", repr=False, compare=False)  # seals its delivery jobs

    @classmethod
    def configured(cls, configured_url: str, account: str = DEFAULT, secret: bytes = b"") -> Endpoint:
        """The endpoint for one entry of an account's webhook URLs."""
        parts = urlsplit(configured_url)
        userinfo, _, host = parts.netloc.rpartition("@")
        credentials = None
        if userinfo:
            # Userinfo is percent-encoded in a URL; basic auth carries it decoded.
            user, _, password = userinfo.partition(":")
            credentials = (unquote(user), unquote(password))
        return cls(
            id=endpoint_id(configured_url, account),
            shown=redact(configured_url),
            url=urlunsplit((parts.scheme, host, parts.path, parts.query, "")),
            credentials=credentials,
            account=account,
            secret=secret,
            seal_key=seal_key(secret),
        )

    def authorization(self) -> str | None:
        """The `Authorization` header for the URL's `user:password@`, if it had one."""
        if self.credentials is None:
            return None
        user, password = self.credentials
        return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def endpoint_id(configured_url: str, account: str = DEFAULT) -> str:
    """The id of the endpoint configured as exactly this string (credentials and query
    included, as the delivered markers of earlier versions hashed it) for one account: two
    accounts posting to one URL are two endpoints, each with its own secret and markers."""
    basis = configured_url if account == DEFAULT else f"{account}\n{configured_url}"
    return hashlib.sha256(basis.encode()).hexdigest()[:16]


def redact(url: str) -> str:
    """The URL without credentials, query or fragment: webhook URLs often carry a token."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))


def account_endpoints(settings: Settings, account: str) -> dict[str, Endpoint]:
    """id -> Endpoint for one account's webhook URLs, in their order. Built once per process
    (per account, URLs and secret) and shared: callers only read it."""
    secret = settings.webhook_secret_of(account)
    return _endpoints(account, tuple(settings.webhook_urls_of(account)), secret.get_secret_value() if secret else "")


def configured_endpoints(settings: Settings) -> dict[str, Endpoint]:
    """id -> Endpoint for every account's webhook URLs (built once per configuration)."""
    from wagw.accounts import Roster

    basis = []
    for account in Roster.load(settings).configured:
        secret = settings.webhook_secret_of(account.name)
        basis.append(
            (account.name, tuple(settings.webhook_urls_of(account.name)), secret.get_secret_value() if secret else "")
        )
    return _all_endpoints(tuple(basis))


@lru_cache(maxsize=8)
def _all_endpoints(basis: tuple[tuple[str, tuple[str, ...], str], ...]) -> dict[str, Endpoint]:
    found: dict[str, Endpoint] = {}
    for account, urls, secret in basis:
        found.update(_endpoints(account, urls, secret))
    return found


@lru_cache(maxsize=64)
def _endpoints(account: str, urls: tuple[str, ...], secret: str) -> dict[str, Endpoint]:
    return {e.id: e for e in (Endpoint.configured(url, account, secret.encode()) for url in urls)}


def resolve(settings: Settings, reference: str) -> Endpoint | None:
    """The configured endpoint a delivery job names by id, or None."""
    return configured_endpoints(settings).get(reference)


def shown_reference(settings: Settings, reference: object) -> str:
    """How to show a job's endpoint reference: the endpoint's redacted URL when configured;
    otherwise the id, or a URL redacted, cut short either way (a job's writer chose it)."""
    if not isinstance(reference, str):
        return "?"
    found = resolve(settings, reference)
    if found is not None:
        return found.shown
    if "://" in reference:
        try:
            reference = redact(reference)
        except ValueError:  # not even a URL urllib can split
            return "?"
    return escape_controls(reference[:SHOWN_REFERENCE_CHARS])
