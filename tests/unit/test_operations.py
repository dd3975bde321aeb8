"""The operation table is the one fact about outbound operations: everything else that lists
them (jobs, client, backends, host dispatch, docs) must agree with it."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from wagw import client, operations
from wagw.operations import OPERATIONS
from wagw.whatsapp.backend import Backend
from wagw.whatsapp.fake import FakeBackend
from wagw.whatsapp.neonize_backend import NeonizeBackend
from workers import wa

DOCS = (Path(__file__).resolve().parents[2] / "docs" / "jobs.md").read_text()
# send_image's media argument reaches the backend as bytes plus the sniffed mimetype.
BACKEND_PARAMETERS = {
    "send_image": ["to", "image", "mimetype", "caption", "view_once"],
    "send_file": ["to", "file", "filename", "caption", "mimetype"],
    "send_sticker": ["to", "sticker", "mimetype"],
    "send_audio": ["to", "audio", "mimetype", "ptt"],
    "send_video": ["to", "video", "mimetype", "caption", "view_once"],
    "set_group_photo": ["jid", "image", "mimetype"],
}


@pytest.mark.parametrize("name", OPERATIONS)
def test_every_operation_is_a_public_job_with_its_arguments(name):
    op = OPERATIONS[name]
    job = getattr(wa, name)
    assert op.path == f"workers.wa.{name}" and job.__module__ == "workers.wa"
    assert list(inspect.signature(job).parameters) == op.parameters
    assert job.__doc__ == op.summary


@pytest.mark.parametrize("name", OPERATIONS)
def test_every_operation_has_client_functions_with_its_arguments(name):
    op = OPERATIONS[name]
    for function in (getattr(client, name), getattr(client, f"enqueue_{name}")):
        parameters = list(inspect.signature(function).parameters)
        assert parameters[: len(op.parameters)] == op.parameters
        assert op.summary in function.__doc__


def test_media_arguments_agree_with_the_wa_workers_media_kinds():
    from workers.wa import media

    assert {name: op.media for name, op in OPERATIONS.items() if op.media} == {
        name: kind.argument for name, kind in media.MEDIA.items()
    }


@pytest.mark.parametrize("backend", [Backend, FakeBackend, NeonizeBackend])
@pytest.mark.parametrize("name", OPERATIONS)
def test_every_backend_implements_every_operation(backend, name):
    method = getattr(backend, name)
    expected = BACKEND_PARAMETERS.get(
        name, [p for p in OPERATIONS[name].parameters if p not in operations.WORKER_ARGUMENTS]
    )
    assert list(inspect.signature(method).parameters)[1:] == expected
    if backend is not Backend:
        assert not getattr(method, "__isabstractmethod__", False)


def test_backends_have_no_outbound_method_the_table_lacks():
    abstract = set(Backend.__abstractmethods__)
    connection = {"start", "wait", "stop", "is_connected", "device_jid", "pn_for_lid"}  # (the session's)
    warm_up = {"subscribe_presence"}  # the host's own, before a send's retry after a reach-out limit
    assert abstract - connection - warm_up == set(OPERATIONS)


@pytest.mark.parametrize("name", OPERATIONS)
def test_docs_give_each_operation_its_defaults_and_a_section(name):
    op = OPERATIONS[name]
    intervals = ", ".join([str(op.interval)] * op.retries)
    row = f"| `{name}` | {op.timeout} s | `Retry(max={op.retries}, interval=[{intervals}])` ({op.retries + 1}) |"
    assert row in DOCS, f"docs/jobs.md's defaults table is out of date for {name}: expected {row}"
    assert re.search(rf"^### `workers\.wa\.{name}\(", DOCS, re.M), f"docs/jobs.md has no section for {name}"


def test_an_unknown_operation_is_named_with_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown wa job 'send_fax'.*fetch_avatar"):
        operations.get("send_fax")
    assert operations.operation_of("workers.wa.send_fax") is None
