"""The state table: its handle, the settings item, caches, and what the stores share.

The modules that talk to DynamoDB are this one, invoice_store, contact_store and ratelimit;
nothing else does. Every state change is a conditional write; reads on decision paths are
strongly consistent. Key layout: docs/ARCHITECTURE.md."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

import boto3
from botocore.exceptions import ClientError

from sevdesk_common.settings import get_settings

CONFIG_KEY = {"pk": "CONFIG", "sk": "CONFIG"}
# One entry of a TransactWriteItems call ({"Put": {...}}, {"Delete": {...}}), in Python values.
TransactItem = dict[str, Any]


@lru_cache(maxsize=1)
def get_table() -> Any:
    """The state table, reused across warm invocations."""
    settings = get_settings()
    return boto3.resource("dynamodb", region_name=settings.aws_region).Table(settings.table_name)


class StaleItem(Exception):
    """An item changed since it was read (or already exists): read again and decide again."""


def put_conditionally(item: TransactItem) -> None:
    """A transaction item's Put on its own (one PutItem); StaleItem when its condition fails."""
    put = item["Put"]
    try:
        get_table().put_item(**{k: v for k, v in put.items() if k != "TableName"})
    except ClientError as error:
        if is_condition_failure(error):
            raise StaleItem() from error
        raise


def is_condition_failure(error: ClientError) -> bool:
    return error.response["Error"]["Code"] in {
        "ConditionalCheckFailedException",
        "TransactionCanceledException",
    }


def transact(items: list[TransactItem]) -> None:
    """All of `items` or none. The table resource's client serialises Python values itself
    (boto3's transformation injector), so items are written as plain Python."""
    get_table().meta.client.transact_write_items(TransactItems=items)


def to_dynamo(value: Any) -> Any:
    """Python values DynamoDB can hold: Decimal stays exact, dates become ISO strings."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: to_dynamo(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [to_dynamo(v) for v in value]
    return value


def plain(value: Any) -> Any:
    """DynamoDB hands back Decimal for every number; turn whole numbers back into int."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else value
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


# ---------------------------------------------------------------- config


def get_config_item() -> dict[str, Any] | None:
    item = get_table().get_item(Key=CONFIG_KEY, ConsistentRead=True).get("Item")
    if not item:
        return None
    return {k: plain(v) for k, v in item.items() if k not in {"pk", "sk"}}


def put_config_item(attributes: dict[str, Any], *, expected_version: int, bump: bool = True) -> bool:
    """Store the config as version expected_version + 1 (the same version with `bump` False, once
    the item exists); False if someone else got there first."""
    version = expected_version + 1 if bump or expected_version == 0 else expected_version
    item = {**attributes, **CONFIG_KEY, "version": version}
    condition = "attribute_not_exists(pk)" if expected_version == 0 else "version = :expected"
    kwargs: dict[str, Any] = {"Item": item, "ConditionExpression": condition}
    if expected_version:
        kwargs["ExpressionAttributeValues"] = {":expected": expected_version}
    try:
        get_table().put_item(**kwargs)
    except ClientError as error:
        if is_condition_failure(error):
            return False
        raise
    return True


# ---------------------------------------------------------------- caches


def get_cached(name: str) -> dict[str, Any] | None:
    item = get_table().get_item(Key={"pk": f"CACHE#{name}", "sk": "CACHE"}).get("Item")
    # TTL deletion is lazy (and never happens in moto), so expiry is checked on read.
    if not item or int(item.get("expiresAt", 0)) <= time.time():
        return None
    value: dict[str, Any] = plain(item["value"])
    return value


def put_cached(name: str, value: dict[str, Any], *, ttl_seconds: int) -> None:
    get_table().put_item(
        Item={
            "pk": f"CACHE#{name}",
            "sk": "CACHE",
            "value": value,
            "expiresAt": int(time.time()) + ttl_seconds,
        }
    )
