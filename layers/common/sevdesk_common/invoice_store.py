"""Billing invoices and their append-only event log in DynamoDB: persistence only.

Every change of an invoice is a whole-item write conditioned on the version read, and lands in
one transaction with the event that describes it (and any other item the change moves, such as
a contact link): the log never disagrees with the state, and a lost race changes nothing (the
caller reads again and decides again).

The log is a hash chain per invoice (models/event_chain.py). Its head (last seq and hash) lives
in the invoice item, so every write that adds events moves the head in the same transaction and
is also conditioned on it. An event without a state change (`append_event`) moves only the head,
not the version: an action holding the invoice meanwhile then rebases its next write onto the new
head (one extra read, only in that race) instead of failing. Event keys are `EVENT#<seq>`, so
two writers can never both add event n: the chain cannot fork.
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

from sevdesk_common.models.event_chain import GENESIS, event_hash
from sevdesk_common.models.invoice import CompanyRecipient
from sevdesk_common.models.record import InvoiceRecord, InvoiceSummary
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
# Every invoice, in hand-over order: what the drift report and the chain check page through.
INVOICE_LIST_PARTITION = "INVOICES"
# Keys, index keys and the summary: derived from the record, not fields of it.
_KEY_ATTRIBUTES = frozenset(
    {"pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "summary", LIST_PARTITION_KEY, LIST_SORT_KEY}
    | _LIST_ATTRIBUTES
)
# Appends racing a writer: read again and retry this often before giving up.
_HEAD_RACES = 5


class StaleInvoice(StaleItem):
    """The invoice changed since it was read (or already exists)."""


class InvalidCursor(ValueError):
    """A paging cursor this store did not hand out."""


class UnknownInvoice(LookupError):
    """No invoice with this id is stored."""


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
    item["gsi2pk"] = INVOICE_LIST_PARTITION
    item["gsi2sk"] = f"{to_dynamo(record.created_at)}#{record.invoice_id}"
    # For the checks over every invoice: read through a projection of this one map (InvoiceSummary).
    item["summary"] = to_dynamo(record.summary().model_dump(mode="python", by_alias=True))
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


def _event_key(invoice_id: str, seq: int) -> dict[str, str]:
    return {"pk": f"INVOICE#{invoice_id}", "sk": f"EVENT#{seq:010d}"}


def _chained(record: InvoiceRecord, events: Sequence[Event]) -> tuple[list[dict[str, Any]], InvoiceRecord]:
    """`events` as items chained onto the record's head, and the record with the new head."""
    seq, head = record.event_seq, record.event_head or GENESIS
    items = []
    for event in events:
        seq += 1
        item: dict[str, Any] = {
            "invoiceId": record.invoice_id,
            "seq": seq,
            "eventId": uuid.uuid4().hex,
            "type": event.type,
            "at": datetime.now(UTC).isoformat(),
            "actor": event.actor,
            "details": to_dynamo(event.details),
            "prevHash": head,
        }
        item["hash"] = head = event_hash(item)
        items.append({**_event_key(record.invoice_id, seq), **item})
    if not items:
        return [], record
    return items, record.model_copy(update={"event_seq": seq, "event_head": head})


def _head_condition(record: InvoiceRecord) -> tuple[str, dict[str, Any]]:
    """The stored head is still the one `record` has (no event was added meanwhile)."""
    if record.event_head is None:
        return "attribute_not_exists(eventHead)", {}
    return "eventHead = :head", {":head": record.event_head}


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


def insert(record: InvoiceRecord, event: Event) -> InvoiceRecord:
    """Store a new invoice with its first event; StaleInvoice if it already exists."""
    events, chained = _chained(record, [event])
    _write(
        [
            _put(_item(chained), "attribute_not_exists(pk)"),
            *(_put(item, "attribute_not_exists(sk)") for item in events),
        ]
    )
    return chained


def save(
    record: InvoiceRecord, *, events: Sequence[Event] = (), also: Sequence[TransactItem] = ()
) -> InvoiceRecord:
    """Write `record` if the stored version is still `record.version`, with its events (chained
    in order) and the other items the change moves, all or nothing. Returns it with the new
    version and head; StaleInvoice when someone else changed it first."""
    for _ in range(_HEAD_RACES):
        try:
            return _save_once(record, events, also)
        except StaleInvoice:
            stored = load(record.invoice_id)
            if stored is None or stored.version != record.version or stored.event_head == record.event_head:
                raise  # a real change meanwhile (or another item's condition failed)
            # Only events were appended meanwhile (the version is the same): chain onto them.
            record = record.model_copy(
                update={"event_seq": stored.event_seq, "event_head": stored.event_head}
            )
    raise StaleInvoice()


