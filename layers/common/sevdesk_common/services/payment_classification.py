"""How an invoice's state in sevDesk becomes R1's claim: from all its fields together.

Real sevDesk reports a CANCELLED invoice (and its cancellation invoice) as status 1000 with
paidAmount 0, and a write-off makes paidAmount reach sumGross although the money never came
(../shared/sevdesk/NOTES.md section 13): the status alone decides nothing. First match wins:

sevDesk reads                                       R1 sees                                     kind
--------------------------------------------------------------------------------------------------------------
an SR (invoiceType SR) whose origin is the invoice  cancelled; cancellation = the SR            cancelled
invoiceType not RE, or status not 200/750/1000      unchanged, failure unexpected_status
1000, paidAmount 0, no SR (nor by our marker)       unchanged, failure settled_without_payment
1000, or paidAmount >= sumGross: bookings decide
  they do not add up to paidAmount                  unchanged, failure bookings_do_not_add_up
  some on an offline account (a write-off)          paid, settlement written_off (1)            written_off
  all bank or cash, paidAmount > sumGross           paid, settlement paid, paidAmount           overpaid
  all bank or cash                                  paid, settlement paid, paidAmount           paid
750, or 0 < paidAmount < sumGross                   partially_paid, paidAmount                  partially_paid
200, paidAmount 0                                   open (bookings undone in sevDesk)           reopened

(1) paidAmount = the bank and cash bookings (the money that came), writtenOffAmount = the ones on
offline accounts. documentStatus becomes cancelled with a cancellation; paidAt is sevDesk's
payDate wherever something was booked, else empty.

Amounts are Decimal (sevDesk sends strings, paidAmount a JSON number). Bookings are the
invoice's CheckAccountTransactionLogs; an account of type online (bank) or register (cash) holds
money, an offline one ("Ausgebuchte Rechnungen") a write-off. They are read only for invoices
that reached the settled state since the last sync (services/payment_bookings.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sevdesk_common.models.invoice import Cancellation, ClaimStatus, DocumentStatus, Settlement, cents

if TYPE_CHECKING:
    from sevdesk_common.models.payment_sync import ChangeKind
    from sevdesk_common.models.record import InvoiceRecord
    from sevdesk_common.sevdesk.models import Invoice

OPEN, PARTIALLY_PAID, SETTLED = 200, 750, 1000
ZERO = cents(Decimal(0))


@dataclass(frozen=True)
class Bookings:
    """What an invoice's bookings add up to, by the kind of account they went to."""

    money: Decimal
    written_off: Decimal

    @property
    def total(self) -> Decimal:
        return self.money + self.written_off


@dataclass(frozen=True)
class Claim:
    """The part of the invoice's state that payment sync owns."""

    claim_status: ClaimStatus
    paid_amount: Decimal
    paid_at: datetime | None = None
    settlement: Settlement | None = None
    written_off_amount: Decimal | None = None
    cancellation: Cancellation | None = None

    @classmethod
    def of(cls, record: InvoiceRecord) -> Claim:
        return cls(
            claim_status=record.claim_status,
            paid_amount=record.paid_amount,
            paid_at=record.paid_at,
            settlement=record.settlement,
            written_off_amount=record.written_off_amount,
            cancellation=record.cancellation,
        )

    def same_as(self, other: Claim) -> bool:
        # A cancellation is the same by its SR; the template applied to it is not ours to compare.
        ours = self.cancellation.external_id if self.cancellation else None
        theirs = other.cancellation.external_id if other.cancellation else None
        return (
            self.claim_status == other.claim_status
            and self.paid_amount == other.paid_amount
            and self.paid_at == other.paid_at
            and self.settlement == other.settlement
            and self.written_off_amount == other.written_off_amount
            and ours == theirs
        )

    def changes(self, record: InvoiceRecord) -> dict[str, Any]:
        """The record's fields to set (a cancellation keeps a template our cancel applied)."""
        fields: dict[str, Any] = {
            "claim_status": self.claim_status,
            "paid_amount": self.paid_amount,
            "paid_at": self.paid_at,
            "settlement": self.settlement,
            "written_off_amount": self.written_off_amount,
        }
        if self.claim_status == "cancelled":
            document_status: DocumentStatus = "cancelled"
            fields.update(cancellation=self.cancellation, document_status=document_status)
        return fields

    def view(self) -> dict[str, Any]:
        """For the event log: amounts as strings, so they read back exactly."""
        return {
            "claimStatus": self.claim_status,
            "paidAmount": str(self.paid_amount),
            "paidAt": self.paid_at.isoformat() if self.paid_at else None,
            "settlement": self.settlement,
            "writtenOffAmount": None if self.written_off_amount is None else str(self.written_off_amount),
        }


