"""GET /api/sevdesk/kpis/revenue: revenue, expenses and profit of a year, per month, computed from
sevDesk list reads (sevDesk's API has no profit-and-loss report) and cached for five minutes.

Definitions (both bases, net amounts, EUR documents only):
- accrual, by document date: + invoices (RE and the rest, not dunnings MA or recurring templates
  WKR; a cancellation invoice SR counts with its negative sums on its own date, so a cancellation
  subtracts exactly once: the cancelled original still counts where it was dated, even though it
  reads status 1000 like a paid one, NOTES.md §13), - credit notes, + revenue vouchers (D),
  expenses = expense vouchers (C). Drafts never count (invoice and credit note 100, voucher 50).
- cash, by booking date: the tenant's bookings (CheckAccountTransactionLog), each taken net by
  its document's net/gross ratio: money in on invoices and revenue vouchers, money out on
  expense vouchers (expenses) and credit notes (refunds). Bookings on an offline account are
  write-offs: not cash, reported as writtenOff (gross).
"""

from __future__ import annotations

import hashlib
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from sevdesk_common import cache_store
from sevdesk_common.clients import client_for
from sevdesk_common.credentials import require_token
from sevdesk_common.models.invoice import cents
from sevdesk_common.models.kpi import BasisFigures, DocumentCounts, Figures, MonthFigures, RevenueKpis
from sevdesk_common.sevdesk.errors import SevdeskNotFound
from sevdesk_common.sevdesk.payloads import MAX_PAGE, berlin_date

if TYPE_CHECKING:  # the client (and httpx) load at first use: see clients.client_for
    from sevdesk_common.sevdesk.client import SevdeskClient
    from sevdesk_common.sevdesk.models import TransactionLog


KPI_CACHE_SECONDS = 300
NOT_REVENUE_TYPES = frozenset({"MA", "WKR"})  # dunning letters, recurring-invoice templates
DRAFT_INVOICE, DRAFT_VOUCHER = 100, 50
WRITE_OFF_ACCOUNT_TYPE = "offline"
# Bookings are read newest first; once a whole page was created this long before the year, no
# booking of the year can follow (a booking is created at the earliest this long before its date).
BOOKED_AHEAD = timedelta(days=31)
ACCRUAL = (
    "By document date: invoices (cancellation invoices negative, on their own date) minus credit "
    "notes plus revenue vouchers; expenses are expense vouchers; net; drafts excluded."
)
CASH = (
    "By booking date: money received on invoices and revenue vouchers minus refunds on credit "
    "notes; expenses are payments of expense vouchers; each net by its document's net/gross "
    "ratio; write-offs (offline accounts) are not cash and shown apart."
)


def revenue_kpis(year: int) -> RevenueKpis:
    token = require_token()
    name = f"kpis#{hashlib.sha256(token.encode()).hexdigest()[:16]}#{year}"
    cached = cache_store.load(name, marker=cache_store.KPIS_MARKER)
    if cached is not None:
        return _answer(cached.value, cached.fetched_at, cached=True)
    started = round(time.time(), 3)  # as the cache keeps it
    value = Computation(client_for(token), year).run()
    cache_store.store(name, value, fetched_at=started, ttl_seconds=KPI_CACHE_SECONDS)
    return _answer(value, started, cached=False)


def _answer(value: dict[str, object], computed_at: float, *, cached: bool) -> RevenueKpis:
    return RevenueKpis.model_validate(
        {
            **value,
            "computedAt": datetime.fromtimestamp(computed_at, UTC),
            "ageSeconds": max(0, int(time.time() - computed_at)),
            "cached": cached,
        }
    )