def _save_once(record: InvoiceRecord, events: Sequence[Event], also: Sequence[TransactItem]) -> InvoiceRecord:
    event_items, chained = _chained(record, events)
    updated = chained.model_copy(update={"version": record.version + 1, "updated_at": datetime.now(UTC)})
    head, values = _head_condition(record)
    condition = f"version = :expected AND {head}"
    items = [_put(_item(updated), condition, {":expected": record.version, **values}), *also]
    items += [_put(item, "attribute_not_exists(sk)") for item in event_items]
    _write(items)
    return updated


def append_event(invoice_id: str, event: Event, record: InvoiceRecord | None = None) -> InvoiceRecord:
    """An event with no state change (e.g. a PDF download), chained onto the log: one
    transaction that adds it and moves the head in the invoice item (whose version stays, as
    nothing else changed). `record`: the invoice as just read, saving a read."""
    for _ in range(_HEAD_RACES):
        current = record or load(invoice_id)
        if current is None:
            raise UnknownInvoice(invoice_id)
        event_items, moved = _chained(current, [event])
        head, values = _head_condition(current)
        condition = f"version = :expected AND {head}"
        try:
            _write(
                [
                    _put(_item(moved), condition, {":expected": current.version, **values}),
                    *(_put(item, "attribute_not_exists(sk)") for item in event_items),
                ]
            )
        except StaleInvoice:
            record = None  # written meanwhile: read again
            continue
        return moved
    raise StaleInvoice()


def event_items(invoice_id: str) -> list[dict[str, Any]]:
    """The whole log as stored (chain fields included), oldest first."""
    query: dict[str, Any] = {
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
        "ExpressionAttributeValues": {":pk": f"INVOICE#{invoice_id}", ":prefix": "EVENT#"},
        "ConsistentRead": True,
    }
    items: list[dict[str, Any]] = []
    while True:
        page = get_table().query(**query)
        items.extend(plain(item) for item in page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return items
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def encode_cursor(key: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, sort_keys=True).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, *, field: str, prefix: str) -> str:
    """The `field` of a cursor this store handed out; InvalidCursor for anything else."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded))[field]
    except (ValueError, KeyError, TypeError) as error:
        raise InvalidCursor(cursor) from error
    if not isinstance(value, str) or not value.startswith(prefix):
        raise InvalidCursor(cursor)
    return value


def event_cursor(sort_key: str) -> str:
    return encode_cursor({"sk": sort_key})


def event_position(cursor: str) -> str:
    """The event sort key a cursor of the event log points after."""
    return decode_cursor(cursor, field="sk", prefix="EVENT#")


def all_invoice_summaries(
    *, limit: int | None = None, cursor: str | None = None
) -> tuple[list[InvoiceSummary], str | None]:
    """One page of every stored invoice, oldest first, as summaries (the all-invoices index read
    through a projection; no Scan). Without `limit` a page is what DynamoDB returns (1 MB)."""
    query: dict[str, Any] = {
        "IndexName": "gsi2",
        "KeyConditionExpression": "gsi2pk = :pk",
        "ExpressionAttributeValues": {":pk": INVOICE_LIST_PARTITION},
        "ProjectionExpression": "summary",
    }
    if limit is not None:
        query["Limit"] = limit
    if cursor:
        position = decode_cursor(cursor, field="gsi2sk", prefix="")
        invoice_id = position.rsplit("#", 1)[-1]
        query["ExclusiveStartKey"] = {
            **key(invoice_id),
            "gsi2pk": INVOICE_LIST_PARTITION,
            "gsi2sk": position,
        }
    page = get_table().query(**query)
    items = page.get("Items", [])
    summaries = [InvoiceSummary.model_validate(plain(item["summary"])) for item in items if "summary" in item]
    last = page.get("LastEvaluatedKey")
    return summaries, encode_cursor({"gsi2sk": last["gsi2sk"]}) if last else None


def invoice_cursor(summary: InvoiceSummary) -> str:
    """Where all_invoice_summaries continues after `summary`."""
    return encode_cursor({"gsi2sk": f"{to_dynamo(summary.created_at)}#{summary.invoice_id}"})


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
