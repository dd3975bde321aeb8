"""Pure parts of the HTTP API: how a job's failure is read and answered, the Prefer header,
the groups of the operation table, the api child's secrets, and what the API process loads."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from wagw import operations
from wagw.api.calls import Failed, Finished, Pending, Rejected, failure_of
from wagw.api.groups import GROUPS
from wagw.api.native import error_code, outcome_response, preferred_wait, respond_async

POISONED = (
    'Traceback (most recent call last):\n  File "x", line 1\n'
    "wagw.quarantine.PoisonedTarget: poisoned target: fetch_avatar on …4567@s.whatsapp.net crashed 2 times\n"
    "last panic: runtime error"
)


@pytest.mark.parametrize(
    ("exc", "error", "permanent", "crash", "status"),
    [
        (POISONED, "wagw.quarantine.PoisonedTarget", True, "poisoned_target", 503),
        (
            "workers.wa.OutcomeUnknown: outcome unknown: send_text …",
            "workers.wa.OutcomeUnknown",
            True,
            "outcome_unknown",
            502,
        ),
        (
            "workers.host_client.HostCrashed: native host of slot 1 (pid 4) died of signal SIGABRT during x",
            "workers.host_client.HostCrashed",
            False,
            "crashed",
            502,
        ),
        (
            "wagw.quarantine.Quarantined: fetch_avatar quarantined",
            "wagw.quarantine.Quarantined",
            True,
            "quarantined",
            503,
        ),
        (
            "workers.validation.InvalidArguments: invalid arguments for x: to: bad",
            "workers.validation.InvalidArguments",
            True,
            None,
            400,
        ),
        ("wagw.backends.base.BackendError: refused", "wagw.backends.base.BackendError", False, None, 502),
        ("", "JobFailed", False, None, 502),
    ],
)
def test_a_failed_job_is_read_from_its_traceback(exc, error, permanent, crash, status):
    outcome = failure_of("j1", exc)
    assert (outcome.error, outcome.permanent, outcome.crash) == (error, permanent, crash)
    answer = outcome_response(outcome)
    assert answer.status_code == status
    body = json.loads(answer.body)
    assert set(body) == {"code", "message", "results"} and body["results"]["job_id"] == "j1"
    assert body["results"]["crash"] == crash and body["message"]


def test_outcomes_answer_200_202_and_the_rejections_status():
    assert outcome_response(Finished("j", {"id": "3EB0"})).status_code == 200
    pending = outcome_response(Pending("j", "retried"))
    assert pending.status_code == 202 and pending.headers["location"] == "/jobs/j"
    assert json.loads(pending.body)["results"] == {"job_id": "j", "status": "pending", "crash": "retried"}
    rejected = outcome_response(Rejected(400, "VALIDATION_ERROR", "invalid arguments for x: to: bad", "to"))
    assert rejected.status_code == 400 and json.loads(rejected.body)["results"] == {"argument": "to"}
    assert isinstance(failure_of("j", "x"), Failed)


def test_error_codes_and_prefer():
    assert error_code("OutcomeUnknown") == "OUTCOME_UNKNOWN" and error_code("InvalidArguments") == "VALIDATION_ERROR"
    assert respond_async("respond-async") and respond_async("return=minimal, respond-async; x=1")
    assert not respond_async(None) and not respond_async("respond-asyncx")
    assert preferred_wait("respond-async, wait=5") == 5.0 and preferred_wait("wait=abc") is None


def test_every_operation_is_in_exactly_one_group():
    names = [name for group in GROUPS.values() for name in group]
    assert sorted(names) == sorted(operations.OPERATIONS)


def test_only_the_api_child_gets_the_api_logins(settings_env):
    from wagw.config import Settings
    from wagw.supervisor.grants import GRANTS, granted

    settings_env.setenv("WAGW_API_BASIC_AUTH", "u:secret-password")
    settings_env.setenv("WAGW_API_ADDR", "127.0.0.1:3999")
    settings = Settings(_env_file=None)
    assert granted(settings, "api")["WAGW_API_BASIC_AUTH"] == "u:secret-password"
    for command in set(GRANTS) - {"api"}:
        assert "WAGW_API_BASIC_AUTH" not in granted(settings, command), command
    from wagw.supervisor.children import front_specs

    assert [spec.name for spec in front_specs(settings)] == ["api"]


def test_basic_auth_setting_is_pairs():
    from pydantic import ValidationError

    from wagw.config import Settings

    assert Settings(_env_file=None, api_basic_auth="a:b,c:d:e").api_logins == [("a", "b"), ("c", "d:e")]
    with pytest.raises(ValidationError, match="user:password pairs"):
        Settings(_env_file=None, api_basic_auth="nopassword")


def test_the_api_process_never_loads_neonize_and_loads_mcp_on_first_use():
    probe = (
        "import json, sys\n"
        "from wagw.config import Settings\n"
        "from wagw.api.app import create_app\n"
        "import wagw.api.process\n"
        "app = create_app(Settings(_env_file=None, redis_url='redis://127.0.0.1:1'))\n"
        "app.openapi()\n"
        "print(json.dumps([m for m in sys.modules if m.split('.')[0] in ('neonize', 'workers', 'mcp')]))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_mcp_tools_cover_the_operation_table():
    from wagw.api.mcp_server import JOB_TOOL, tool_definitions

    tools = {tool["name"]: tool for tool in tool_definitions()}
    actions = [
        name for tool in tools.values() for name in tool["input_schema"]["properties"].get("action", {}).get("enum", [])
    ]
    assert sorted(actions) == sorted(operations.OPERATIONS) and JOB_TOOL in tools
    assert all(name.startswith("whatsapp_") for name in tools)
    assert "send_text(to, text, reply_to=None" in tools["whatsapp_send"]["description"]
