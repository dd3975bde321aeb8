"""`wagw run` with WAGW_REDIS_SOCKET_GROUP: an app running as another user, in that group,
enqueues through the embedded Redis's socket and gets its result; a user outside it cannot
connect."""

from __future__ import annotations

import grp
import os

import pytest
from redis import Redis
from rq.job import Job

from chaos.polling import wait_for
from tests.integration.wa_worker_harness import ALICE
from tests.security.test_redis_socket_group import APPS, as_user, pings
from wagw import client
from wagw.redisconn import SERIALIZER

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="switches to other users: needs root")


def enqueues(path: str):
    def action() -> bool:
        conn = Redis(unix_socket_path=path, socket_timeout=5)
        client.enqueue("fetch_avatar", ALICE, connection=conn, job_id="from-another-user")
        return True

    return action


def test_an_app_in_the_group_enqueues_and_one_outside_cannot_connect(daemon_factory):
    daemon = daemon_factory(env={"WAGW_REDIS_SOCKET_GROUP": APPS}).start()
    socket_path = str(daemon.data_dir.resolve() / "socket" / "redis.sock")
    assert daemon.redis_url == f"unix://{socket_path}"
    apps = grp.getgrnam(APPS).gr_gid
    assert as_user([apps], enqueues(socket_path))
    wait_for(
        lambda: Job.fetch("from-another-user", connection=daemon.redis, serializer=SERIALIZER).is_finished,
        30,
        what="the other user's job to finish",
    )
    assert Job.fetch("from-another-user", connection=daemon.redis, serializer=SERIALIZER).return_value()["jid"] == ALICE
    assert not as_user([], pings(socket_path))
