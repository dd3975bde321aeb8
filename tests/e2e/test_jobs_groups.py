"""The group jobs under `wagw run` (fake backend), enqueued by path with plain rq as any app
does (nothing of wagw imported to enqueue): the JSON result and what reached the fake."""

from __future__ import annotations

import json

import pytest
from rq import Queue
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from chaos.polling import wait_for
from tests.e2e.conftest import one_daemon

pytestmark = pytest.mark.e2e
GROUP = "120363000000000001@g.us"


@pytest.fixture(scope="module")
def daemon():
    """One `wagw run` for the module."""
    yield from one_daemon("wagw-e2e-groups-")


def run(daemon, operation: str, /, **kwargs) -> Job:
    """Enqueue workers.wa.<operation> by path and wait for it to end."""
    queue = Queue("wa", connection=daemon.redis, serializer=JSONSerializer)
    job = queue.enqueue(f"workers.wa.{operation}", kwargs=kwargs)
    ended = (JobStatus.FINISHED, JobStatus.FAILED)
    wait_for(lambda: job.get_status(refresh=True) in ended, 30, 0.05, f"{operation} to end")
    return job


def sent(daemon, op: str) -> list[dict]:
    records = [json.loads(raw) for raw in daemon.redis.lrange("wagw:fake:sent", 0, -1)]
    return [r["args"] for r in records if r["op"] == op]


def test_leave_group(daemon):
    job = run(daemon, "leave_group", jid=GROUP)
    assert job.get_status() == JobStatus.FINISHED, job.latest_result().exc_string
    assert job.return_value() == {"jid": GROUP, "left": True}
    assert sent(daemon, "leave_group")[-1] == {"jid": GROUP}


def test_a_bad_group_argument_fails_at_once_without_reaching_whatsapp(daemon):
    before = daemon.redis.llen("wagw:fake:sent")
    job = run(daemon, "leave_group", jid="+15551234567")
    assert job.get_status() == JobStatus.FAILED
    assert "InvalidArguments: invalid arguments for leave_group: jid:" in job.latest_result().exc_string
    assert job.retries_left in (None, 0)
    assert daemon.redis.llen("wagw:fake:sent") == before


def test_set_group_name(daemon):
    job = run(daemon, "set_group_name", jid=GROUP, name="Team")
    assert job.get_status() == JobStatus.FINISHED, job.latest_result().exc_string
    assert job.return_value() == {"jid": GROUP, "name": "Team"}
    assert sent(daemon, "set_group_name")[-1] == {"jid": GROUP, "name": "Team"}


def test_set_group_topic(daemon):
    job = run(daemon, "set_group_topic", jid=GROUP, topic="Weekly sync")
    assert job.get_status() == JobStatus.FINISHED, job.latest_result().exc_string
    assert job.return_value() == {"jid": GROUP, "topic": "Weekly sync"}
    assert sent(daemon, "set_group_topic")[-1] == {"jid": GROUP, "topic": "Weekly sync"}


def test_set_group_locked(daemon):
    job = run(daemon, "set_group_locked", jid=GROUP, locked=True)
    assert job.get_status() == JobStatus.FINISHED, job.latest_result().exc_string
    assert job.return_value() == {"jid": GROUP, "locked": True}
    assert sent(daemon, "set_group_locked")[-1] == {"jid": GROUP, "locked": True}


def test_set_group_announce(daemon):
    job = run(daemon, "set_group_announce", jid=GROUP, announce=True)
    assert job.get_status() == JobStatus.FINISHED, job.latest_result().exc_string
    assert job.return_value() == {"jid": GROUP, "announce": True}
    assert sent(daemon, "set_group_announce")[-1] == {"jid": GROUP, "announce": True}


@pytest.mark.parametrize("reset", [False, True])
def test_group_invite_link(daemon, reset):
    job = run(daemon, "group_invite_link", jid=GROUP, reset=reset)
    assert job.get_status() == JobStatus.FINISHED, job.latest_result().exc_string
    result = job.return_value()
    assert (result["jid"], result["reset"]) == (GROUP, reset)
    assert result["link"].startswith("https://chat.whatsapp.com/")
    assert sent(daemon, "group_invite_link")[-1] == {"jid": GROUP, "reset": reset}


