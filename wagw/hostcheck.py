"""The Host names wagw's HTTP servers (the dashboard, the metrics exporter) answer to.

A web page can rebind its own DNS name to 127.0.0.1 and then read what a local server answers
to that name (DNS rebinding). So a request must name the server by an IP address, `localhost`
or a name the operator configured; any other Host gets 421 before the application sees it.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    WsgiApp = Callable[..., Iterable[bytes]]


def host_allowed(host_header: str, names: list[str]) -> bool:
    """An IP address, localhost, or one of the configured names (any port): never a name an
    attacker's page could rebind to this address."""
    host = host_header.rsplit(":", 1)[0] if not host_header.endswith("]") else host_header
    host = host.strip("[]").lower()
    if host == "localhost" or host in (name.lower() for name in names):
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def host_guard(app: WsgiApp, names: list[str], setting: str) -> WsgiApp:
    """`app` answering 421 to a Host header `host_allowed` refuses; the answer names the
    setting that lists more names."""
    allowed = list(names)
    body = f"Unknown Host: add it to {setting}\n".encode()

    def guarded(environ: dict, start_response: Callable) -> Iterable[bytes]:
        host = environ.get("HTTP_HOST")
        # No Host at all is an HTTP/1.0 client, never a browser: nothing to rebind.
        if host is not None and not host_allowed(host, allowed):
            start_response(
                "421 Misdirected Request",
                [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))],
            )
            return [body]
        return app(environ, start_response)

    return guarded
