"""Voucher request journals in DynamoDB: persistence only (the rules are in services/vouchers.py).

One item per voucher request key. It holds the short lease of the one caller creating the
voucher, the saveVoucher pending write, and once done the voucher id and the answer, so that a
repeated request is answered from here without a sevDesk call."""

from __future__ import annotations

import time

from sevdesk_common.models.voucher import VoucherRequest
from sevdesk_common.repository import get_table, plain, put_conditionally, to_dynamo

# A finished request is answered from its journal for this long; a retry comes within minutes,
# the key space is the client's (or the body's hash), so the item need not live forever.
DONE_TTL_SECONDS = 30 * 86_400


def _key(request_key: str) -> dict[str, str]:
    return {"pk": f"VOUCHERREQ#{request_key}", "sk": "VOUCHERREQ"}


def load(request_key: str, body_hash: str) -> VoucherRequest:
    """The journal as stored, or a fresh one (version 0) for this body."""
    item = get_table().get_item(Key=_key(request_key), ConsistentRead=True).get("Item")
    if not item:
        return VoucherRequest(key=request_key, body_hash=body_hash)
    fields = {k: v for k, v in plain(item).items() if k not in {"pk", "sk", "expiresAt"}}
    return VoucherRequest.model_validate({**fields, "key": request_key})


def save(journal: VoucherRequest) -> VoucherRequest:
    """`journal` as version + 1 if the stored one is still `journal.version` (0: none stored);
    StaleItem otherwise. Returns it as stored."""
    item = {
        **to_dynamo(journal.model_dump(mode="python", by_alias=True, exclude={"key"})),
        **_key(journal.key),
    }
    item["version"] = journal.version + 1
    if journal.voucher_id is not None:
        item["expiresAt"] = int(time.time()) + DONE_TTL_SECONDS
    put: dict[str, object] = {"TableName": get_table().name, "Item": item}
    if journal.version == 0:
        put["ConditionExpression"] = "attribute_not_exists(pk)"
    else:
        put["ConditionExpression"] = "version = :v"
        put["ExpressionAttributeValues"] = {":v": journal.version}
    put_conditionally({"Put": put})
    return journal.model_copy(update={"version": journal.version + 1})
