"""Which addresses a media URL may be fetched from (workers/wa/fetch.py's is_public): IPv6
forms that carry an IPv4 address to a translator or tunnel are judged by that IPv4 address
too, so none of them is a way to the host's own network."""

from __future__ import annotations

import ipaddress

import pytest

from workers.wa.fetch import is_public


def _teredo(server: str, client: str) -> str:
    """2001:0::/32, the server's IPv4 address, flags, port and the client's address inverted."""
    value = (0x2001_0000 << 96) | (int(ipaddress.IPv4Address(server)) << 64) | (0xFFFF << 32)
    value |= int(ipaddress.IPv4Address(client)) ^ 0xFFFF_FFFF
    return str(ipaddress.IPv6Address(value))


@pytest.mark.parametrize(
    "address",
    [
        "::127.0.0.1",  # IPv4-compatible (deprecated, still routed to the IPv4 address by some stacks)
        "::10.0.0.1",
        "::169.254.169.254",
        "::ffff:127.0.0.1",  # IPv4-mapped
        "::ffff:0:127.0.0.1",  # SIIT, IPv4-translated
        "::ffff:0:192.168.1.1",
        "64:ff9b::127.0.0.1",  # NAT64, the well-known prefix
        "64:ff9b::a9fe:a9fe",  # … of the metadata endpoint 169.254.169.254
        "64:ff9b::10.0.0.1",
        "64:ff9b:1::7f00:1",  # NAT64, the local-use prefix: the operator's own translator
        "64:ff9b:1::808:808",
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "2002:a9fe:a9fe::1",
        "2002:c0a8:101::1",
        _teredo("127.0.0.1", "8.8.8.8"),  # Teredo: server and client addresses
        _teredo("8.8.8.8", "127.0.0.1"),
        _teredo("8.8.8.8", "10.0.0.1"),
        "fec0::1",  # site-local (deprecated, never global)
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
    ],
)
def test_an_embedded_non_public_address_makes_the_address_not_public(address):
    assert not is_public(address)


@pytest.mark.parametrize(
    "address",
    ["8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::8.8.8.8", "64:ff9b::1.1.1.1"],
)
def test_public_addresses_and_nat64_of_public_ones_stay_public(address):
    """An IPv6-only host reaches IPv4 sites through NAT64 (DNS64 answers 64:ff9b::a.b.c.d)."""
    assert is_public(address)
