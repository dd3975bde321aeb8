"""send_file without `filename`: the document is named after its path or URL, not left
nameless (neonize's send_document sends no fileName then, and phones show "Untitled")."""

from __future__ import annotations

import base64

import pytest

from tests.conformance.names import ALICE
from tests.conformance.roles import FakeAccount
from tests.conformance.test_outbound import PDF, job, sent_messages, worker  # noqa: F401


@pytest.fixture
def in_media_folder(data_dir):
    folder = data_dir / "media" / "reports"
    folder.mkdir(parents=True)

    def put(name: str) -> str:
        (folder / name).write_bytes(PDF)
        return str(folder / name)

    return put


@pytest.mark.parametrize(
    ("name", "shown"),
    [("Q3 report.pdf", "Q3 report.pdf"), ("invoice-2026", "invoice-2026.pdf")],
    ids=["its-name", "extension-added"],
)
def test_a_document_from_the_media_folder_is_named_after_its_file(worker, in_media_folder, name, shown):  # noqa: F811
    job(worker, "send_file", to=ALICE, file=in_media_folder(name), caption="Q3")
    [(_, message)] = sent_messages(worker)
    document = message["documentMessage"]
    assert (document["fileName"], document["title"]) == (shown, shown)


def test_base64_without_a_name_is_called_document_with_its_extension(worker):  # noqa: F811
    job(worker, "send_file", to=ALICE, file=base64.b64encode(PDF).decode())
    [(_, message)] = sent_messages(worker)
    assert message["documentMessage"]["fileName"] == "document.pdf"


def test_a_given_filename_is_kept(worker, in_media_folder):  # noqa: F811
    job(worker, "send_file", to=ALICE, file=in_media_folder("a.pdf"), filename="Annual report.pdf")
    [(_, message)] = sent_messages(worker)
    assert message["documentMessage"]["fileName"] == "Annual report.pdf"


def test_the_fake_records_the_same_name(settings, redis_conn, worker, in_media_folder):  # noqa: F811
    """Parity: the name comes from the wa-worker's media step, so both backends send it."""
    path = in_media_folder("Q4 report.pdf")
    job(worker, "send_file", to=ALICE, file=path)
    [(_, message)] = sent_messages(worker)
    fake = FakeAccount(settings, redis_conn)
    assert "result" in fake.job("send_file", to=ALICE, file=path)
    assert [args["filename"] for args in fake.sent("send_file")] == [message["documentMessage"]["fileName"]]
