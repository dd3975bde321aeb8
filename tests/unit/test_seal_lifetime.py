"""The seal's time and age limit (pure parts): a delivery job sealed now carries its time under
the MAC, a worker refuses it once it is older than a delivery is kept, and a seal from a wagw
before the time was sealed (v1) is accepted only for one lifetime after this host's upgrade."""

from __future__ import annotations

import hashlib
import hmac
import json
import random

import pytest

from wagw.config import Settings
from wagw.webhooks import enqueue, lifetime
from wagw.webhooks.endpoints import configured_endpoints
from wagw.webhooks.signing import Seal, open_seal, opened, seal, seal_key
from workers.webhooks import policy
from workers.webhooks.delivery import DeliveryContext, RefusedDelivery, attempt_number

KEY = seal_key(b"s" * 16)
NOW = 1_800_000_000
DAY = 86_400


def v1_seal(key: bytes, endpoint_id: str, event_id: str, body: str) -> str:
    """What a wagw before the sealed time wrote (its signing.seal, unchanged)."""
    head = f"{len(endpoint_id)}:{endpoint_id}{len(event_id)}:{event_id}"
    return hmac.new(key, head.encode() + body.encode(), hashlib.sha256).hexdigest()[:32]


@pytest.fixture
def settings(monkeypatch, tmp_path) -> Settings:
    for key in ("WAGW_WEBHOOK_URLS", "WAGW_WEBHOOK_SECRET", "WAGW_WEBHOOK_RETRY_SCHEDULE", "WAGW_WEBHOOK_FAILURE_TTL"):
        monkeypatch.delenv(key, raising=False)
    return Settings(_env_file=None, data_dir=tmp_path, webhook_urls="https://a.example/in", webhook_secret="s" * 16)


def test_the_seal_carries_its_time_under_the_mac():
    made = seal(KEY, "ep", "e1", "{}", now=NOW + 0.9)
    version, at, mac = made.split(".")
    assert (version, at, len(mac)) == ("v2", str(NOW), 32)
    assert open_seal(KEY, "ep", "e1", "{}", made) == Seal(2, NOW)
    for later in (NOW + 1, NOW + 30 * DAY):  # a copy cannot be made younger
        assert open_seal(KEY, "ep", "e1", "{}", f"v2.{later}.{mac}") is None
    assert open_seal(KEY, "ep", "e1", "{}x", made) is None
    assert open_seal(KEY, "ep", "e1", "{}", made.removeprefix("v2.")) is None
    # The same arguments sealed v1: still a match, without a time; a v1 mac is no v2 one.
    old = v1_seal(KEY, "ep", "e1", "{}")
    assert open_seal(KEY, "ep", "e1", "{}", old) == Seal(1, None)
    assert open_seal(KEY, "ep", "e1", "{}", f"v2.{NOW}.{old}") is None
    with_download = seal(KEY, "ep", "e1", "{}", "d-1", now=NOW)
    assert opened(KEY, ("ep", "e1", "{}", with_download, "d-1")) == Seal(2, NOW)
    assert opened(KEY, ("ep", "e1", "{}", with_download)) is None


def test_a_seal_lives_through_retries_the_failed_registry_and_a_replay(settings):
    window = lifetime.retry_window(settings)
    assert window >= sum(settings.retry_intervals) * 1.25
    span = lifetime.seal_lifetime(settings)
    assert span >= 2 * window + settings.webhook_failure_ttl
    expiry = lifetime.expires_at(settings, Seal(2, NOW), timed_since=0)
    assert expiry == NOW + span
    assert lifetime.refusal(Seal(2, NOW), expiry, now=expiry - 1) is None
    why = lifetime.refusal(Seal(2, NOW), expiry, now=NOW + 60 * DAY)
    assert why is not None and why.startswith("sealed 60 days ago")
    # Markers and counters last until the seal expires, and at least what is asked.
    assert lifetime.keep_seconds(expiry, 60, now=NOW) == span
    assert lifetime.keep_seconds(NOW + 10, 86_400, now=NOW) == 86_400


def test_the_upgrade_time_is_recorded_once_in_the_data_dir(tmp_path):
    assert lifetime.timed_seals_since(tmp_path, now=NOW) == NOW
    assert lifetime.timed_seals_since(tmp_path, now=NOW + DAY) == NOW  # the first record stays
    assert (tmp_path / lifetime.SINCE_FILE).read_text().strip() == str(NOW)
    assert [p.name for p in tmp_path.iterdir()] == [lifetime.SINCE_FILE]
    (tmp_path / lifetime.SINCE_FILE).write_text("garbage")
    assert lifetime.timed_seals_since(tmp_path) == 0.0  # unreadable: older seals refused, never unbounded


def admit_v1(settings: Settings, since: float | None, now: float):
    if since is not None:
        (settings.data_dir / lifetime.SINCE_FILE).write_text(f"{int(since)}\n")
    context = DeliveryContext(settings)
    try:
        [endpoint] = configured_endpoints(settings).values()
        body = json.dumps({"event": "message", "id": "e1"})
        return context.admit((endpoint.id, "e1", body, v1_seal(endpoint.seal_key, endpoint.id, "e1", body)), now=now)
    finally:
        context.close()


def test_a_v1_seal_is_accepted_for_one_lifetime_after_the_upgrade_then_refused(settings):
    span = lifetime.seal_lifetime(settings)
    admitted = admit_v1(settings, NOW, now=NOW + span - 60)  # queued before the upgrade, still in its window
    assert admitted.expires_at == NOW + span
    with pytest.raises(RefusedDelivery, match="older wagw that did not seal the time"):
        admit_v1(settings, NOW, now=NOW + span + 1)


def test_a_v1_seal_on_a_host_whose_upgrade_time_cannot_be_read_is_refused(settings):
    (settings.data_dir / lifetime.SINCE_FILE).write_text("not a time")
    with pytest.raises(RefusedDelivery, match="older wagw"):
        admit_v1(settings, None, now=NOW)


def test_the_attempt_number_follows_every_attempt_recorded_for_the_event():
    assert attempt_number(None) == 1
    assert attempt_number(None, b"3") == 4  # a copy of a job that failed three times
    assert attempt_number(None, b"junk") == 1


class Highest(random.Random):
    """Draws the top of every range: the longest wait the retry policy can choose."""

    def uniform(self, a: float, b: float) -> float:
        return b


def test_the_retry_jitter_is_one_fact_the_policy_and_the_retention_share(settings):
    assert policy.JITTER is lifetime.JITTER  # the policy draws within the figure wagw counts with
    steps = settings.retry_intervals
    longest = sum(policy.retry_delay(steps, attempt, rng=Highest()) for attempt in range(1, len(steps) + 1))
    assert longest <= lifetime.retry_window(settings) < longest + 1
    assert enqueue.download_keep(settings) == lifetime.retry_window(settings) + DAY
