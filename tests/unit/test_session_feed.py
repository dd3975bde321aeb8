"""wagw.session.feed's batching, with a stand-in sink that records the batches it is given
(the store itself, on a real Redis: tests/integration/test_event_batches.py)."""

from __future__ import annotations

import threading
import time

from chaos.polling import wait_for
from wagw.session.feed import EventFeed
from wagw.session.sink import Prepared
from wagw.writeonce import Writes


class Sink:
    """Stores nothing; a store waits while `paused` is clear. Events are (id, body size)."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.paused = threading.Event()
        self.paused.set()

    def prepare(self, event: tuple[str, int]) -> Prepared:
        return Prepared(event[0], "message", event[1], Writes("seen:" + event[0], lambda pipe: None, []))

    def store(self, batch: list[Prepared]) -> None:
        self.batches.append([prepared.event_id for prepared in batch])
        assert self.paused.wait(10)


def stays(predicate, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert predicate(), f"{what} stopped holding"
        time.sleep(0.02)


def feed_in_background(feed: EventFeed, events: list[tuple[str, int]]) -> threading.Thread:
    thread = threading.Thread(target=lambda: [feed(event) for event in events], daemon=True)  # type: ignore[func-returns-value]
    thread.start()
    return thread


def test_an_event_alone_is_stored_at_once_and_those_waiting_go_together_within_the_bounds():
    sink = Sink()
    feed = EventFeed(sink, batch_events=4, batch_bytes=1000)  # type: ignore[arg-type]
    sink.paused.clear()
    feed(("a", 10))
    wait_for(lambda: sink.batches == [["a"]], timeout=5, what="the lone event taken at once")
    # While that store lasts, the next ones wait: then at most 4 together, and at most 1000
    # bytes of bodies (an event larger than that goes alone).
    thread = feed_in_background(feed, [("b", 10), ("c", 600), ("d", 500), ("e", 10), ("f", 2000), ("g", 10)])
    wait_for(lambda: feed.unstored() == 5, timeout=5, what="4 events waiting besides the one stored")
    stays(thread.is_alive, 0.5, "the backend's thread waiting for room")
    sink.paused.set()
    thread.join(10)
    assert feed.close(10)
    assert sink.batches == [["a"], ["b", "c"], ["d", "e"], ["f"], ["g"]]
