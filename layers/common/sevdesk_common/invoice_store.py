"""Billing invoices and their append-only event log in DynamoDB: persistence only.

Every change of an invoice is a whole-item write conditioned on the version read, and lands in
one transaction with the event that describes it (and any other item the change moves, such as
a contact link): the log never disagrees with the state, and a lost race changes nothing (the
caller reads again and decides again).
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from sevdesk_common.models.invoice import EventPage, InvoiceEvent
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
_KEY_ATTRIBUTES = frozenset({"pk", "sk", "gsi1pk", "gsi1sk"})


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
    return item


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
