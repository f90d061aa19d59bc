"""`embed=a,b.c`: replace {id, objectName} references by the full records ([SPEC] info)."""

from __future__ import annotations

from typing import Any

from devtools.sevdesk_emulator.store import Record, Store, public


def _tables(store: Store) -> dict[str, dict[str, Record]]:
    return {
        "CheckAccountTransaction": store.transactions,
        "CheckAccount": store.check_accounts,
        "Invoice": store.invoices,
        "Voucher": store.vouchers,
        "CreditNote": store.credit_note_records,
        "Contact": store.contacts,
    }


def with_embeds(record: Record, embed: str | None, store: Store) -> Record:
    """The public record with every requested path expanded; unknown paths are ignored like sevDesk does."""
    out = public(record)
    if not embed:
        return out
    tables = _tables(store)
    for path in (part.strip() for part in embed.split(",")):
        if path:
            _expand(out, path.split("."), tables)
    return out


def _expand(node: dict[str, Any], parts: list[str], tables: dict[str, dict[str, Record]]) -> None:
    key, rest = parts[0], parts[1:]
    value = node.get(key)
    if not isinstance(value, dict):
        return
    if set(value) <= {"id", "objectName"}:  # still a reference: expand it (a dotted path implies its parents)
        full = tables.get(str(value.get("objectName")), {}).get(str(value.get("id")))
        if full is not None:
            value = node[key] = public(full)
    if rest:
        _expand(value, rest, tables)
