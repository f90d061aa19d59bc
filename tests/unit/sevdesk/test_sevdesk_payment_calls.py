"""The calls payment sync makes: a list page read entry by entry, booking logs in the shape
NOTES.md section 13 measured (amountPaid a signed JSON number, the account embedded), and the
count of requests that reached sevDesk."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.unit.sevdesk.sevdesk_helpers import error, objects


def _invoice(id_: str, **fields: Any) -> dict[str, Any]:
    return {"id": id_, "objectName": "Invoice", "invoiceType": "RE", "status": "200", **fields}


def _log(id_: str, invoice_id: str, amount: float, account_type: str | None) -> dict[str, Any]:
    account: dict[str, Any] = {"id": "6300001", "objectName": "CheckAccount"}
    if account_type:
        account |= {"type": account_type, "name": "Konto"}
    return {
        "id": id_,
        "objectName": "CheckAccountTransactionLog",
        "create": "2026-10-02T10:00:00+02:00",
        "checkAccountTransaction": {
            "id": "7",
            "objectName": "CheckAccountTransaction",
            "checkAccount": account,
        },
        "fromStatus": "100",
        "toStatus": "400",
        "amountPaid": amount,
        "bookingDate": "2026-10-02T00:00:00+02:00",
        "object": {"id": invoice_id, "objectName": "Invoice"},
    }


def test_a_tolerant_page_keeps_the_entries_that_parse(make_client) -> None:
    page = [
        _invoice("1", paidAmount=0, sumGross="10"),
        _invoice("2", status="not a status", customerInternalNote="R1-INVOICE:X"),
        _invoice("3", paidAmount=5, sumGross="10"),
    ]
    client, seen = make_client(lambda _: objects(page))

    read = client.list_invoices(status=200, limit=3, tolerant=True)

    assert [i.id for i in read.items] == ["1", "3"]
    assert read.fetched == 3  # paging goes by what the server sent
    [bad] = read.unreadable
    assert (bad.id, bad.customer_internal_note) == ("2", "R1-INVOICE:X") and "status" in bad.error
    assert seen[0].url.params["status"] == "200" and seen[0].url.params["limit"] == "3"


def test_booking_logs_of_an_invoice_with_their_account(make_client) -> None:
    client, seen = make_client(
        lambda _: objects([_log("1", "9", 10.5, "online"), _log("2", "9", -0.5, "offline")])
    )

    logs = client.invoice_transaction_logs("9")

    assert [(log.amount_paid, log.check_account_transaction.check_account.type) for log in logs] == [  # type: ignore[union-attr]
        (Decimal("10.5"), "online"),
        (Decimal("-0.5"), "offline"),
    ]
    assert logs[0].document is not None and logs[0].document.id == "9"
    assert seen[0].url.path.endswith("/Invoice/9/getCheckAccountTransactionLogs")
    assert seen[0].url.params["embed"] == "checkAccountTransaction,checkAccountTransaction.checkAccount"


def test_the_tenant_booking_log_is_paged(make_client) -> None:
    client, seen = make_client(lambda _: objects([_log("1", "9", 1, None), {"id": "2", "amountPaid": "x"}]))

    page = client.list_transaction_logs(limit=2, offset=4)

    assert [log.id for log in page.items] == ["1"] and page.fetched == 2
    assert (seen[0].url.params["limit"], seen[0].url.params["offset"]) == ("2", "4")


def test_requests_sent_counts_what_reached_sevdesk_retries_included(make_client, sleeps) -> None:
    answers = iter([error(500, "boom", None), objects([])])
    client, seen = make_client(lambda _: next(answers))
    before = client.requests_sent

    client.list_check_accounts()

    assert client.requests_sent - before == len(seen) == 2


def test_requests_sent_does_not_count_a_request_the_time_budget_kept_back(make_client) -> None:
    from sevdesk_common import deadline
    from sevdesk_common.errors import TimeBudgetExceeded

    client, seen = make_client(lambda _: httpx.Response(200, json={"objects": []}))
    deadline.start(0.5)
    try:
        with pytest.raises(TimeBudgetExceeded):
            client.list_check_accounts()
    finally:
        deadline.clear()
    assert client.requests_sent == 0 and not seen
