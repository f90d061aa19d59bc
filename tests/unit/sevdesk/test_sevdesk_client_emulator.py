"""Round trips of the client against the in-process sevDesk emulator (devtools)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from sevdesk_common.sevdesk.client import SevdeskClient
from sevdesk_common.sevdesk.errors import SevdeskAmbiguousWrite, SevdeskRefused, SevdeskUnauthorized
from sevdesk_common.sevdesk.payloads import InvoicePositionPayload, InvoiceSavePayload
from tests.unit.sevdesk.sevdesk_helpers import TOKEN, Sleeps, settings

emulator_module = pytest.importorskip(
    "devtools.sevdesk_emulator", reason="the sevDesk emulator is not available"
)
Fault = emulator_module.Fault


@pytest.fixture
def emu() -> Any:
    return emulator_module.SevdeskEmulator(token=TOKEN)


@pytest.fixture
def client(emu: Any, sleeps: Sleeps) -> SevdeskClient:
    return SevdeskClient(
        TOKEN, settings=settings(), base_url=emu.base_url, transport=emu.transport(), sleep=sleeps
    )


def _calls(emu: Any, method: str, suffix: str) -> int:
    return sum(1 for r in emu.requests if r.method == method and r.path.endswith(suffix))


def _payload(client: SevdeskClient, marker: str) -> InvoiceSavePayload:
    contact = client.create_contact(customer_number=f"K-{marker}", name="ACME GmbH")
    user = client.list_sev_users()[0]
    return InvoiceSavePayload(
        contact_id=contact.id,
        contact_person_id=user.id,
        invoice_date=date(2026, 10, 1),
        delivery_date=date(2026, 10, 1),
        customer_internal_note=marker,
        tax_text="Umsatzsteuer 19%",
        address_name="ACME GmbH",
        address_street="Teststrasse 1",
        address_zip="10115",
        address_city="Berlin",
        positions=[
            InvoicePositionPayload(
                name=f"Pos {i}", quantity=Decimal(i), price=Decimal("10.00"), tax_rate=Decimal(19)
            )
            for i in (1, 2, 3)
        ],
    )


def test_connection_users_and_templates(client: SevdeskClient) -> None:
    assert client.bookkeeping_system_version() == "2.0"
    assert client.list_sev_users()[0].sev_client is not None
    assert any(t.is_default for t in client.list_templates())


def test_wrong_token_is_unauthorized(emu: Any) -> None:
    other = SevdeskClient("f" * 32, settings=settings(), base_url=emu.base_url, transport=emu.transport())
    with pytest.raises(SevdeskUnauthorized) as info:
        other.bookkeeping_system_version()
    assert "f" * 32 not in str(info.value)


def test_contact_round_trip(client: SevdeskClient) -> None:
    contact = client.create_contact(customer_number="K-42", surename="Erika", familyname="Muster")
    client.create_contact_address(contact.id, street="Teststrasse 1", zip_code="10115", city="Berlin")
    client.create_communication_way(contact.id, "erika@example.com")
    assert [c.id for c in client.find_contacts_by_customer_number("K-42")] == [contact.id]
    assert client.find_contacts_by_customer_number("K-4") == []


def test_invoice_lifecycle(client: SevdeskClient, emu: Any) -> None:
    saved = client.save_invoice(_payload(client, "R1-1"))
    assert _calls(emu, "POST", "/Invoice/Factory/saveInvoice") == 1
    assert saved.invoice.is_draft and saved.invoice.invoice_number is None and len(saved.positions) == 3
    assert saved.invoice.sum_net == Decimal("60")

    draft_pdf = client.get_pdf(saved.invoice.id)  # preventSendBy: the draft stays a draft
    assert draft_pdf.content.startswith(b"%PDF") and client.get_invoice(saved.invoice.id).is_draft

    client.change_parameter(saved.invoice.id, "template", client.list_templates()[0].id)
    final = client.send_by(saved.invoice.id)
    assert final.status == 200 and final.invoice_number and final.enshrined is not None
    assert client.get_pdf(final.id).filename == f"{final.invoice_number}.pdf"

    sr = client.cancel_invoice(final.id)
    assert sr.is_cancellation and sr.origin is not None and sr.origin.id == final.id
    assert sr.sum_gross is not None and sr.sum_gross < 0
    assert {i.invoice_type for i in client.find_invoices_by_marker("R1-1")} == {"RE", "SR"}
    with pytest.raises(SevdeskRefused) as info:
        client.cancel_invoice(final.id)
    assert info.value.sevdesk_code == 421


def test_partly_paid_cancel_is_refused_inside_http_200(client: SevdeskClient, emu: Any) -> None:
    final = client.send_by(client.save_invoice(_payload(client, "R1-2")).invoice.id)
    emu.book_payment(final.id, "10.00")
    assert client.get_is_partially_paid(final.id) is True
    with pytest.raises(SevdeskRefused) as info:
        client.cancel_invoice(final.id)
    assert (info.value.sevdesk_code, info.value.http_status) == (390, 200)


def test_delete_only_drafts(client: SevdeskClient) -> None:
    draft = client.save_invoice(_payload(client, "R1-3")).invoice
    client.send_by(draft.id)
    with pytest.raises(SevdeskRefused) as info:
        client.delete_invoice(draft.id)
    assert info.value.sevdesk_code == 159 and info.value.status == 409


def test_lost_response_is_ambiguous_and_reconciled_by_marker(client: SevdeskClient, emu: Any) -> None:
    payload = _payload(client, "R1-4")
    emu.faults.add(Fault(method="POST", path="/Invoice/Factory/saveInvoice", kind="lost_response"))
    with pytest.raises(SevdeskAmbiguousWrite) as info:
        client.save_invoice(payload)
    assert info.value.operation == "save_invoice"
    assert _calls(emu, "POST", "/Invoice/Factory/saveInvoice") == 1
    [found] = client.find_invoices_by_marker("R1-4")  # the write was applied after all
    assert found.is_draft


def test_write_429_is_retried_and_applied_once(client: SevdeskClient, emu: Any, sleeps: Sleeps) -> None:
    payload = _payload(client, "R1-5")
    emu.faults.add(
        Fault(method="POST", path="/Invoice/Factory/saveInvoice", kind="rate_limit", retry_after=3)
    )
    client.save_invoice(payload)
    assert _calls(emu, "POST", "/Invoice/Factory/saveInvoice") == 2 and sleeps == [3]
    assert len(client.find_invoices_by_marker("R1-5")) == 1


def test_paging_through_the_emulator(client: SevdeskClient) -> None:
    payload = _payload(client, "R1-6")
    for _ in range(5):
        client.save_invoice(payload)
    assert len(list(client.iter_invoices(customer_internal_note="R1-6", limit=2))) == 5
    page = client.list_invoices(customer_internal_note="R1-6", limit=2, count_all=True)
    assert page.total == 5 and len(page.items) == 2
