"""The event log's hash chain: one canonical form whatever DynamoDB hands back, and every kind of
tampering named by `verify`."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from sevdesk_common.models.event_chain import GENESIS, canonical, event_hash, verify


def chain(*details: dict[str, Any]) -> list[dict[str, Any]]:
    events, previous = [], GENESIS
    for seq, detail in enumerate(details, start=1):
        event = {
            "invoiceId": "R1-1",
            "seq": seq,
            "eventId": f"e{seq}",
            "type": "handed_over" if seq == 1 else "pdf_downloaded",
            "at": f"2026-11-30T10:00:0{seq}+00:00",
            "actor": "staff-1",
            "details": detail,
            "prevHash": previous,
        }
        event["hash"] = previous = event_hash(event)
        events.append(event)
    return events


def test_numbers_hash_the_same_as_written_and_as_dynamodb_returns_them() -> None:
    written = {
        "grossAmount": Decimal("65.450"),
        "positions": 2,
        "paid": Decimal("10.00"),
        "zero": Decimal("-0"),
    }
    read_back = {"grossAmount": Decimal("65.45"), "positions": Decimal("2"), "paid": 10, "zero": 0}

    assert (
        canonical(written) == canonical(read_back) == '{"grossAmount":65.45,"paid":10,"positions":2,"zero":0}'
    )
    assert canonical({"b": [True, None, "Straße"], "a": 1.5}) == '{"a":1.5,"b":[true,null,"Stra\\u00dfe"]}'


def test_an_intact_chain_verifies_against_its_head() -> None:
    events = chain({"n": 1}, {"n": 2}, {"n": 3})

    status = verify(events, 3, events[-1]["hash"])

    assert status.verified and status.length == 3 and status.breaks == []


@pytest.mark.parametrize(
    ("tamper", "problems"),
    [
        (lambda events: events[1]["details"].update(n=99), ["altered"]),
        (lambda events: events.pop(1), ["gap", "relinked"]),
        (lambda events: events.pop(), ["truncated"]),
        (lambda events: events[2].update(prevHash=GENESIS), ["relinked", "altered"]),
        (lambda events: events[0].pop("hash"), ["not_chained"]),
    ],
    ids=["altered", "deleted-in-the-middle", "tail-cut-off", "relinked", "unhashed"],
)
def test_each_kind_of_tampering_is_named(tamper: Any, problems: list[str]) -> None:
    events = chain({"n": 1}, {"n": 2}, {"n": 3})
    head = events[-1]["hash"]
    tamper(events)

    status = verify(events, 3, head)

    assert not status.verified
    assert [b.problem for b in status.breaks] == problems


def test_events_beyond_the_recorded_head_are_named() -> None:
    events = chain({"n": 1}, {"n": 2})

    status = verify(events, 1, events[0]["hash"])

    assert [b.problem for b in status.breaks] == ["head_behind"]


def test_an_invoice_without_events_is_intact_only_if_it_records_none() -> None:
    assert verify([], 0, None).verified
    assert [b.problem for b in verify([], 2, "ab" * 32).breaks] == ["truncated"]
