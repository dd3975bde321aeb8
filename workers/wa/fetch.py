"""HTTP GET for media URLs named by jobs, to public addresses only.

An app that can enqueue must not be able to make wagw fetch from the host's own network
(loopback services, the cloud metadata endpoint, a private LAN). The check sits where the
socket is opened: the host name is resolved once, every address it resolves to is checked,
and the connection goes to the checked address. So it holds on every redirect hop and a DNS
answer that changes between two lookups (rebinding) cannot slip through. An IPv6 address is
judged with every IPv4 address it carries (NAT64, 6to4, Teredo, …): each must be public.
TLS still verifies the certificate against the host name.

Bodies come as they are: the request asks for `Accept-Encoding: identity` and any reply that
is encoded anyway (`Content-Encoding: gzip`, …, on any hop) is refused before a byte of it is
decoded, so a kilobyte that inflates to gigabytes (a compression bomb) is never inflated. A
redirect's body is never read. A body is read in the chunks the socket gives and the fetch
fails as soon as it passes the caller's cap: at most the cap plus one chunk is ever held.

A URL that does not parse (httpx's parser, then a host of DNS characters and a port in range),
the job's own or a redirect's, fails at once and is never retried. Errors say what kind of
failure it was, never which address or port was tried.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import time
from collections.abc import Iterable, Iterator

import httpcore
import httpx

MAX_REDIRECTS = 5
USER_AGENT = "wagw media fetch"


class BlockedAddress(httpx.ConnectError):
    """The URL's host is not a public address (and WAGW_FETCH_PRIVATE is off)."""


class UnusableURL(Exception):
    """The URL is not an http(s) URL with a host name or address wagw can look up."""


# A host as it goes to the resolver: letters, digits, '.', '-', '_' (after IDNA), or an IPv6
# literal httpx has checked; DNS labels of at most 63 characters.
_HOST = re.compile(rb"[A-Za-z0-9_-]{1,63}(\.[A-Za-z0-9_-]{1,63})*\.?|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*")


def checked_url(url: str | httpx.URL) -> httpx.URL:
    """`url` parsed, or UnusableURL: whatever the parser refuses (a malformed IPv4 or IPv6
    literal, control characters, a bad IDNA name, a bad port), no host, or a host no
    resolver would take."""
    try:
        parsed = httpx.URL(url)
        host, port = parsed.raw_host, parsed.port
        _ = parsed.host  # decodes an "xn--" name, as httpx does later (and may fail)
    except (httpx.InvalidURL, UnicodeError, ValueError, TypeError):
        raise UnusableURL("not a valid http(s) URL") from None
    in_range = port is None or 0 < port < 65536
    if parsed.scheme not in ("http", "https") or not _HOST.fullmatch(host) or not in_range:
        raise UnusableURL("not a valid http(s) URL")
    return parsed


class EncodedBody(httpx.DecodingError):
    """The reply's body is compressed or otherwise encoded (Content-Encoding not identity)."""


