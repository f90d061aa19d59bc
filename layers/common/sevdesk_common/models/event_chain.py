"""The invoice event log as a hash chain (GoBD: records complete and unalterable, verifiable).

Each event carries `seq` (1, 2, ... per invoice), `prevHash` (the previous event's hash; 64 zeros
for the first) and `hash` = sha256 over the canonical form of its chained fields. The invoice item
keeps the head (last `seq` and `hash`), written in the same transaction as the events, so a
deleted or altered event, a re-linked one and a cut-off tail are all visible to `verify`.

The canonical form is JSON with sorted keys, no whitespace, ASCII escapes, and numbers written as
plain normalized decimals (10, 10.0 and Decimal("10.00") are the same number): what DynamoDB
hands back (Decimal) hashes the same as what was written (int, Decimal).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, Literal

from sevdesk_common.models.base import ApiModel

GENESIS = "0" * 64
CHAINED_FIELDS = ("invoiceId", "seq", "eventId", "type", "at", "actor", "details", "prevHash")
Problem = Literal["not_chained", "altered", "relinked", "gap", "truncated", "head_behind"]


def canonical(value: Any) -> str:
    """The one text form a value hashes as."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int | Decimal):
        number = Decimal(value)
        return "0" if number.is_zero() else format(number.normalize(), "f")
    if isinstance(value, float):
        return canonical(Decimal(repr(value)))
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, Mapping):
        parts = (f"{json.dumps(str(key))}:{canonical(value[key])}" for key in sorted(value, key=str))
        return "{" + ",".join(parts) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(canonical(item) for item in value) + "]"
    raise TypeError(f"cannot hash a {type(value).__name__}")


def event_hash(event: Mapping[str, Any]) -> str:
    """sha256 (hex) of an event's chained fields, as stored (camelCase keys)."""
    chained = {name: event.get(name) for name in CHAINED_FIELDS}
    return hashlib.sha256(canonical(chained).encode("ascii")).hexdigest()


class ChainBreak(ApiModel):
    seq: int | None = None
    event_id: str | None = None
    problem: Problem
    message: str


class ChainStatus(ApiModel):
    """Whether an invoice's log is intact: every event unaltered, linked to the one before, and
    the last one is the head the invoice recorded."""

    verified: bool
    length: int
    head_seq: int
    head_hash: str | None = None
    breaks: list[ChainBreak]


def verify(events: Iterable[Mapping[str, Any]], head_seq: int, head_hash: str | None) -> ChainStatus:
    """Check `events` (as stored, in `seq` order) against the invoice's head."""
    breaks: list[ChainBreak] = []
    previous: str | None = GENESIS  # None: unknown (the event before had no hash)
    expected_seq, count = 1, 0
    for event in events:
        count += 1
        seq, event_id = event.get("seq"), event.get("eventId")
        if seq is None or event.get("hash") is None:
            breaks.append(
                ChainBreak(event_id=event_id, problem="not_chained", message="event without seq or hash")
            )
            previous, expected_seq = None, (expected_seq if seq is None else int(seq)) + 1
            continue
        seq = int(seq)
        breaks += _event_breaks(event, seq, expected_seq, previous)
        previous, expected_seq = str(event["hash"]), seq + 1
    breaks += _head_breaks(expected_seq - 1, previous, head_seq, head_hash)
    return ChainStatus(
        verified=not breaks, length=count, head_seq=head_seq, head_hash=head_hash, breaks=breaks
    )


def _event_breaks(
    event: Mapping[str, Any], seq: int, expected_seq: int, previous: str | None
) -> list[ChainBreak]:
    """What is wrong with one chained event: its place, its link, its content."""
    event_id = event.get("eventId")
    breaks: list[ChainBreak] = []
    if seq != expected_seq:
        message = f"expected event {expected_seq}, found {seq}: events are missing"
        breaks.append(ChainBreak(seq=seq, event_id=event_id, problem="gap", message=message))
    if previous is not None and event.get("prevHash") != previous:
        message = "prevHash is not the hash of the event before it"
        breaks.append(ChainBreak(seq=seq, event_id=event_id, problem="relinked", message=message))
    if event_hash(event) != event["hash"]:
        message = "content differs from its hash"
        breaks.append(ChainBreak(seq=seq, event_id=event_id, problem="altered", message=message))
    return breaks


def _head_breaks(
    last_seq: int, previous: str | None, head_seq: int, head_hash: str | None
) -> list[ChainBreak]:
    """Whether the log ends where the invoice's head says (`previous`: the last event's hash)."""
    if last_seq < head_seq or (
        last_seq == head_seq and previous is not None and head_hash not in (None, previous)
    ):
        message = f"the invoice records {head_seq} events ending in {head_hash}; the log ends at {last_seq}"
        return [ChainBreak(seq=head_seq, problem="truncated", message=message)]
    if last_seq > head_seq:
        message = f"the log has {last_seq} events but the invoice records only {head_seq}"
        return [ChainBreak(seq=last_seq, problem="head_behind", message=message)]
    return []


def only_ahead_of_head(status: ChainStatus) -> bool:
    """The log runs past the head read before it: an event appended in between (or an index not
    caught up yet), not tampering, as long as nothing else is wrong. Read the head again."""
    return bool(status.breaks) and all(b.problem == "head_behind" for b in status.breaks)


class BrokenChain(ApiModel):
    invoice_id: str
    chain: ChainStatus


class ChainReport(ApiModel):
    """One page of the check over every invoice's log; follow `nextCursor` until it is null."""

    checked: int
    intact: int
    broken: list[BrokenChain]
    next_cursor: str | None = None
