"""The receiver is down for 30 s while 500 events arrive; once it is back every event is
delivered, and no event id gets a second 2xx. Two real webhook workers, the real scheduler;
the retry schedule is shortened (through settings) so the test takes about a minute."""

from __future__ import annotations

import time

from rq.registry import FailedJobRegistry, StartedJobRegistry

from chaos.polling import wait_for
from tests.integration.webhook_harness import Processes
from wagw.webhooks.enqueue import enqueue_deliveries

EVENTS = 500
OUTAGE = 30.0


def test_outage_of_30_s_loses_nothing_and_duplicates_nothing(settings_env, data_dir, receiver, redis_conn):
    settings_env.setenv("WAGW_WEBHOOK_URLS", receiver.url)
    settings_env.setenv("WAGW_WEBHOOK_SECRET", "s3cret-s3cret-s3cret")
    # Spans ~75 s, longer than the outage; jitter spreads the comebacks.
    settings_env.setenv("WAGW_WEBHOOK_RETRY_SCHEDULE", "1,2,4,8,8,8,8,8,8,8,8")
    settings_env.setenv("WAGW_WEBHOOK_CONNECT_TIMEOUT", "1")
    from wagw.config import Settings

    settings = Settings(_env_file=None)
    procs = Processes(data_dir)
    try:
        procs.scheduler()
        procs.worker(1)
        procs.worker(2)
        # A few events while it is up: connections are open when it goes down.
        ids = [f"ev-{n:04d}" for n in range(EVENTS)]
        for event_id in ids[:20]:
            with redis_conn.pipeline() as pipe:
                enqueue_deliveries(pipe, settings, event_id, "message", f'{{"id":"{event_id}"}}')
                pipe.execute()
        wait_for(lambda: len(receiver.delivered()) == 20, 20, what="first 20 delivered")

        receiver.down()
        down_at = time.monotonic()
        for n, event_id in enumerate(ids[20:]):
            with redis_conn.pipeline() as pipe:
                enqueue_deliveries(pipe, settings, event_id, "message", f'{{"id":"{event_id}"}}')
                pipe.execute()
            # Arriving over the outage, not all at once.
            pause = down_at + (n + 1) * (OUTAGE * 0.8) / (EVENTS - 20) - time.monotonic()
            if pause > 0:
                time.sleep(pause)
        wait_for(lambda: time.monotonic() - down_at >= OUTAGE, OUTAGE + 5, what="the outage")
        assert len(receiver.delivered()) == 20  # nothing got through while it was down
        receiver.up()

        wait_for(lambda: len(receiver.delivered()) == EVENTS, 90, interval=0.2, what="all 500 delivered")
        delivered = receiver.delivered()
        assert set(delivered) == set(ids)
        assert max(delivered.values()) == 1, [e for e, n in delivered.items() if n > 1][:5]
        assert FailedJobRegistry("webhooks", connection=redis_conn).count == 0
        wait_for(lambda: StartedJobRegistry("webhooks", connection=redis_conn).count == 0, 10, what="none started")
    except BaseException:
        print(procs.logs())
        raise
    finally:
        procs.stop_all()