@dataclass(frozen=True)
class Verdict:
    kind: ChangeKind
    claim: Claim
    evidence: dict[str, Any]


@dataclass(frozen=True)
class Unclear:
    """sevDesk's state does not fit the rules: left as it is, reported."""

    reason: str
    message: str


@dataclass(frozen=True)
class NeedsBookings:
    """Settled in sevDesk: only the bookings tell money from a write-off."""


@dataclass(frozen=True)
class NeedsCancellation:
    """Status 1000 with nothing paid: a cancellation, if its SR can be found."""


Outcome = Verdict | Unclear | NeedsBookings | NeedsCancellation


def evidence(
    invoice: Invoice | None, cancellation: Invoice | None, bookings: Bookings | None
) -> dict[str, Any]:
    """The sevDesk fields a decision was made from (for the `payment_synced` event)."""
    found: dict[str, Any] = {}
    if invoice is not None:
        found.update(
            id=invoice.id,
            invoiceType=invoice.invoice_type,
            status=invoice.status,
            paidAmount=_text(invoice.paid_amount),
            sumGross=_text(invoice.sum_gross),
            payDate=invoice.pay_date.isoformat() if invoice.pay_date else None,
            update=invoice.update.isoformat() if invoice.update else None,
        )
    if cancellation is not None:
        found.update(cancellationId=cancellation.id, cancellationNumber=cancellation.invoice_number)
    if bookings is not None:
        found["bookings"] = {"money": str(bookings.money), "writtenOff": str(bookings.written_off)}
    return found


def classify(
    invoice: Invoice | None,
    *,
    cancellation: Invoice | None = None,
    bookings: Bookings | None = None,
    cancellation_searched: bool = False,
) -> Outcome:
    """The claim `invoice` (and its SR, its bookings when known) stands for; see the table above."""
    seen = evidence(invoice, cancellation, bookings)
    if cancellation is not None:
        return Verdict(
            "cancelled",
            Claim(
                "cancelled",
                ZERO,
                cancellation=Cancellation(
                    external_id=cancellation.id, external_invoice_number=cancellation.invoice_number
                ),
            ),
            seen,
        )
    if invoice is None:
        raise ValueError("an invoice or its cancellation is needed")
    if invoice.invoice_type != "RE" or invoice.status not in (OPEN, PARTIALLY_PAID, SETTLED):
        return Unclear(
            "unexpected_status",
            f"sevDesk shows invoice {invoice.id} as type {invoice.invoice_type} in status {invoice.status}.",
        )
    if invoice.sum_gross is None or invoice.sum_gross <= 0 or invoice.paid_amount is None:
        return Unclear("unreadable_invoice", f"sevDesk sent invoice {invoice.id} without its sums.")
    paid, gross = invoice.paid_amount, invoice.sum_gross
    if invoice.status == SETTLED and paid == 0:
        if not cancellation_searched:
            return NeedsCancellation()
        return Unclear(
            "settled_without_payment",
            f"sevDesk shows invoice {invoice.id} settled (1000) with nothing paid and no cancellation "
            "invoice; left as it is.",
        )
    if invoice.status == SETTLED or paid >= gross:
        if bookings is None:
            return NeedsBookings()
        return _settled(invoice, paid, gross, bookings, seen)
    if invoice.status == PARTIALLY_PAID or paid > 0:
        return Verdict("partially_paid", Claim("partially_paid", cents(paid), invoice.pay_date), seen)
    return Verdict("reopened", Claim("open", ZERO), seen)


def _settled(
    invoice: Invoice, paid: Decimal, gross: Decimal, bookings: Bookings, seen: dict[str, Any]
) -> Outcome:
    if bookings.total != paid:
        return Unclear(
            "bookings_do_not_add_up",
            f"sevDesk's bookings on invoice {invoice.id} add up to {bookings.total}, "
            f"its paidAmount is {paid}; left as it is.",
        )
    if bookings.written_off > 0:
        claim = Claim(
            "paid", cents(bookings.money), invoice.pay_date, "written_off", cents(bookings.written_off)
        )
        return Verdict("written_off", claim, seen)
    return Verdict(
        "overpaid" if paid > gross else "paid", Claim("paid", cents(paid), invoice.pay_date, "paid"), seen
    )


def already_settled(record: InvoiceRecord, invoice: Invoice) -> bool:
    """The record shows this settled state already: its bookings need not be read again."""
    return (
        record.claim_status == "paid"
        and invoice.paid_amount is not None
        and record.paid_amount + (record.written_off_amount or ZERO) == invoice.paid_amount
        and record.paid_at == invoice.pay_date
    )


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)
