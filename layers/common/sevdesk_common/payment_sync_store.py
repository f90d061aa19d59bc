"""Payment sync's reads and its run state in DynamoDB: persistence only.

The run state is one item, `SYNC#payments`, written with a condition on its version (a lost
race is a False the service merges and retries). Invoices are read by key in batches and the
open ones from the sparse index `gsi1`, projected to what a comparison needs.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from sevdesk_common import invoice_store
from sevdesk_common.invoice_store import PAYMENT_SYNC_PARTITION
from sevdesk_common.models.payment_sync import SyncState
from sevdesk_common.models.record import InvoiceRecord
from sevdesk_common.repository import get_table, is_condition_failure, plain

STATE_KEY = {"pk": "SYNC#payments", "sk": "SYNC"}
_KEY_ATTRIBUTES = frozenset({"pk", "sk", "gsi1pk", "gsi1sk"})
_BATCH = 100  # BatchGetItem's limit
_READ_OPERATIONS = ("GetItem", "BatchGetItem", "Query")
_reads = [0]


@dataclass(frozen=True)
class Candidate:
    """An open published invoice as the sparse index holds it (the fields a comparison needs)."""

    invoice_id: str
    external_id: str
    claim_status: str
    paid_amount: Decimal
    paid_at: datetime | None


def reads_so_far() -> int:
    """DynamoDB read calls (GetItem, BatchGetItem, Query pages) this process made on the state
    table since the count was first asked for; a run reports the difference."""
    events = get_table().meta.client.meta.events
    for operation in _READ_OPERATIONS:
        events.register(
            f"after-call.dynamodb.{operation}", _count_read, unique_id=f"paysync-reads-{operation}"
        )
    return _reads[0]


def _count_read(**_: Any) -> None:
    _reads[0] += 1


def load_state() -> SyncState:
    item = get_table().get_item(Key=STATE_KEY, ConsistentRead=True).get("Item")
    if not item:
        return SyncState()
    return SyncState.model_validate({k: plain(v) for k, v in item.items() if k not in {"pk", "sk"}})


def save_state(state: SyncState) -> bool:
    """Store `state` as version state.version + 1; False when another run stored one first."""
    item = {**state.model_dump(mode="json", exclude={"version"}, exclude_none=True), **STATE_KEY}
    item["version"] = state.version + 1
    kwargs: dict[str, Any] = {"Item": item}
    if state.version == 0:
        kwargs["ConditionExpression"] = "attribute_not_exists(pk)"
    else:
        kwargs["ConditionExpression"] = "version = :expected"
        kwargs["ExpressionAttributeValues"] = {":expected": state.version}
    try:
        get_table().put_item(**kwargs)
    except ClientError as error:
        if is_condition_failure(error):
            return False
        raise
    return True


def load_invoices(invoice_ids: Collection[str]) -> dict[str, InvoiceRecord]:
    """The stored invoices among `invoice_ids`, strongly consistent, 100 per call."""
    table = get_table()
    wanted = list(dict.fromkeys(invoice_ids))
    found: dict[str, InvoiceRecord] = {}
    for start in range(0, len(wanted), _BATCH):
        request: dict[str, Any] = {
            table.name: {
                "Keys": [invoice_store.key(i) for i in wanted[start : start + _BATCH]],
                "ConsistentRead": True,
            }
        }
        for attempt in range(8):
            answer = table.meta.client.batch_get_item(RequestItems=request)
            for item in answer.get("Responses", {}).get(table.name, []):
                record = InvoiceRecord.model_validate(
                    {k: v for k, v in item.items() if k not in _KEY_ATTRIBUTES}
                )
                found[record.invoice_id] = record
            request = answer.get("UnprocessedKeys") or {}
            if not request:
                break
            time.sleep(min(1.0, 0.05 * 2**attempt))  # throttled: DynamoDB asks to back off
    return found


def iter_candidates() -> Iterator[Candidate]:
    """Every open published invoice, page by page from the sparse index (never a Scan)."""
    names = {"#i": "invoiceId", "#e": "externalId", "#c": "claimStatus", "#a": "paidAmount", "#t": "paidAt"}
    query: dict[str, Any] = {
        "IndexName": "gsi1",
        "KeyConditionExpression": "gsi1pk = :pk",
        "ExpressionAttributeValues": {":pk": PAYMENT_SYNC_PARTITION},
        "ExpressionAttributeNames": names,
        "ProjectionExpression": ", ".join(names),
    }
    while True:
        page = get_table().query(**query)
        for item in page.get("Items", []):
            paid_at = item.get("paidAt")
            yield Candidate(
                invoice_id=str(item["invoiceId"]),
                external_id=str(item["externalId"]),
                claim_status=str(item["claimStatus"]),
                paid_amount=Decimal(item.get("paidAmount", 0)),
                paid_at=datetime.fromisoformat(paid_at) if paid_at else None,
            )
        if "LastEvaluatedKey" not in page:
            return
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
