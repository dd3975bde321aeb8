"""Endpoints: what a delivery job names (an id), what a worker makes of it (its own configured
URL, credentials as basic auth), and what operators see (no credentials, no query)."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest

from wagw import keys
from wagw.config import AccountOverrides, Settings
from wagw.webhooks.endpoints import Endpoint, account_endpoints, configured_endpoints, redact, resolve, shown_reference
from wagw.webhooks.signing import seal
from workers.webhooks.delivery import DeliveryContext, RefusedDelivery, delivered_key

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


def test_each_account_has_its_own_endpoints_and_ids(settings):
    several = settings.model_copy(
        update={
            "accounts": ["default", "sales"],
            "account": {"sales": AccountOverrides(webhook_urls=[PLAIN], webhook_secret="t" * 16)},
        }
    )
    default = account_endpoints(several, "default")
    sales = account_endpoints(several, "sales")
    assert [e.account for e in sales.values()] == ["sales"] and sales.keys().isdisjoint(default)
    assert next(iter(sales.values())).secret == b"t" * 16 and next(iter(default.values())).secret == b"s" * 16
    assert set(configured_endpoints(several)) == set(default) | set(sales)


def test_a_worker_delivers_for_an_account_added_on_another_host_only_with_the_seal(settings, tmp_path):
    """`wagw accounts add` on another host sharing the Redis: this host does not know the
    account, whose endpoints are the global URLs under the global secret. The body names the
    account; only the seal, made with that secret, lets the job through."""
    context = DeliveryContext(settings.model_copy(update={"data_dir": tmp_path}))
    [elsewhere, _] = account_endpoints(settings, "added-elsewhere").values()
    body = json.dumps({"event": "message", "account": "added-elsewhere", "id": "e1"})
    args = (elsewhere.id, "e1", body, seal(elsewhere.seal_key, elsewhere.id, "e1", body))
    endpoint = context.admit(args).endpoint
    assert endpoint.account == "added-elsewhere" and endpoint.url == elsewhere.url
    with pytest.raises(RefusedDelivery, match="does not match"):
        context.admit((elsewhere.id, "e1", body, "0" * 64))  # no secret, no seal
    other = body.replace("added-elsewhere", "someone-else")
    with pytest.raises(RefusedDelivery, match="unknown endpoint"):  # the id is for another account
        context.admit((elsewhere.id, "e1", other, seal(elsewhere.seal_key, elsewhere.id, "e1", other)))
    context.close()
