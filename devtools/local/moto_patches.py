"""Two changes to moto 5.2.5 (pinned), for the long-running local stack only.

Every object of a moto model class (BaseModel) is appended to a class-wide list when it is made,
for moto's dashboard (/moto-api/data.json), and stays there until a reset. DynamoDB makes such
objects per request: a Query or Scan deep-copies each item it reads and projects it into a new
Item. So a stack grew by every item any request had read (a list of 20 invoices: ~250 KB, for
good), and got slower as the lists grew. The local stack does not serve the dashboard: objects
are no longer tracked, and memory stays flat under a steady load.

moto's TransactWriteItems deep-copies every table it touches before it starts, so that it can put
the whole table back when a condition fails. That costs time and memory in proportion to the
table: a stack that has stored a few thousand invoices spends most of each transaction copying,
and a failed transaction restores a stale copy over other callers' writes. The local stack lets
one request at a time into moto's DynamoDB (moto_server.LambdaMiddleware), so undoing just the
items the transaction touched is the same rollback, at the cost of those items.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

from moto.core.common_models import BaseModel
from moto.dynamodb import models
from moto.dynamodb.models.table import Table

_installed = False


class _TablesAreNotCopied:
    """Stands in for the `copy` module inside moto.dynamodb.models: tables pass through uncopied."""

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


def _touched(backend: Any, transact_items: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any], Any]]:
    """(table, key, the item as stored now or None) for every item the transaction names."""
    found = []
    for entry in transact_items:
        op_type, op = next(iter(entry.items()))
        table_name = op.get("TableName")
        if table_name not in backend.tables:
            continue  # moto raises its own error for it
        table = backend.tables[table_name]
        if op_type == "Put":
            attrs = op.get("Item", {})
            key = {table.hash_key_attr: attrs.get(table.hash_key_attr)}
            if table.range_key_attr is not None:
                key[table.range_key_attr] = attrs.get(table.range_key_attr)
        else:
            key = op.get("Key", {})
        try:
            current = backend.get_item(table_name, key)
        except Exception:  # a malformed key: moto reports it when it runs the transaction
            continue
        found.append((table_name, key, copy.deepcopy(current.to_json()["Attributes"]) if current else None))
    return found


def _restore(backend: Any, touched: list[tuple[str, dict[str, Any], Any]]) -> None:
    for table_name, key, item in reversed(touched):
        if item is None:
            backend.delete_item(table_name, key)
        else:
            backend.put_item(table_name, item)


def _untracked(cls: type, *_args: Any, **_kwargs: Any) -> Any:
    """BaseModel.__new__ without the append to `cls.instances_tracked`."""
    return object.__new__(cls)


def install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    BaseModel.__new__ = staticmethod(_untracked)  # type: ignore[assignment,method-assign]
    models.copy = _TablesAreNotCopied()  # type: ignore[assignment]
    original = models.DynamoDBBackend.transact_write_items

    @functools.wraps(original)
    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        touched = _touched(self, transact_items)
        try:
            original(self, transact_items)
        except Exception:
            _restore(self, touched)
            raise

    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
