"""What of a URL wagw may print or log: every credential in it masked, the rest as written.

redis-py takes a password from `user:password@` or from the query string (`?password=`);
other URLs carry tokens the same two ways. Every message that shows a configured URL goes
through mask_url. (Webhook endpoint URLs are shown stricter still, without their query:
wagw.webhooks.endpoints.redact.)
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

MASK = "***"
# Query parameters that hold a credential: password=, sentinel_password=, token=, auth=, …
_CREDENTIAL_PARAMETER = re.compile(r"pass|pwd|secret|token|auth", re.IGNORECASE)


def mask_url(url: str) -> str:
    """`url` with the password of its `user:password@` and the value of every query
    parameter that names a credential replaced by ***."""
    try:
        parts = urlsplit(url)
    except ValueError:  # not even a URL urllib can split: show none of it
        return MASK
    lost = (parts.netloc and f"//{parts.netloc}" not in url) or (parts.query and f"?{parts.query}" not in url)
    if lost:  # urllib dropped characters (tabs, newlines): the parts cannot be found again
        return MASK
    shown = url
    userinfo, at, host = parts.netloc.rpartition("@")
    if at and ":" in userinfo:
        shown = shown.replace(f"//{parts.netloc}", f"//{userinfo.partition(':')[0]}:{MASK}@{host}", 1)
    if parts.query:
        query = "&".join(_masked_parameter(parameter) for parameter in parts.query.split("&"))
        shown = shown.replace(f"?{parts.query}", f"?{query}", 1)  # the first "?" starts the query
    return shown


def _masked_parameter(parameter: str) -> str:
    name, equals, _ = parameter.partition("=")
    return f"{name}={MASK}" if equals and _CREDENTIAL_PARAMETER.search(unquote(name)) else parameter
