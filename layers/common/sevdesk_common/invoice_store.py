"""Billing invoices, their append-only event log and contact links in DynamoDB.

Every change of an invoice is a whole-item write conditioned on the version read, and lands
in one transaction with the event that describes it: the log never disagrees with the state,
and a lost race changes nothing (the caller re-reads and decides again).
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from sevdesk_common.models.invoice import BillingInvoice, EventPage, HandoffState, InvoiceEvent
from sevdesk_common.repository import get_table, is_condition_failure, plain

PAYMENT_SYNC_PARTITION = "PAYSYNC#sevdesk"
_KEY_ATTRIBUTES = frozenset({"pk", "sk", "gsi1pk", "gsi1sk"})


class InvoiceRecord(BillingInvoice):
    """The stored invoice: the public state plus bookkeeping only this package reads."""

    body_hash: str
    lock_owner: str | None = None
    lock_action: str | None = None
    lock_expires_at: datetime | None = None
    # Set before a sevDesk write whose outcome may be unknown; cleared once reconciled.
    pending_write: dict[str, Any] | None = None
    handed_over_by: str | None = None

    def public(self) -> BillingInvoice:
        return BillingInvoice.model_validate(self.model_dump(include=set(BillingInvoice.model_fields)))

    def handoff(self) -> HandoffState:
        """The handoff state alone, as the action routes answer it."""
        return HandoffState.model_validate(self.model_dump(include=set(HandoffState.model_fields)))

    @property
    def is_payment_sync_candidate(self) -> bool:
        return (
            self.external_id is not None
            and self.document_status in {"finalized", "sent"}
            and self.claim_status in {"open", "partially_paid"}
        )


class StaleInvoice(Exception):
    """The invoice changed since it was read (or already exists)."""


def _key(invoice_id: str) -> dict[str, str]:
    return {"pk": f"INVOICE#{invoice_id}", "sk": "INVOICE"}


def _to_dynamo(value: Any) -> Any:
    """Python values DynamoDB can hold: Decimal stays exact, dates become ISO strings."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _to_dynamo(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_to_dynamo(v) for v in value]
    return value


def _item(record: InvoiceRecord) -> dict[str, Any]:
    item = _to_dynamo(record.model_dump(mode="python", by_alias=True))
    item.update(_key(record.invoice_id))
    if record.is_payment_sync_candidate:
        # Sparse index: only open, published invoices are there for payment sync to read.
        item["gsi1pk"] = PAYMENT_SYNC_PARTITION
        item["gsi1sk"] = f"{record.external_id}#{record.invoice_id}"
    return item


def _event_item(invoice_id: str, event_type: str, actor: str, details: dict[str, Any]) -> dict[str, Any]:
    at = datetime.now(UTC)
    event_id = uuid.uuid4().hex
    return {
        "pk": f"INVOICE#{invoice_id}",
        "sk": f"EVENT#{at.isoformat()}#{event_id[:8]}",
        "eventId": event_id,
        "invoiceId": invoice_id,
        "type": event_type,
        "at": at.isoformat(),
        "actor": actor,
        "details": _to_dynamo(details),
    }


def _put(item: dict[str, Any], condition: str, values: dict[str, Any] | None = None) -> dict[str, Any]:
    put: dict[str, Any] = {
        "TableName": get_table().name,
        "Item": item,
        "ConditionExpression": condition,
    }
    if values:
        put["ExpressionAttributeValues"] = values
    return {"Put": put}


def _transact(items: list[dict[str, Any]]) -> None:
    # The table resource's client serialises Python values itself (boto3's transformation
    # injector), so items are passed as plain Python here too.
    try:
        get_table().meta.client.transact_write_items(TransactItems=items)
    except ClientError as error:
        if is_condition_failure(error):
            raise StaleInvoice() from error
        raise


def _record(item: dict[str, Any]) -> InvoiceRecord:
    return InvoiceRecord.model_validate({k: v for k, v in item.items() if k not in _KEY_ATTRIBUTES})


def load(invoice_id: str) -> InvoiceRecord | None:
    item = get_table().get_item(Key=_key(invoice_id), ConsistentRead=True).get("Item")
    return _record(item) if item else None