def test_group_requests(daemon):
    job = run(daemon, "group_requests", jid=GROUP)
    assert job.get_status() == JobStatus.FINISHED, job.latest_result().exc_string
    assert job.return_value() == {
        "jid": GROUP,
        "requests": [{"jid": "15557654321@s.whatsapp.net", "requested_at": "2025-11-29T10:30:00Z"}],
    }
    assert sent(daemon, "group_requests")[-1] == {"jid": GROUP}


def test_create_group(daemon):
    job = run(daemon, "create_group", name="Launch", participants=["+1 555 123 4567"])
    assert job.get_status() == JobStatus.FINISHED, job.latest_result().exc_string
    result = job.return_value()
    assert result["jid"].endswith("@g.us") and result["name"] == "Launch"
    assert [p["jid"] for p in result["participants"]][1:] == ["15551234567@s.whatsapp.net"]
    assert sent(daemon, "create_group")[-1] == {"name": "Launch", "participants": ["15551234567@s.whatsapp.net"]}


def test_create_group_crash_after_the_hand_over_is_outcome_unknown(daemon):
    """A send: a Go panic mid-call fails the job "outcome unknown", never a second group."""
    before = len(sent(daemon, "create_group"))
    job = run(daemon, "create_group", name="Launch", participants=["crash@s.whatsapp.net"])
    assert job.get_status() == JobStatus.FAILED
    assert "OutcomeUnknown: outcome unknown: create_group" in job.latest_result().exc_string
    assert len(sent(daemon, "create_group")) == before + 1  # one attempt reached the fake, not three


@pytest.mark.parametrize("action", ["add", "remove", "promote", "demote"])
def test_group_participants(daemon, action):
    job = run(daemon, "group_participants", jid=GROUP, action=action, participants=["+1 555 123 4567"])
    assert job.get_status() == JobStatus.FINISHED, job.latest_result().exc_string
    assert job.return_value() == {
        "jid": GROUP,
        "action": action,
        "participants": [{"jid": "15551234567@s.whatsapp.net", "lid": None, "error": None, "invite": None}],
    }
    assert sent(daemon, "group_participants")[-1] == {
        "jid": GROUP,
        "action": action,
        "participants": ["15551234567@s.whatsapp.net"],
    }


def test_join_group(daemon):
    job = run(daemon, "join_group", link="https://chat.whatsapp.com/HbLNhIVW8Nh5Gh0iHpDlhm")
    assert job.get_status() == JobStatus.FINISHED, job.latest_result().exc_string
    assert job.return_value()["jid"].endswith("@g.us")
    assert sent(daemon, "join_group")[-1] == {"link": "HbLNhIVW8Nh5Gh0iHpDlhm"}


def test_group_info_from_link(daemon):
    job = run(daemon, "group_info_from_link", link="HbLNhIVW8Nh5Gh0iHpDlhm")
    assert job.get_status() == JobStatus.FINISHED, job.latest_result().exc_string
    result = job.return_value()
    assert result["jid"].endswith("@g.us") and {"name", "participants", "owner"} <= set(result)
    assert sent(daemon, "group_info_from_link")[-1] == {"link": "HbLNhIVW8Nh5Gh0iHpDlhm"}


def test_set_group_photo(daemon):
    import base64
    import hashlib
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), "teal").save(buffer, "png")
    png = buffer.getvalue()
    job = run(daemon, "set_group_photo", jid=GROUP, image=base64.b64encode(png).decode())
    assert job.get_status() == JobStatus.FINISHED, job.latest_result().exc_string
    result = job.return_value()
    assert result["jid"] == GROUP and result["picture_id"]
    assert sent(daemon, "set_group_photo")[-1] == {
        "jid": GROUP,
        "image": {"bytes": len(png), "sha256": hashlib.sha256(png).hexdigest()},
        "mimetype": "image/png",
    }


def test_set_group_photo_outside_the_media_folder_fails_at_once(daemon):
    before = daemon.redis.llen("wagw:fake:sent")
    job = run(daemon, "set_group_photo", jid=GROUP, image="/etc/passwd")
    assert job.get_status() == JobStatus.FAILED
    exc = job.latest_result().exc_string
    assert "InvalidArguments: invalid arguments for set_group_photo: image: not " in exc
    assert "media folder (WAGW_MEDIA_DIR)" in exc
    assert daemon.redis.llen("wagw:fake:sent") == before
