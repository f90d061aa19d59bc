"""The only code that talks to DynamoDB. Every state change is a conditional write."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import boto3

from sevdesk_common.settings import get_settings


@lru_cache(maxsize=1)
def get_table() -> Any:
    """The state table, reused across warm invocations."""
    return boto3.resource("dynamodb", region_name=get_settings().aws_region).Table(get_settings().table_name)
