"""GET /api/billing/invoices through its Lambda: newest first, paged, filtered by status and
invoice date, from the list index (a Query on the partitions a filter can match, never a Scan)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import botocore.client
import pytest

from tests.support.invoke import EXTERNAL, STAFF, ApiResult, invoke, load_event

pytestmark = pytest.mark.usefixtures("aws")

# id -> (invoice date, state after the hand-over)
INVOICES: dict[str, tuple[str, dict[str, str]]] = {
    "R1-JAN": (
        "2026-01-15",
        {"accounting_sync_status": "synced", "document_status": "sent", "claim_status": "paid"},
    ),
    "R1-FEB": ("2026-02-10", {"accounting_sync_status": "failed"}),
    "R1-MAR": ("2026-03-05", {"accounting_sync_status": "synced", "document_status": "finalized"}),
    "R1-APR": (
        "2026-04-20",
        {"accounting_sync_status": "synced", "document_status": "cancelled", "claim_status": "cancelled"},
    ),
    "R1-MAY": ("2026-05-02", {}),  # handed over only: pending
    "R1-JUN": (
        "2026-06-30",
        {"accounting_sync_status": "synced", "document_status": "sent", "claim_status": "partially_paid"},
    ),
    "R1-DEC-25": ("2025-12-31", {"accounting_sync_status": "synced", "document_status": "finalized"}),
}


def body(invoice_date: str) -> dict[str, Any]:
    handover = json.loads(load_event("billing_invoice_put")["body"])
    handover["invoiceDate"] = handover["deliveryDate"] = invoice_date
    return handover


@pytest.fixture
def invoices(aws: Any) -> None:
    from sevdesk_common import invoice_store

    for invoice_id, (invoice_date, state) in INVOICES.items():
        put = invoke(
            "billing_invoice_put",
            claims=STAFF,
            body=body(invoice_date),
            path_parameters={"invoiceId": invoice_id},
        )
        assert put.status == 201, put.body
        if state:
            record = invoice_store.load(invoice_id)
            assert record is not None
            extra = {"external_id": f"9{len(invoice_id)}", "external_invoice_number": f"RE-{invoice_id}"}
            invoice_store.save(
                record.changed(**state, **(extra if state.get("accounting_sync_status") == "synced" else {}))
            )


def listing(claims: dict[str, str] = STAFF, **query: str) -> ApiResult:
    return invoke("billing_invoice_list", claims=claims, query=query or {})


def ids(result: ApiResult) -> list[str]:
    assert result.status == 200, result.body
    return [row["invoiceId"] for row in result.body["invoices"]]


@contextmanager
def dynamodb_calls() -> Iterator[list[tuple[str, dict[str, Any]]]]:
    calls: list[tuple[str, dict[str, Any]]] = []
    real = botocore.client.BaseClient._make_api_call

    def recording(client: Any, operation: str, params: Any) -> Any:
        if client.meta.service_model.service_name == "dynamodb":
            calls.append((operation, params))
        return real(client, operation, params)

    botocore.client.BaseClient._make_api_call = recording  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        botocore.client.BaseClient._make_api_call = real  # type: ignore[method-assign]


@pytest.mark.usefixtures("invoices")
def test_all_invoices_newest_first_by_invoice_date() -> None:
    result = listing()

    assert ids(result) == ["R1-JUN", "R1-MAY", "R1-APR", "R1-MAR", "R1-FEB", "R1-JAN", "R1-DEC-25"]
    assert result.body["nextCursor"] is None
    first = result.body["invoices"][0]
    assert first["invoiceDate"] == "2026-06-30"
    assert first["recipientName"] == "Musterbau GmbH"
    assert first["grossAmount"] == "65.45"
    assert first["claimStatus"] == "partially_paid"
    assert first["externalInvoiceNumber"] == "RE-R1-JUN"


@pytest.mark.usefixtures("invoices")
def test_pages_follow_each_other_without_gaps_or_repeats() -> None:
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        result = listing(**query)
        seen += ids(result)
        pages += 1
        cursor = result.body["nextCursor"]
        if cursor is None:
            break
        assert len(result.body["invoices"]) == 2

    assert seen == ["R1-JUN", "R1-MAY", "R1-APR", "R1-MAR", "R1-FEB", "R1-JAN", "R1-DEC-25"]
    assert pages == 4


@pytest.mark.usefixtures("invoices")
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"accountingSyncStatus": "failed"}, ["R1-FEB"]),
        ({"accountingSyncStatus": "pending"}, ["R1-MAY"]),
        ({"accountingSyncStatus": "synced"}, ["R1-JUN", "R1-APR", "R1-MAR", "R1-JAN", "R1-DEC-25"]),
        ({"claimStatus": "open"}, ["R1-MAY", "R1-MAR", "R1-FEB", "R1-DEC-25"]),
        ({"claimStatus": "paid"}, ["R1-JAN"]),
        ({"claimStatus": "cancelled"}, ["R1-APR"]),
        ({"documentStatus": "cancelled"}, ["R1-APR"]),
        ({"documentStatus": "sent"}, ["R1-JUN", "R1-JAN"]),
        ({"claimStatus": "open", "documentStatus": "finalized"}, ["R1-MAR", "R1-DEC-25"]),
        ({"invoiceDateFrom": "2026-02-01", "invoiceDateTo": "2026-04-30"}, ["R1-APR", "R1-MAR", "R1-FEB"]),
        ({"invoiceDateTo": "2025-12-31"}, ["R1-DEC-25"]),
        ({"claimStatus": "open", "invoiceDateFrom": "2026-01-01"}, ["R1-MAY", "R1-MAR", "R1-FEB"]),
        ({"accountingSyncStatus": "outcome_unknown"}, []),
    ],
)
def test_filters_return_exactly_the_matching_invoices(query: dict[str, str], expected: list[str]) -> None:
    assert ids(listing(**query)) == expected


@pytest.mark.usefixtures("invoices")
def test_a_failed_publish_is_found_in_its_small_partition_without_reading_the_rest() -> None:
    with dynamodb_calls() as calls:
        assert ids(listing(accountingSyncStatus="failed")) == ["R1-FEB"]

    queries = [params for operation, params in calls if operation == "Query"]
    assert [q["IndexName"] for q in queries] == ["invoiceList"]
    assert queries[0]["ExpressionAttributeValues"][":pk"] == "INVOICES#attention"
    assert not any(operation == "Scan" for operation, _ in calls)


@pytest.mark.usefixtures("invoices")
def test_waiting_for_payment_never_reads_the_paid_partition() -> None:
    with dynamodb_calls() as calls:
        listing(claimStatus="open")

    partitions = {p["ExpressionAttributeValues"][":pk"] for o, p in calls if o == "Query"}
    assert "INVOICES#paid" not in partitions
    assert all(o in ("Query", "UpdateItem") for o, _ in calls)  # the per-user limiter, then the index


@pytest.mark.usefixtures("invoices")
def test_the_index_follows_every_state_change_at_once() -> None:
    from sevdesk_common import invoice_store

    record = invoice_store.load("R1-FEB")
    assert record is not None
    invoice_store.save(
        record.changed(
            accounting_sync_status="synced",
            document_status="finalized",
            external_id="1",
            external_invoice_number="RE-9",
        )
    )

    assert ids(listing(accountingSyncStatus="failed")) == []
    assert "R1-FEB" in ids(listing(documentStatus="finalized"))


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"claimStatus": "overdue"}, "claimStatus"),
        ({"invoiceDateFrom": "30.11.2026"}, "invoiceDateFrom"),
        ({"invoiceDateFrom": "2026-05-01", "invoiceDateTo": "2026-04-01"}, "invoiceDateFrom"),
        ({"limit": "0"}, "limit"),
        ({"limit": "201"}, "limit"),
        ({"cursor": "bm90LWEtY3Vyc29y"}, "cursor"),
        ({"cursor": "%%%"}, "cursor"),
    ],
)
def test_bad_queries_are_400_naming_the_field(query: dict[str, str], field: str) -> None:
    result = listing(**query)

    assert result.status == 400, result.body
    assert result.body["error"]["code"] == "validation_error"
    assert field in {d["field"] for d in result.body["error"]["details"]}


def test_only_internal_staff_may_list() -> None:
    assert listing(claims=EXTERNAL).status == 403


def test_the_fixture_answers() -> None:
    result = invoke("billing_invoice_list")
    assert result.status == 200, result.body
    assert result.body == {"invoices": [], "nextCursor": None}


def test_the_list_sort_key_orders_by_date_then_hand_over() -> None:
    from datetime import UTC, datetime

    from sevdesk_common.invoice_store import list_sort_key

    early = list_sort_key(date(2026, 1, 2), datetime(2026, 3, 1, tzinfo=UTC), "B")
    late = list_sort_key(date(2026, 1, 2), datetime(2026, 3, 2, tzinfo=UTC), "A")
    later_day = list_sort_key(date(2026, 1, 3), datetime(2025, 1, 1, tzinfo=UTC), "A")
    assert early < late < later_day
