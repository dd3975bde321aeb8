"""Profile, lookup, message-action, presence and chat jobs through neonize's own wrappers and
the ctypes boundary, answered as goneonize/whatsmeow answer (whatsmeow.World)."""

from __future__ import annotations

from tests.conformance.test_outbound import job, worker  # noqa: F401  (the connected worker-1 fixture)


# my_privacy -----------------------------------------------------------------------------------
def test_my_privacy_reads_whatsmeows_settings(worker):  # noqa: F811
    """goneonize's GetPrivacySettings has no error field; a setting WhatsApp did not send
    ("" in whatsmeow, UNDEFINED in neonize's enum) is null."""
    assert job(worker, "my_privacy") == {
        "result": {
            "group_add": "contacts",
            "last_seen": "contact_blacklist",
            "status": "contacts",
            "profile": "all",
            "read_receipts": "none",
            "call_add": "known",
            "online": None,
        }
    }
    assert len(worker.call("calls", entry="GetPrivacySettings")) == 1
