"""Webhook endpoints as operators configure them, and as jobs, logs and the dashboard show them.

A delivery job names its endpoint by id, never by URL: the id is a short hash of the URL as
configured (the one the delivered markers always used), and each webhook worker looks it up
in its own WAGW_WEBHOOK_URLS. So whoever can write a job cannot choose where wagw POSTs, and
URL credentials and tokens stay in the configuration, out of Redis (docs/security.md).
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit, urlunsplit

from wagw.logs import escape_controls

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

    @classmethod
    def configured(cls, configured_url: str) -> Endpoint:
        """The endpoint for one entry of WAGW_WEBHOOK_URLS."""
        parts = urlsplit(configured_url)
        userinfo, _, host = parts.netloc.rpartition("@")
        credentials = None
        if userinfo:
            # Userinfo is percent-encoded in a URL; basic auth carries it decoded.
            user, _, password = userinfo.partition(":")
            credentials = (unquote(user), unquote(password))
        return cls(
            id=endpoint_id(configured_url),
            shown=redact(configured_url),
            url=urlunsplit((parts.scheme, host, parts.path, parts.query, "")),
            credentials=credentials,
        )

    def authorization(self) -> str | None:
        """The `Authorization` header for the URL's `user:password@`, if it had one."""
        if self.credentials is None:
            return None
        user, password = self.credentials
        return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def endpoint_id(configured_url: str) -> str:
    """The id of the endpoint configured as exactly this string (credentials and query
    included, as the delivered markers of earlier versions hashed it)."""
    return hashlib.sha256(configured_url.encode()).hexdigest()[:16]


def redact(url: str) -> str:
    """The URL without credentials, query or fragment: webhook URLs often carry a token."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))


def configured_endpoints(settings: Settings) -> dict[str, Endpoint]:
    """id -> Endpoint for WAGW_WEBHOOK_URLS, in their order. Built once per process (per set
    of URLs) and shared: callers only read it."""
    return _endpoints(tuple(settings.webhook_urls))


@lru_cache(maxsize=8)
def _endpoints(urls: tuple[str, ...]) -> dict[str, Endpoint]:
    return {e.id: e for e in map(Endpoint.configured, urls)}


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
