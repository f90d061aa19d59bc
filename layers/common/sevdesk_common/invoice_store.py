"""Billing invoices and their append-only event log in DynamoDB: persistence only.

Every change of an invoice is a whole-item write conditioned on the version read, and lands in
one transaction with the event that describes it (and any other item the change moves, such as
a contact link): the log never disagrees with the state, and a lost race changes nothing (the
caller reads again and decides again).
"""

from __future__ import annotations

import base64
import heapq
import itertools
import json
import re
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from botocore.exceptions import ClientError

from sevdesk_common.models.invoice import CompanyRecipient, EventPage, InvoiceEvent
from sevdesk_common.models.record import InvoiceRecord
from sevdesk_common.repository import (
    CONFIG_KEY,
    StaleItem,
    TransactItem,
    get_table,
    is_condition_failure,
    plain,
    put_conditionally,
    to_dynamo,
    transact,
)

PAYMENT_SYNC_PARTITION = "PAYSYNC#sevdesk"

# The list index (GET /api/billing/invoices): every invoice sits in one of a few partitions by
# its state (`list_bucket`), sorted by invoice date, then hand-over time, then id. A filter reads
# only the partitions its values can be in; docs/ARCHITECTURE.md says why this shape.
LIST_INDEX = "invoiceList"
LIST_PARTITION_KEY = "listPk"
LIST_SORT_KEY = "listSk"
LIST_PARTITION_PREFIX = "INVOICES#"
# Copied to the top level for the list index's projection (the record keeps them nested).
_LIST_ATTRIBUTES = frozenset({"invoiceDate", "recipientName"})
_KEY_ATTRIBUTES = frozenset(
    {"pk", "sk", "gsi1pk", "gsi1sk", LIST_PARTITION_KEY, LIST_SORT_KEY} | _LIST_ATTRIBUTES
)


class StaleInvoice(StaleItem):
    """The invoice changed since it was read (or already exists)."""


class InvalidCursor(ValueError):
    """A paging cursor this store did not hand out."""


@dataclass(frozen=True)
class Event:
    """An entry for the invoice's log, written with the change it describes."""

    type: str
    actor: str
    details: dict[str, Any] = field(default_factory=dict)


def key(invoice_id: str) -> dict[str, str]:
    return {"pk": f"INVOICE#{invoice_id}", "sk": "INVOICE"}


def _item(record: InvoiceRecord) -> dict[str, Any]:
    item: dict[str, Any] = to_dynamo(record.model_dump(mode="python", by_alias=True))
    item.update(key(record.invoice_id))
    if record.is_payment_sync_candidate:
        # Sparse index: only open, published invoices are there for payment sync to read.
        item["gsi1pk"] = PAYMENT_SYNC_PARTITION
        item["gsi1sk"] = f"{record.external_id}#{record.invoice_id}"
    item.update(_list_keys(record))
    return item


def _list_keys(record: InvoiceRecord) -> dict[str, str]:
    """The list index's keys and the two nested values its projection shows."""
    handover = record.invoice
    recipient = handover.company or handover.contact
    if isinstance(recipient, CompanyRecipient):
        name = recipient.name
    elif recipient is not None:
        name = f"{recipient.first_name} {recipient.last_name}"
    else:
        name = f"R1 contact {handover.contact_id}"
    bucket = list_bucket(record.accounting_sync_status, record.claim_status, record.document_status)
    return {
        "invoiceDate": handover.invoice_date.isoformat(),
        "recipientName": name,
        LIST_PARTITION_KEY: LIST_PARTITION_PREFIX + bucket,
        LIST_SORT_KEY: list_sort_key(handover.invoice_date, record.created_at, record.invoice_id),
    }


def list_bucket(sync_status: str, claim_status: str, document_status: str) -> str:
    """The list partition of an invoice in this state. Small partitions for what needs a look
    (not cleanly in sevDesk, not published, cancelled, unpaid), one big one for the paid rest,
    so that the common filters read few invoices they then drop."""
    if sync_status != "synced":
        return "attention"
    if document_status in ("handed_over", "draft"):
        return "unpublished"
    if document_status == "cancelled" or claim_status == "cancelled":
        return "cancelled"
    if claim_status == "paid":
        return "paid"
    return "unpaid"


def list_sort_key(invoice_date: date, created_at: datetime, invoice_id: str) -> str:
    """Newest first is descending order of this: invoice date, then when it was handed over."""
    return f"{invoice_date.isoformat()}#{created_at.astimezone(UTC).isoformat()}#{invoice_id}"


