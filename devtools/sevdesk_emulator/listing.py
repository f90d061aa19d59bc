"""List endpoints: limit/offset/countAll paging, newest-first order and the shared filter helpers."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime

from devtools.sevdesk_emulator.routing import Response
from devtools.sevdesk_emulator.store import Record, public
from devtools.sevdesk_emulator.wire import bad_request, to_bool

# NOTES.md §13: at most 100 objects unless `limit` is given; 1000 at most (larger values and -1 are
# refused with 400, not capped, since the 2025-03 paging limits)
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


def page(
    records: Iterable[Record], query: Mapping[str, str], render: Callable[[Record], Record] = public
) -> Response:
    """One page of `records` (already filtered and ordered). Stops early unless countAll needs the total."""
    limit = _int_param(query, "limit", DEFAULT_LIMIT)
    offset = _int_param(query, "offset", 0)
    if not 1 <= limit <= MAX_LIMIT:
        raise bad_request(f"limit must be between 1 and {MAX_LIMIT}")
    if offset < 0:
        raise bad_request("offset must not be negative")
    count_all = to_bool(query.get("countAll", ""))
    end = offset + limit
    selected: list[Record] = []
    seen = 0
    for record in records:
        if offset <= seen < end:
            selected.append(record)
        seen += 1
        if seen >= end and not count_all:
            break
    body: dict[str, object] = {"objects": [render(record) for record in selected]}
    if count_all:
        body["total"] = str(seen)  # a string, as [SPEC] shows it
    return Response(200, body)


def newest_first(records: Mapping[str, Record]) -> Iterator[Record]:
    """Without orderBy sevDesk answers newest first ([RS2]). Ids grow with creation and the store
    keeps insertion order, so reversing the dict is that order without sorting 100k records."""
    return reversed(records.values())  # type: ignore[call-overload, no-any-return]


def _int_param(query: Mapping[str, str], name: str, default: int) -> int:
    raw = query.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)  # type: ignore[arg-type]
    except ValueError as exc:
        raise bad_request(f"{name} must be an integer") from exc


def unix_param(query: Mapping[str, str], name: str) -> int | None:
    raw = query.get(name)
    if raw in (None, ""):
        return None
    try:
        return int(raw)  # type: ignore[arg-type]
    except ValueError:
        return None  # like sevDesk: a filter it can't read is ignored (ISO strings "return everything")


@functools.lru_cache(maxsize=1_000_000)
def _parsed(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


def timestamp(value: str | None) -> float | None:
    """Unix seconds of a wire date-time; cached, because list filters parse every record's dates."""
    return None if value is None else _parsed(value)


TimeFilters = Mapping[str, tuple[str, bool]]  # query name -> (record field, is a lower bound)


def time_filters_match(record: Record, query: Mapping[str, str], filters: TimeFilters) -> bool:
    for name, (field, lower) in filters.items():
        if query.get(name) in (None, ""):
            continue
        bound = unix_param(query, name)
        if bound is None:
            if name in ("startDate", "endDate"):
                return False  # [CC]: ISO dates there gave empty results
            continue  # an unreadable filter is ignored
        moment = timestamp(record.get(field))
        if moment is None or (moment < bound if lower else moment > bound):
            return False
    return True


def exact_filters_match(
    record: Record, query: Mapping[str, str], filters: Mapping[str, Callable[[Record], object]]
) -> bool:
    for name, read in filters.items():
        wanted = query.get(name)
        if wanted not in (None, "") and read(record) != wanted:
            return False
    return True


def ref_id(record: Record, key: str) -> str | None:
    value = record.get(key)
    return value.get("id") if isinstance(value, dict) else None
