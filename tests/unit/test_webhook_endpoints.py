"""Endpoints: what a delivery job names (an id), what a worker makes of it (its own configured
URL, credentials as basic auth), and what operators see (no credentials, no query)."""

from __future__ import annotations

import base64
import hashlib

import pytest

from wagw import keys
from wagw.config import Settings
from wagw.webhooks.endpoints import Endpoint, configured_endpoints, redact, resolve, shown_reference
from workers.webhooks.delivery import delivered_key

WITH_CREDENTIALS = "https://hook%40user:p%3Ass@hooks.example:8443/in?token=abc#frag"
PLAIN = "http://[::1]:8080/hook"


@pytest.fixture
def settings() -> Settings:
    return Settings(_env_file=None, data_dir="/tmp", webhook_urls=[WITH_CREDENTIALS, PLAIN], webhook_secret="s" * 16)


def test_an_endpoint_splits_the_configured_url_into_address_credentials_and_what_is_shown():
    endpoint = Endpoint.configured(WITH_CREDENTIALS)
    assert endpoint.url == "https://hooks.example:8443/in?token=abc"  # the query is sent
    assert endpoint.credentials == ("hook@user", "p:ss")  # percent-decoded, as basic auth carries them
    assert endpoint.authorization() == "Basic " + base64.b64encode(b"hook@user:p:ss").decode()
    assert endpoint.shown == "https://hooks.example:8443/in"
    assert "abc" not in repr(endpoint) and "p:ss" not in repr(endpoint)
    plain = Endpoint.configured(PLAIN)
    assert (plain.url, plain.shown, plain.credentials, plain.authorization()) == (PLAIN, PLAIN, None, None)


def test_the_id_is_the_hash_delivered_markers_always_used():
    # Markers written before ids (sha256 of the URL as configured) still match.
    before = keys.WEBHOOK_DELIVERED.format(
        endpoint=hashlib.sha256(WITH_CREDENTIALS.encode()).hexdigest()[:16], event_id="e1"
    )
    assert delivered_key(Endpoint.configured(WITH_CREDENTIALS), "e1") == before


def test_configured_endpoints_are_built_once_in_order(settings):
    endpoints = configured_endpoints(settings)
    assert [e.shown for e in endpoints.values()] == ["https://hooks.example:8443/in", PLAIN]
    assert configured_endpoints(settings.model_copy()) is endpoints


def test_a_job_names_a_configured_endpoint_by_its_id_only(settings):
    endpoint = Endpoint.configured(WITH_CREDENTIALS)
    assert resolve(settings, endpoint.id) == endpoint
    for stranger in (
        WITH_CREDENTIALS,  # the URL itself, as jobs before ids named it
        "0123456789abcdef",
        endpoint.url,  # without its credentials: not what is configured
        endpoint.shown,
        "https://hook%40user:p%3Ass@hooks.example:8443/in?token=abc",
        "http://127.0.0.1:9/elsewhere",
        "",
    ):
        assert resolve(settings, stranger) is None, stranger


def test_what_operators_see_of_a_reference(settings):
    endpoint = Endpoint.configured(WITH_CREDENTIALS)
    assert shown_reference(settings, endpoint.id) == endpoint.shown
    assert shown_reference(settings, WITH_CREDENTIALS) == endpoint.shown
    assert shown_reference(settings, "https://u:pw@evil.example/x?t=1") == "https://evil.example/x"
    assert shown_reference(settings, "f" * 1000) == "f" * 64
    assert shown_reference(settings, "id\x1b[2J") == "id\\x1b[2J"
    assert shown_reference(settings, "http://[broken/") == "?"
    assert shown_reference(settings, None) == shown_reference(settings, 42) == "?"


def test_redact_keeps_the_host_as_written():
    assert redact("https://u:p@Hooks.Example:8443/a/b?q=1#f") == "https://Hooks.Example:8443/a/b"
    assert redact("http://[::1]:8080/x?token=1") == "http://[::1]:8080/x"