def _event_item(invoice_id: str, event: Event) -> dict[str, Any]:
    at = datetime.now(UTC)
    event_id = uuid.uuid4().hex
    return {
        "pk": f"INVOICE#{invoice_id}",
        "sk": f"EVENT#{at.isoformat()}#{event_id[:8]}",
        "eventId": event_id,
        "invoiceId": invoice_id,
        "type": event.type,
        "at": at.isoformat(),
        "actor": event.actor,
        "details": to_dynamo(event.details),
    }


def _record(item: dict[str, Any]) -> InvoiceRecord:
    return InvoiceRecord.model_validate({k: v for k, v in item.items() if k not in _KEY_ATTRIBUTES})


def _put(item: dict[str, Any], condition: str, values: dict[str, Any] | None = None) -> TransactItem:
    put: dict[str, Any] = {"TableName": get_table().name, "Item": item, "ConditionExpression": condition}
    if values:
        put["ExpressionAttributeValues"] = values
    return {"Put": put}


def _write(items: Sequence[TransactItem]) -> None:
    """One item alone is a conditional PutItem; more go together in one transaction."""
    try:
        if len(items) == 1 and "Put" in items[0]:
            put_conditionally(items[0])
        else:
            transact(list(items))
    except StaleItem as error:
        raise StaleInvoice() from error
    except ClientError as error:
        if is_condition_failure(error):
            raise StaleInvoice() from error
        raise


def load(invoice_id: str) -> InvoiceRecord | None:
    item = get_table().get_item(Key=key(invoice_id), ConsistentRead=True).get("Item")
    return _record(item) if item else None


def load_with_config(
    invoice_id: str, *, also: Sequence[dict[str, str]] = ()
) -> tuple[InvoiceRecord | None, dict[str, Any] | None, dict[str, dict[str, Any]]]:
    """The invoice, the settings and the items keyed `also` (by pk), in one round trip, all
    strongly consistent."""
    table = get_table()
    keys = [key(invoice_id), CONFIG_KEY, *also]
    answer = table.meta.client.batch_get_item(
        RequestItems={table.name: {"Keys": keys, "ConsistentRead": True}}
    )
    found = {item["pk"]: item for item in answer.get("Responses", {}).get(table.name, [])}
    if answer.get("UnprocessedKeys"):  # throttled: read the rest one by one
        for missing in answer["UnprocessedKeys"][table.name]["Keys"]:
            item = table.get_item(Key=missing, ConsistentRead=True).get("Item")
            if item:
                found[item["pk"]] = item
    invoice = found.get(key(invoice_id)["pk"])
    config = found.get(CONFIG_KEY["pk"])
    return (
        _record(invoice) if invoice else None,
        {k: plain(v) for k, v in config.items() if k not in {"pk", "sk"}} if config else None,
        {k["pk"]: found[k["pk"]] for k in also if k["pk"] in found},
    )


def insert(record: InvoiceRecord, event: Event) -> None:
    """Store a new invoice with its first event; StaleInvoice if it already exists."""
    _write(
        [
            _put(_item(record), "attribute_not_exists(pk)"),
            _put(_event_item(record.invoice_id, event), "attribute_not_exists(sk)"),
        ]
    )


def save(
    record: InvoiceRecord, *, events: Sequence[Event] = (), also: Sequence[TransactItem] = ()
) -> InvoiceRecord:
    """Write `record` if the stored version is still `record.version`, with its events and the
    other items the change moves, all or nothing. Returns it with the new version;
    StaleInvoice when someone else changed it first."""
    updated = record.model_copy(update={"version": record.version + 1, "updated_at": datetime.now(UTC)})
    items = [_put(_item(updated), "version = :expected", {":expected": record.version}), *also]
    items += [_put(_event_item(record.invoice_id, event), "attribute_not_exists(sk)") for event in events]
    _write(items)
    return updated


def append_event(invoice_id: str, event: Event) -> None:
    """An event with no state change (e.g. a PDF download)."""
    get_table().put_item(Item=_event_item(invoice_id, event), ConditionExpression="attribute_not_exists(sk)")


def list_events(invoice_id: str, *, limit: int = 50, cursor: str | None = None) -> EventPage:
    query: dict[str, Any] = {
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
        "ExpressionAttributeValues": {":pk": f"INVOICE#{invoice_id}", ":prefix": "EVENT#"},
        "ScanIndexForward": False,  # newest first
        "Limit": limit,
    }
    if cursor:
        query["ExclusiveStartKey"] = {"pk": f"INVOICE#{invoice_id}", "sk": _decode_cursor(cursor)}
    page = get_table().query(**query)
    events = [InvoiceEvent.model_validate(plain(item)) for item in page.get("Items", [])]
    last = page.get("LastEvaluatedKey")
    return EventPage(events=events, next_cursor=_encode_cursor(last["sk"]) if last else None)


