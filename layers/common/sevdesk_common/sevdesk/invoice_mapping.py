"""R1's hand-over as sevDesk's saveInvoice body: every position in one request, the address
sent explicitly (sevDesk does not copy it from the contact), and our marker in the note."""

from __future__ import annotations

from sevdesk_common.models.invoice import STATIC_COUNTRY_IDS, CompanyRecipient, InvoiceHandover
from sevdesk_common.sevdesk.markers import invoice_marker
from sevdesk_common.sevdesk.payloads import InvoicePositionPayload, InvoiceSavePayload


def invoice_payload(
    invoice_id: str,
    handover: InvoiceHandover,
    *,
    contact_id: str,
    contact_person_id: str,
    e_invoice: bool = False,
    payment_method_id: str | None = None,
) -> InvoiceSavePayload:
    recipient = handover.company or handover.contact
    name: str | None = None
    if isinstance(recipient, CompanyRecipient):
        name = recipient.name
    elif recipient is not None:
        name = f"{recipient.first_name} {recipient.last_name}"
    address = recipient.address if recipient else None
    lines = [name, address.street, f"{address.zip} {address.city}"] if address else []
    rates = {p.tax_rate for p in handover.positions}
    return InvoiceSavePayload(
        contact_id=contact_id,
        contact_person_id=contact_person_id,
        invoice_date=handover.invoice_date,
        delivery_date=handover.delivery_date or handover.invoice_date,
        customer_internal_note=invoice_marker(invoice_id),
        header=handover.header or f"Rechnung {handover.invoice_number}",
        currency=handover.currency,
        tax_rule_id=1,
        tax_text=f"Umsatzsteuer {rates.pop().normalize():f}%" if len(rates) == 1 else "Umsatzsteuer",
        time_to_pay=handover.time_to_pay_days,
        address="\n".join(line for line in lines if line) or None,
        address_name=name,
        address_street=address.street if address else None,
        address_zip=address.zip if address else None,
        address_city=address.city if address else None,
        address_country_id=STATIC_COUNTRY_IDS[address.country] if address else 1,
        property_is_e_invoice=e_invoice,
        payment_method_id=payment_method_id,
        positions=[
            InvoicePositionPayload(
                name=p.name, text=p.description, quantity=p.quantity, price=p.unit_price, tax_rate=p.tax_rate
            )
            for p in handover.positions
        ],
    )
