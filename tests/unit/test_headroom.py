"""The room Redis keeps for inbound events: pure arithmetic of wagw.headroom."""

from __future__ import annotations

from wagw.headroom import Headroom

MIB = 2**20


def room(used: float, ceiling: float = 64, reserve: float = 6.4, event: int = 4096) -> Headroom:
    return Headroom(int(used * MIB), int(ceiling * MIB), int(reserve * MIB), event)


def test_headroom_is_what_is_left_below_the_ceiling_in_bytes_and_events():
    half = room(32)
    assert half.headroom_bytes == 32 * MIB and half.headroom_events == 32 * MIB // 4096
    assert not half.below_reserve and half.over_by == 0


def test_app_data_past_the_reserve_is_what_to_shed():
    short = room(60)  # 4 MiB left of a 6.4 MiB reserve
    assert short.below_reserve and short.over_by == int(6.4 * MIB) - 4 * MIB


def test_past_the_ceiling_there_is_no_room_at_all():
    over = room(66)
    assert over.headroom_bytes == 0 and over.headroom_events == 0 and over.below_reserve


def test_as_dict_carries_what_status_and_metrics_show():
    shown = room(10).as_dict()
    assert {"used_bytes", "max_bytes", "reserve_bytes", "event_bytes", "headroom_bytes", "headroom_events"} <= set(
        shown
    )
    assert shown["below_reserve"] is False