def _encode_cursor(sort_key: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"sk": sort_key}).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        sort_key = json.loads(base64.urlsafe_b64decode(padded))["sk"]
    except (ValueError, KeyError, TypeError) as error:
        raise InvalidCursor(cursor) from error
    if not isinstance(sort_key, str) or not sort_key.startswith("EVENT#"):
        raise InvalidCursor(cursor)
    return sort_key


def query_payment_sync_candidates(*, page_size: int = 500) -> list[InvoiceRecord]:
    """Open published invoices, from the sparse index (no Scan)."""
    records: list[InvoiceRecord] = []
    query: dict[str, Any] = {
        "IndexName": "gsi1",
        "KeyConditionExpression": "gsi1pk = :pk",
        "ExpressionAttributeValues": {":pk": PAYMENT_SYNC_PARTITION},
        "Limit": page_size,
    }
    while True:
        page = get_table().query(**query)
        records.extend(_record(item) for item in page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return records
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


# ---------------------------------------------------------------- the invoice list


@dataclass(frozen=True)
class ListQuery:
    """The list partitions to read, the date range (a key condition) and the wanted statuses
    (attribute -> value, a FilterExpression)."""

    partitions: tuple[str, ...]
    date_from: date | None = None
    date_to: date | None = None
    filters: tuple[tuple[str, str], ...] = ()


_SORT_KEY_SHAPE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}#[0-9T:.+-]+#[A-Za-z0-9._-]{1,64}$")


def list_invoices(
    query: ListQuery, *, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """Up to `limit` invoices (as the list index projects them), newest first, and the cursor of
    the next page (None at the end). The partitions are read side by side and merged by sort key,
    each only as far as the page needs. InvalidCursor for a cursor this function did not make."""
    below = _decode_list_cursor(cursor) if cursor else None
    streams = [_partition_stream(partition, query, below, limit) for partition in query.partitions]
    merged = heapq.merge(*streams, key=lambda item: str(item[LIST_SORT_KEY]), reverse=True)
    page = list(itertools.islice(merged, limit + 1))
    more = len(page) > limit
    page = page[:limit]
    next_cursor = _encode_list_cursor(str(page[-1][LIST_SORT_KEY])) if more else None
    return [plain(item) for item in page], next_cursor


def _partition_stream(
    partition: str, query: ListQuery, below: str | None, limit: int
) -> Iterator[dict[str, Any]]:
    """One partition's matching items, newest first, strictly below the cursor's sort key."""
    names = {"#pk": LIST_PARTITION_KEY}
    values: dict[str, Any] = {":pk": LIST_PARTITION_PREFIX + partition}
    low = query.date_from.isoformat() if query.date_from else None
    high = f"{query.date_to.isoformat()}#~" if query.date_to else None  # '~' sorts after the rest
    if below is not None and (high is None or below < high):
        high = below  # inclusive in the key condition; the cursor's own item is skipped below
    if low and high and high < low:
        return  # the cursor lies before the range: nothing left
    condition = "#pk = :pk"
    if low or high:
        names["#sk"] = LIST_SORT_KEY
    if low and high:
        condition += " AND #sk BETWEEN :low AND :high"
        values.update({":low": low, ":high": high})
    elif low:
        condition += " AND #sk >= :low"
        values[":low"] = low
    elif high:
        condition += " AND #sk <= :high"
        values[":high"] = high
    request: dict[str, Any] = {
        "IndexName": LIST_INDEX,
        "KeyConditionExpression": condition,
        "ScanIndexForward": False,  # newest first
        # One more than a page tells whether there is a next one; with a filter (applied after
        # the read) read more per call.
        "Limit": limit + 2 if not query.filters else max(limit + 2, 100),
    }
    if query.filters:
        clauses = []
        for number, (attribute, value) in enumerate(query.filters):
            names[f"#f{number}"] = attribute
            values[f":f{number}"] = value
            clauses.append(f"#f{number} = :f{number}")
        request["FilterExpression"] = " AND ".join(clauses)
    request["ExpressionAttributeNames"] = names
    request["ExpressionAttributeValues"] = values
    while True:
        page = get_table().query(**request)
        for item in page.get("Items", []):
            if item[LIST_SORT_KEY] != below:
                yield item
        if "LastEvaluatedKey" not in page:
            return
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _encode_list_cursor(sort_key: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"below": sort_key}).encode()).decode().rstrip("=")


def _decode_list_cursor(cursor: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        sort_key = json.loads(base64.urlsafe_b64decode(padded))["below"]
    except (ValueError, KeyError, TypeError) as error:
        raise InvalidCursor(cursor) from error
    if not isinstance(sort_key, str) or not _SORT_KEY_SHAPE.fullmatch(sort_key):
        raise InvalidCursor(cursor)
    return sort_key
