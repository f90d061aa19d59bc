"""Found by the storm campaign (`make storms`, seed 2137, storm 133: 7 users publishing then
sending, POST /Contact slowed to 2.8 s, longer than the client's 2 s timeout): two sevDesk
contacts for one customer.

The interleaving, forced here without threads: publish A creates the contact; its answer does
not come in time (the write is still on its way), the read by customerNumber finds nothing, A
answers 503 and releases the invoice. Publish B, at once, reads again (nothing yet), creates the
contact a second time; then sevDesk applies A's create. Invoices wait out
AMBIGUOUS_WRITE_GRACE_SECONDS before creating again after such an answer; so do contacts now
(services/contacts.py: the create's pending write lives in the customer's link item).
"""

from __future__ import annotations

from typing import Any

import pytest

from devtools.sevdesk_emulator import Fault
from tests.conftest import SEVDESK_TOKEN, clear_process_caches
from tests.integration.test_publish import hand_over, handover_body, publish
from tests.integration.test_publish_faults import calls

pytestmark = pytest.mark.usefixtures("emulator", "token_configured")
CUSTOMER = f"R1-CO-{handover_body()['company']['id']}"


@pytest.fixture(autouse=True)
def grace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMBIGUOUS_WRITE_GRACE_SECONDS", "60")
    clear_process_caches()


def _contacts(emu: Any) -> list[dict[str, Any]]:
    return [c for c in emu.state.contacts.values() if c.get("customerNumber") == CUSTOMER]


def _create_arrives_late() -> None:
    """sevDesk applies the first publish's create after all (without faults now)."""
    from sevdesk_common.clients import client_for

    client_for(SEVDESK_TOKEN).create_contact(
        customer_number=CUSTOMER, name=handover_body()["company"]["name"]
    )


def test_a_retry_within_the_grace_period_does_not_create_the_contact_again(emulator: Any) -> None:
    hand_over()
    emulator.faults.add(Fault(method="POST", path="/Contact", kind="timeout", apply=False))
    assert publish().status == 503

    early = publish()

    assert early.status == 503, early.body
    assert early.body["error"]["code"] == "sevdesk_outcome_unknown"
    assert calls(emulator, "POST", "/Contact") == 1


def test_a_contact_create_applied_late_leaves_one_contact(emulator: Any) -> None:
    hand_over()
    emulator.faults.add(Fault(method="POST", path="/Contact", kind="timeout", apply=False))
    assert publish().status == 503
    publish()  # another user, at once
    _create_arrives_late()

    final = publish()

    assert final.status == 200, final.body
    contacts = _contacts(emulator)
    assert len(contacts) == 1, [c["id"] for c in contacts]
    assert final.body["sevdeskContactId"] == contacts[0]["id"]
