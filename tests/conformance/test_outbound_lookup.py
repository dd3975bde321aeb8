"""Profile, lookup, message-action, presence and chat jobs through neonize's own wrappers and
the ctypes boundary, answered as goneonize/whatsmeow answer (whatsmeow.World)."""

from __future__ import annotations

from tests.conformance.names import ALICE
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


# contacts -------------------------------------------------------------------------------------
def test_contacts_lists_the_device_stores_contacts_sorted(worker):  # noqa: F811
    """goneonize ranges over whatsmeow's map (no order): wagw sorts by JID; `name` is the
    first name that is set, as go-whatsapp-web-multidevice shows it."""
    result = job(worker, "contacts")["result"]
    assert result == {
        "contacts": [
            {
                "jid": ALICE,
                "name": "Alice Liddell",
                "first_name": "Alice",
                "full_name": "Alice Liddell",
                "push_name": "Ali",
                "business_name": None,
            },
            {
                "jid": "15557654321@s.whatsapp.net",
                "name": "Bob",
                "first_name": None,
                "full_name": None,
                "push_name": "Bob",
                "business_name": None,
            },
            {
                "jid": "15559876543@s.whatsapp.net",
                "name": "Carol's Bakery",
                "first_name": None,
                "full_name": None,
                "push_name": None,
                "business_name": "Carol's Bakery",
            },
        ]
    }


def test_contacts_of_an_empty_store_is_an_empty_list(worker):  # noqa: F811
    worker.call("set_world", contacts={})
    assert job(worker, "contacts") == {"result": {"contacts": []}}


def test_a_contact_store_error_fails_with_its_text_and_is_retried(worker):  # noqa: F811
    worker.call("set_world", contacts_error="database is locked")
    failed = job(worker, "contacts")
    assert failed["error"] == "BackendError" and failed["module"] == "wagw.backends.base"
    assert failed["message"] == "contacts failed: database is locked"
    assert not failed["permanent"]