def insert(record: InvoiceRecord, *, event: str, actor: str, details: dict[str, Any] | None = None) -> None:
    """Store a new invoice with its first event; StaleInvoice if it already exists."""
    _transact(
        [
            _put(_item(record), "attribute_not_exists(pk)"),
            _put(_event_item(record.invoice_id, event, actor, details or {}), "attribute_not_exists(sk)"),
        ]
    )


def save(
    record: InvoiceRecord,
    *,
    event: str | None = None,
    actor: str = "system",
    details: dict[str, Any] | None = None,
) -> InvoiceRecord:
    """Write `record` if the stored version is still `record.version`; returns it with the new
    version. StaleInvoice when someone else changed it first."""
    updated = record.model_copy(update={"version": record.version + 1, "updated_at": datetime.now(UTC)})
    items = [_put(_item(updated), "version = :expected", {":expected": record.version})]
    if event:
        items.append(
            _put(_event_item(record.invoice_id, event, actor, details or {}), "attribute_not_exists(sk)")
        )
    _transact(items)
    return updated


def append_event(invoice_id: str, event: str, *, actor: str, details: dict[str, Any] | None = None) -> None:
    """An event with no state change (e.g. a PDF download)."""
    item = _event_item(invoice_id, event, actor, details or {})
    get_table().put_item(Item=item, ConditionExpression="attribute_not_exists(sk)")


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
    from sevdesk_common.errors import BadRequest

    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        sort_key = json.loads(base64.urlsafe_b64decode(padded))["sk"]
    except (ValueError, KeyError, TypeError) as error:
        raise BadRequest("cursor: not a cursor this API returned", details=[{"field": "cursor"}]) from error
    if not isinstance(sort_key, str) or not sort_key.startswith("EVENT#"):
        raise BadRequest("cursor: not a cursor this API returned", details=[{"field": "cursor"}])
    return sort_key


# ---------------------------------------------------------------- contact links


def get_contact_link(recipient_key: str) -> str | None:
    item = get_table().get_item(Key={"pk": f"CONTACTLINK#{recipient_key}", "sk": "CONTACTLINK"}).get("Item")
    return str(item["sevdeskContactId"]) if item else None


def put_contact_link(recipient_key: str, sevdesk_contact_id: str) -> str:
    """Link a recipient to a sevDesk contact once; returns the id that is linked (the
    existing one if another caller linked first)."""
    try:
        get_table().put_item(
            Item={
                "pk": f"CONTACTLINK#{recipient_key}",
                "sk": "CONTACTLINK",
                "sevdeskContactId": sevdesk_contact_id,
                "linkedAt": datetime.now(UTC).isoformat(),
            },
            ConditionExpression="attribute_not_exists(pk)",
        )
    except ClientError as error:
        if not is_condition_failure(error):
            raise
        existing = get_contact_link(recipient_key)
        assert existing is not None
        return existing
    return sevdesk_contact_id


def claim_contact_creation(recipient_key: str, owner: str, *, lease_seconds: int = 30) -> bool:
    """Take the short lease that serialises creating one recipient's sevDesk contact across
    invoices (each invoice has its own lock). False while someone else holds it."""
    now = int(datetime.now(UTC).timestamp())
    try:
        get_table().put_item(
            Item={
                "pk": f"CONTACTCLAIM#{recipient_key}",
                "sk": "CONTACTCLAIM",
                "owner": owner,
                "expiresAt": now + lease_seconds,  # also the TTL: a crashed holder frees it
            },
            ConditionExpression="attribute_not_exists(pk) OR expiresAt < :now",
            ExpressionAttributeValues={":now": now},
        )
    except ClientError as error:
        if is_condition_failure(error):
            return False
        raise
    return True


def release_contact_claim(recipient_key: str, owner: str) -> None:
    # An expired stamp rather than a delete: the functions may PutItem but not DeleteItem.
    try:
        get_table().put_item(
            Item={
                "pk": f"CONTACTCLAIM#{recipient_key}",
                "sk": "CONTACTCLAIM",
                "owner": owner,
                "expiresAt": 0,
            },
            ConditionExpression="#owner = :owner",
            ExpressionAttributeNames={"#owner": "owner"},
            ExpressionAttributeValues={":owner": owner},
        )
    except ClientError as error:
        if not is_condition_failure(error):
            raise


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