def _encoded(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    codings = [coding for name, value in headers if name.lower() == b"content-encoding" for coding in value.split(b",")]
    return any(coding.strip().lower() not in (b"", b"identity") for coding in codings)


# IPv6 prefixes whose last 32 bits are an IPv4 address a translator or tunnel connects to.
_LOW_32_IS_IPV4 = tuple(
    ipaddress.IPv6Network(prefix)
    for prefix in (
        "::/96",  # IPv4-compatible (deprecated; :: and ::1 included, whose IPv4 is not public either)
        "::ffff:0:0:0/96",  # SIIT, IPv4-translated
        "64:ff9b::/96",  # NAT64, the well-known prefix
    )
)
# NAT64's local-use prefix: the operator's own translator, with the IPv4 address wherever the
# length of its prefix puts it. Never a public address.
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")


def is_public(address: str) -> bool:
    """`address` and every IPv4 address it carries (IPv4-mapped, -compatible, SIIT, NAT64,
    6to4, Teredo) are global unicast."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv4Address):
        return _global_unicast(ip)
    if ip.ipv4_mapped is not None:  # the connection goes over IPv4: judge that address alone
        return _global_unicast(ip.ipv4_mapped)
    if ip in _NAT64_LOCAL or ip.is_site_local:
        return False
    return _global_unicast(ip) and all(_global_unicast(inner) for inner in _embedded_ipv4(ip))


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    found = []
    if any(ip in prefix for prefix in _LOW_32_IS_IPV4):
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF))
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)  # (server, client)
    return found


def _global_unicast(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return ip.is_global and not ip.is_multicast


class _PublicOnlyBackend(httpcore.SyncBackend):
    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[tuple] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as error:
            raise httpcore.ConnectError("the host name does not resolve") from error
        addresses = list(dict.fromkeys(str(answer[4][0]) for answer in answers))
        if not self.allow_private and not all(is_public(address) for address in addresses):
            raise BlockedAddress("the URL's host is not a public address")
        # Connect to the address just checked, not the name: a second lookup may answer otherwise.
        return super().connect_tcp(addresses[0], port, timeout, local_address, socket_options)


class _Body(httpx.SyncByteStream):
    def __init__(self, stream: Iterable[bytes]) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        yield from self._stream

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()


class _PublicOnlyTransport(httpx.BaseTransport):
    """httpx's transport contract over an httpcore pool whose sockets pass the check."""

    def __init__(self, allow_private: bool) -> None:
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=4,
            network_backend=_PublicOnlyBackend(allow_private),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.SyncByteStream)
        checked_url(request.url)  # a redirect's target passes the same parse as the job's URL
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        try:
            response = self._pool.handle_request(core_request)
        except httpcore.TimeoutException as error:
            raise httpx.TimeoutException(str(error), request=request) from error
        except BlockedAddress:
            raise
        except httpcore.ConnectError as error:
            raise httpx.ConnectError(str(error), request=request) from error
        except httpcore.NetworkError as error:
            raise httpx.NetworkError(str(error), request=request) from error
        except httpcore.ProtocolError as error:
            raise httpx.RemoteProtocolError(str(error), request=request) from error
        if _encoded(response.headers):
            response.close()
            raise EncodedBody("the server encoded the body (Content-Encoding), and wagw takes it only as is")
        assert isinstance(response.stream, Iterable)
        body: Iterable[bytes] = response.stream
        if 300 <= response.status < 400:
            response.close()  # httpx reads a redirect's body whole before following it: give it none
            body = ()
            location = httpx.Headers(response.headers).get("location")
            if location is not None:
                try:  # as httpx will, so that a Location it cannot parse fails here, not as a network error
                    checked_url(request.url.join(location))
                except (UnusableURL, httpx.InvalidURL, UnicodeError, ValueError):
                    raise UnusableURL("a redirect went to an invalid URL") from None
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_Body(body),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self._pool.close()


class FetchFailed(Exception):
    """The fetch did not give a usable body. `retryable`: worth trying again later."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.retryable = retryable


def fetch(url: str, *, max_bytes: int, timeout: float, allow_private: bool) -> bytes:
    """The body of GET `url`, at most `max_bytes`; FetchFailed with a reason otherwise."""
    deadline = time.monotonic() + timeout
    try:
        checked_url(url)
    except UnusableURL as error:
        raise FetchFailed(str(error), retryable=False) from None
    client = httpx.Client(
        transport=_PublicOnlyTransport(allow_private),
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        timeout=timeout,
        trust_env=False,
        headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"},
    )
    try:
        with client, client.stream("GET", url) as response:
            if response.status_code >= 400:
                retryable = response.status_code in (408, 429) or response.status_code >= 500
                raise FetchFailed(f"the server answered HTTP {response.status_code}", retryable=retryable)
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise FetchFailed(f"more than {max_bytes} bytes", retryable=False)
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_raw():  # the bytes as sent: nothing is decoded
                size += len(chunk)
                if size > max_bytes:
                    raise FetchFailed(f"more than {max_bytes} bytes", retryable=False)
                if time.monotonic() > deadline:
                    raise FetchFailed("timed out", retryable=True)
                chunks.append(chunk)
    except (BlockedAddress, EncodedBody) as error:
        raise FetchFailed(str(error), retryable=False) from None
    except UnusableURL:  # the job's URL passed checked_url above: a redirect's did not
        raise FetchFailed("a redirect went to an invalid URL", retryable=False) from None
    except httpx.InvalidURL:
        raise FetchFailed("not a valid http(s) URL", retryable=False) from None
    except httpx.TooManyRedirects:
        raise FetchFailed(f"more than {MAX_REDIRECTS} redirects", retryable=False) from None
    except httpx.TimeoutException:
        raise FetchFailed("timed out", retryable=True) from None
    except httpx.UnsupportedProtocol:
        raise FetchFailed("a redirect left http(s)", retryable=False) from None
    except httpx.HTTPError:
        raise FetchFailed("the connection failed", retryable=True) from None
    return b"".join(chunks)