@dataclass
class _Book:
    """Net revenue, net expenses and written-off amounts per month of one basis."""

    revenue: dict[int, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    expenses: dict[int, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    written_off: dict[int, Decimal] = field(default_factory=lambda: defaultdict(Decimal))

    def figures(self, basis: str, definition: str) -> BasisFigures:
        months = [
            MonthFigures(
                month=m,
                revenue=cents(self.revenue[m]),
                expenses=cents(self.expenses[m]),
                profit=cents(self.revenue[m] - self.expenses[m]),
                written_off=cents(self.written_off[m]),
            )
            for m in range(1, 13)
        ]
        revenue = sum((m.revenue for m in months), Decimal(0))
        expenses = sum((m.expenses for m in months), Decimal(0))
        written_off = sum((m.written_off for m in months), Decimal(0))
        total = Figures(
            revenue=revenue, expenses=expenses, profit=revenue - expenses, written_off=written_off
        )
        return BasisFigures.model_validate(
            {"basis": basis, "definition": definition, "months": months, "total": total}
        )


@dataclass(frozen=True)
class _Document:
    kind: str  # Invoice | CreditNote | Voucher
    net: Decimal
    gross: Decimal
    credit_debit: str | None = None  # vouchers: C expense, D revenue

    def net_of(self, paid: Decimal) -> Decimal:
        """The net part of a payment on this document (its tax rates' mix)."""
        return cents(paid * self.net / self.gross) if self.gross else paid


class Computation:
    """One year's figures, from list reads; `requests` counts what it asked sevDesk."""

    def __init__(self, client: SevdeskClient, year: int) -> None:
        self.client = client
        self.year = year
        self.first, self.last = date(year, 1, 1), date(year, 12, 31)
        self.requests = 0
        self.accrual = _Book()
        self.cash = _Book()
        self.documents: dict[tuple[str, str], _Document | None] = {}
        self.counts = DocumentCounts()

    def run(self) -> dict[str, object]:
        self.client.reserve(5)  # the first page of each list and the accounts, in one budget take
        self._invoices()
        self._credit_notes()
        self._vouchers()
        self._bookings()
        return {
            "year": self.year,
            "accrual": self.accrual.figures("accrual", ACCRUAL).model_dump(mode="json", by_alias=True),
            "cash": self.cash.figures("cash", CASH).model_dump(mode="json", by_alias=True),
            "sevdeskRequests": self.requests,
            "counted": self.counts.model_dump(mode="json", by_alias=True),
        }

    # -- accrual ------------------------------------------------------------------------------
    def _invoices(self) -> None:
        offset = 0
        while True:
            self.requests += 1
            page = self.client.list_invoices(start=self.first, end=self.last, limit=MAX_PAGE, offset=offset)
            for invoice in page.items:
                if invoice.invoice_type in NOT_REVENUE_TYPES or invoice.invoice_date is None:
                    continue
                if not self._countable(invoice.status == DRAFT_INVOICE, invoice.currency):
                    continue
                net, gross = invoice.sum_net or Decimal(0), invoice.sum_gross or Decimal(0)
                self.documents[("Invoice", invoice.id)] = _Document("Invoice", net, gross)
                self.accrual.revenue[berlin_date(invoice.invoice_date).month] += net
                self.counts.invoices += 1
            if page.fetched < MAX_PAGE:
                return
            offset += page.fetched

    def _credit_notes(self) -> None:
        offset = 0
        while True:
            self.requests += 1
            page = self.client.credit_note_page(
                start=self.first, end=self.last, limit=MAX_PAGE, offset=offset
            )
            for note in page.items:
                if note.credit_note_date is None or not self._countable(
                    note.status == DRAFT_INVOICE, note.currency
                ):
                    continue
                net, gross = note.sum_net or Decimal(0), note.sum_gross or Decimal(0)
                self.documents[("CreditNote", note.id)] = _Document("CreditNote", net, gross)
                self.accrual.revenue[berlin_date(note.credit_note_date).month] -= net
                self.counts.credit_notes += 1
            if page.fetched < MAX_PAGE:
                return
            offset += page.fetched

    def _vouchers(self) -> None:
        offset = 0
        while True:
            self.requests += 1
            page = self.client.voucher_page(start=self.first, end=self.last, limit=MAX_PAGE, offset=offset)
            for voucher in page.items:
                if voucher.voucher_date is None:
                    continue
                if not self._countable(voucher.status == DRAFT_VOUCHER, voucher.currency):
                    continue
                net, gross = voucher.sum_net or Decimal(0), voucher.sum_gross or Decimal(0)
                self.documents[("Voucher", voucher.id)] = _Document(
                    "Voucher", net, gross, voucher.credit_debit
                )
                month = berlin_date(voucher.voucher_date).month
                if voucher.credit_debit == "D":
                    self.accrual.revenue[month] += net
                else:
                    self.accrual.expenses[month] += net
                self.counts.vouchers += 1
            if page.fetched < MAX_PAGE:
                return
            offset += page.fetched

    def _countable(self, draft: bool, currency: str | None) -> bool:
        if draft:
            self.counts.skipped_drafts += 1
            return False
        if currency not in (None, "EUR"):
            self.counts.skipped_other_currency += 1
            return False
        return True

    # -- cash ---------------------------------------------------------------------------------
    def _bookings(self) -> None:
        self.requests += 1
        account_types = {account.id: account.type for account in self.client.list_check_accounts()}
        cutoff = datetime(self.year, 1, 1, tzinfo=UTC) - BOOKED_AHEAD
        offset, previous_id, newest_first = 0, None, True
        while True:
            self.requests += 1
            page = self.client.list_transaction_logs(limit=MAX_PAGE, offset=offset)
            for entry in page.items:
                number = int(entry.id) if entry.id.isdigit() else None
                if number is None or (previous_id is not None and number >= previous_id):
                    newest_first = False  # the order is not what the early stop relies on
                previous_id = number
                self._booking(entry, account_types)
            if page.fetched < MAX_PAGE:
                return
            if newest_first and all(e.create is not None and e.create < cutoff for e in page.items):
                return
            offset += page.fetched

    def _booking(self, entry: TransactionLog, account_types: dict[str, str | None]) -> None:
        paid = entry.amount_paid
        if entry.booking_date is None or entry.document is None:
            return
        day = berlin_date(entry.booking_date)
        if day.year != self.year:
            return
        transaction = entry.check_account_transaction
        account = transaction.check_account if transaction is not None else None
        kind = entry.document.object_name
        if account is not None and account_types.get(account.id) == WRITE_OFF_ACCOUNT_TYPE:
            if kind == "Invoice":
                self.cash.written_off[day.month] += paid
            return
        document = self._document(kind, entry.document.id)
        if document is None:
            return
        self.counts.bookings += 1
        net = document.net_of(paid)
        if kind == "Voucher" and document.credit_debit != "D":
            self.cash.expenses[day.month] -= net  # paid out: amountPaid is negative
        else:
            self.cash.revenue[day.month] += net  # money in, or (negative) a refund

    def _document(self, kind: str, document_id: str) -> _Document | None:
        """A booked document; those dated in another year are read one by one (few: payments
        across the turn of the year)."""
        key = (kind, document_id)
        if key in self.documents:
            return self.documents[key]
        found: _Document | None = None
        self.requests += 1
        try:
            if kind == "Invoice":
                invoice = self.client.get_invoice(document_id)
                if invoice.currency in (None, "EUR") and invoice.invoice_type not in NOT_REVENUE_TYPES:
                    found = _Document(kind, invoice.sum_net or Decimal(0), invoice.sum_gross or Decimal(0))
            elif kind == "CreditNote":
                note = self.client.get_credit_note(document_id)
                if note.currency in (None, "EUR"):
                    found = _Document(kind, note.sum_net or Decimal(0), note.sum_gross or Decimal(0))
            elif kind == "Voucher":
                voucher = self.client.get_voucher(document_id)
                if voucher.currency in (None, "EUR"):
                    found = _Document(
                        kind,
                        voucher.sum_net or Decimal(0),
                        voucher.sum_gross or Decimal(0),
                        voucher.credit_debit,
                    )
        except SevdeskNotFound:
            found = None  # deleted since: its booking cannot be attributed
        self.documents[key] = found
        return found
