"""Replayed deliveries (`wagw events replay`) are marked under the seal: whoever can write jobs
to Redis can neither turn a live delivery into a replay nor a replay into a live one, and a
replay is signed and sent like any delivery, only with `X-Wagw-Replay: 1`."""

from __future__ import annotations

import pytest

from wagw.webhooks.signing import REPLAY_HEADER, delivery_headers, open_seal, seal, seal_key
from workers.webhooks.delivery import DeliveryContext, RefusedDelivery

KEY = seal_key(b"t0p-secret-for-the-replays")
ARGS = ("0123456789abcdef", "e1", '{"event":"message","id":"e1"}')


def test_a_replay_seal_opens_as_a_replay_and_a_live_one_does_not():
    replayed = open_seal(KEY, *ARGS, seal(KEY, *ARGS, replay=True))
    live = open_seal(KEY, *ARGS, seal(KEY, *ARGS))
    assert replayed is not None and replayed.replay and replayed.sealed_at is not None
    assert live is not None and not live.replay


@pytest.mark.parametrize(("made", "forged"), [("r2", "v2"), ("v2", "r2")])
def test_the_kind_of_a_seal_cannot_be_rewritten(made, forged):
    given = seal(KEY, *ARGS, replay=made == "r2")
    assert given.startswith(made + ".")
    assert open_seal(KEY, *ARGS, forged + given[2:]) is None


def test_only_a_replay_carries_the_replay_header():
    assert delivery_headers(b"s", b"{}", "e1", 1, replay=True)[REPLAY_HEADER] == "1"
    assert REPLAY_HEADER not in delivery_headers(b"s", b"{}", "e1", 1)


def test_the_worker_admits_a_replay_as_one_and_refuses_a_rewritten_kind(settings_env):
    from wagw.config import Settings

    settings_env.setenv("WAGW_WEBHOOK_URLS", "https://hooks.example/in")
    settings_env.setenv("WAGW_WEBHOOK_SECRET", "s" * 24)
    ctx = DeliveryContext(Settings(_env_file=None))
    [endpoint] = ctx.endpoints.values()
    args = (endpoint.id, "e1", ARGS[2])
    good = seal(endpoint.seal_key, *args, replay=True)
    assert ctx.admit([*args, good]).replay is True
    assert ctx.admit([*args, seal(endpoint.seal_key, *args)]).replay is False
    with pytest.raises(RefusedDelivery, match="does not match"):
        ctx.admit([*args, "v2" + good[2:]])
    ctx.close()
