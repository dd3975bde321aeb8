"""A connection whose keepalive pings go unanswered, through neonize's real event callback:
whatsmeow (keepalive.go keepAliveLoop) sends KeepAliveTimeout, and after three minutes forces
a reconnect with Disconnect(), which emits no Disconnected. wagw must neither report the
account connected meanwhile nor wait for ever: the give-up window runs from the last
answered ping."""

from __future__ import annotations

import time


def timeout(seconds_since_success: float, errors: int = 1) -> dict:
    return {"kind": "keepalive_timeout", "errors": errors, "last_success": int(time.time() - seconds_since_success)}


def test_unanswered_pings_mean_not_connected_until_they_are_answered_again(session):
    assert session.call("deliver", specs=[timeout(25)], settle=0.2)["connected"] is False
    assert session.call("deliver", specs=[timeout(50, errors=2)], settle=0.2)["connected"] is False
    assert session.call("deliver", specs=[{"kind": "keepalive_restored"}], settle=0.2)["connected"] is True


def test_the_forced_reconnect_ends_with_connected(session):
    assert session.call("deliver", specs=[timeout(185, errors=7)], settle=0.2)["connected"] is False
    # whatsmeow's Disconnect() + autoReconnect: no Disconnected, then Connected.
    assert session.call("deliver", specs=[{"kind": "connected"}], settle=0.2)["connected"] is True


def test_the_give_up_window_starts_at_the_last_answered_ping(session):
    session.call("deliver", specs=[timeout(120, errors=5)], settle=0.2)
    ended = session.call("wait_end", timeout=5)
    assert ended.get("error") == "ConnectFailure", ended
    assert "disconnected for more than" in ended["message"]
