"""Which bookings settled an invoice: money (bank, cash) or a write-off (an offline account).

Read only for invoices that reached sevDesk's settled state since the last sync. For a few, each
invoice's own booking log is read (one request each). For more, the tenant's booking log is paged
instead (a thousand bookings per request, newest first) until every one of them is accounted for,
i.e. its bookings add up to its paidAmount; whatever is still open after a few pages falls back
to one request each. So a run costs requests per thousand bookings, not per paid invoice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import TYPE_CHECKING

from sevdesk_common.errors import AppError, TimeBudgetExceeded
from sevdesk_common.services.payment_classification import Bookings, Unclear
from sevdesk_common.sevdesk.errors import SevdeskError, SevdeskRateLimited, SevdeskUnauthorized

if TYPE_CHECKING:  # the client (and httpx) load at first use: see clients.client_for
    from sevdesk_common.models.payment_sync import StopReason
    from sevdesk_common.sevdesk.client import SevdeskClient
    from sevdesk_common.sevdesk.models import TransactionLog


# From this many invoices on, the tenant's log is paged first.
BULK_FROM = 3
MONEY_ACCOUNTS = frozenset({"online", "register"})
WRITE_OFF_ACCOUNTS = frozenset({"offline"})


class RunStopped(Exception):
    """The run must end here and go on next time (time, sevDesk's limit, a refused token)."""

    def __init__(self, reason: StopReason, error: Exception | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.error = error


def stop_reason(error: Exception) -> StopReason | None:
    """Failures that stop the whole run rather than one page or one invoice."""
    if isinstance(error, TimeBudgetExceeded):
        return "time"
    if isinstance(error, SevdeskRateLimited):
        return "rate_limit"
    if isinstance(error, SevdeskUnauthorized):
        return "unauthorized"
    return None


def reraise_stop(error: AppError) -> None:
    reason = stop_reason(error)
    if reason is not None:
        raise RunStopped(reason, error) from error


BookingResult = Bookings | Unclear | SevdeskError


class BookingReader:
    """Reads bookings for one run; `check_time` raises RunStopped when the run must end."""

    def __init__(self, client: SevdeskClient, page_size: int, check_time: Callable[[], None]) -> None:
        self._client = client
        self._page_size = page_size
        self._check_time = check_time
        self._account_types: dict[str, str] | None = None

    def read(self, wanted: dict[str, Decimal]) -> dict[str, BookingResult]:
        """sevDesk invoice id -> its bookings, for invoices whose paidAmount is `wanted[id]`."""
        results: dict[str, BookingResult] = {}
        remaining = dict(wanted)
        if len(remaining) >= BULK_FROM:
            for invoice_id, logs in self._from_tenant_log(remaining).items():
                results[invoice_id] = self._sum(invoice_id, logs)
                remaining.pop(invoice_id)
        for invoice_id in remaining:
            self._check_time()
            try:
                logs = self._client.invoice_transaction_logs(invoice_id)
            except (SevdeskError, TimeBudgetExceeded) as error:
                reraise_stop(error)
                assert isinstance(error, SevdeskError)
                results[invoice_id] = error
                continue
            results[invoice_id] = self._sum(invoice_id, logs)
        return results

    def _from_tenant_log(self, wanted: dict[str, Decimal]) -> dict[str, list[TransactionLog]]:
        """Page the whole tenant's bookings until each wanted invoice's add up to its paidAmount."""
        found: dict[str, dict[str, TransactionLog]] = {}
        complete: dict[str, list[TransactionLog]] = {}
        offset = 0
        for _ in range(1 + len(wanted) // 10):
            self._check_time()
            try:
                page = self._client.list_transaction_logs(limit=self._page_size, offset=offset)
            except (SevdeskError, TimeBudgetExceeded) as error:
                reraise_stop(error)
                break  # the rest is read one invoice at a time
            for log in page.items:
                document = log.document
                if document is not None and document.object_name == "Invoice" and document.id in wanted:
                    found.setdefault(document.id, {})[log.id] = log  # by id: a page shift repeats entries
            for invoice_id, logs in found.items():
                if invoice_id not in complete and sum(_amounts(logs.values())) == wanted[invoice_id]:
                    complete[invoice_id] = list(logs.values())
            if len(complete) == len(wanted) or page.fetched < self._page_size:
                break
            offset += page.fetched
        return complete

    def _sum(self, invoice_id: str, logs: list[TransactionLog]) -> BookingResult:
        money = written_off = Decimal(0)
        for log in logs:
            try:
                kind = self._account_type(log)
            except (SevdeskError, TimeBudgetExceeded) as error:
                reraise_stop(error)
                assert isinstance(error, SevdeskError)
                return error
            if kind in MONEY_ACCOUNTS:
                money += log.amount_paid
            elif kind in WRITE_OFF_ACCOUNTS:
                written_off += log.amount_paid
            else:
                return Unclear(
                    "booking_account_unknown",
                    f"Booking {log.id} on invoice {invoice_id} names no check account of a known type "
                    f"({kind or 'none'}); left as it is.",
                )
        return Bookings(money=money, written_off=written_off)

    def _account_type(self, log: TransactionLog) -> str | None:
        transaction = log.check_account_transaction
        account = transaction.check_account if transaction else None
        if account is None:
            return None
        if account.type:
            return account.type
        if self._account_types is None:  # not embedded: the account list says it (one request)
            self._account_types = {a.id: a.type or "" for a in self._client.list_check_accounts()}
        return self._account_types.get(account.id) or None


def _amounts(logs: Iterable[TransactionLog]) -> Iterable[Decimal]:
    return (log.amount_paid for log in logs)
