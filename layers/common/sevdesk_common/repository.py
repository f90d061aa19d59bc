"""The only code that talks to DynamoDB. Every state change is a conditional write; reads on
decision paths are strongly consistent. Key layout: docs/ARCHITECTURE.md."""

from __future__ import annotations

import time
from decimal import Decimal
from functools import lru_cache
from typing import Any

import boto3
from botocore.exceptions import ClientError

from sevdesk_common.settings import get_settings

CONFIG_KEY = {"pk": "CONFIG", "sk": "CONFIG"}


@lru_cache(maxsize=1)
def get_table() -> Any:
    """The state table, reused across warm invocations."""
    settings = get_settings()
    return boto3.resource("dynamodb", region_name=settings.aws_region).Table(settings.table_name)


def is_condition_failure(error: ClientError) -> bool:
    return error.response["Error"]["Code"] in {
        "ConditionalCheckFailedException",
        "TransactionCanceledException",
    }


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


def put_config_item(attributes: dict[str, Any], *, expected_version: int) -> bool:
    """Store the config as version expected_version + 1; False if someone else got there first."""
    item = {**attributes, **CONFIG_KEY, "version": expected_version + 1}
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
    return plain(item["value"])


def put_cached(name: str, value: dict[str, Any], *, ttl_seconds: int) -> None:
    get_table().put_item(
        Item={
            "pk": f"CACHE#{name}",
            "sk": "CACHE",
            "value": value,
            "expiresAt": int(time.time()) + ttl_seconds,
        }
    )
