"""List endpoints: limit/offset/countAll and the shared filter helpers."""

from __future__ import annotations

from collections.abc import Mapping

from devtools.sevdesk_emulator.routing import Response
from devtools.sevdesk_emulator.store import Record, public
from devtools.sevdesk_emulator.wire import bad_request, parse_iso, to_bool

DEFAULT_LIMIT = 100  # NOTES.md §0: the real default is undocumented; 100 is an assumption
MAX_LIMIT = 1000


def page(records: list[Record], query: Mapping[str, str]) -> Response:
    limit = _int_param(query, "limit", DEFAULT_LIMIT)
    offset = _int_param(query, "offset", 0)
    if not 1 <= limit <= MAX_LIMIT:
        raise bad_request(f"limit must be between 1 and {MAX_LIMIT}")
    if offset < 0:
        raise bad_request("offset must not be negative")
    body: dict[str, object] = {"objects": [public(record) for record in records[offset : offset + limit]]}
    if to_bool(query.get("countAll", "")):
        body["total"] = str(len(records))  # a string, as [SPEC] shows it
    return Response(200, body)


def _int_param(query: Mapping[str, str], name: str, default: int) -> int:
    raw = query.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise bad_request(f"{name} must be an integer") from exc


def unix_param(query: Mapping[str, str], name: str) -> int | None:
    raw = query.get(name)
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError:
        return None  # like sevDesk: a filter it can't read is ignored (ISO strings "return everything")


def timestamp(value: str | None) -> float | None:
    return None if value is None else parse_iso(value).timestamp()
