"""The invoice log as a hash chain in DynamoDB: every write chains its events, the events route
says whether the whole log verifies, tampering behind the bundle's back is named, and an event
appended while an action holds the invoice does not break that action's next write."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.test_publish import INVOICE_ID, event_log, hand_over, publish
from tests.integration.test_publish_lease import dynamodb_calls
from tests.support.invoke import ADMIN, STAFF, invoke, outside_aws

pytestmark = pytest.mark.usefixtures("emulator", "token_configured")


def events_page(invoice_id: str = INVOICE_ID, **query: str) -> dict[str, Any]:
    result = invoke(
        "billing_invoice_events", claims=STAFF, path_parameters={"invoiceId": invoice_id}, query=query or None
    )
    assert result.status == 200, result.body
    body: dict[str, Any] = result.body
    return body


def audit(**query: str) -> Any:
    return invoke("audit_event_chains", claims=ADMIN, query=query or None)


def table() -> Any:
    from sevdesk_common.repository import get_table

    return get_table()


def event_item(seq: int, invoice_id: str = INVOICE_ID) -> dict[str, Any]:
    item: dict[str, Any] = table().get_item(Key={"pk": f"INVOICE#{invoice_id}", "sk": f"EVENT#{seq:010d}"})[
        "Item"
    ]
    return item


def test_a_published_invoice_has_one_unbroken_chain() -> None:
    hand_over()
    assert publish().status == 200

    log = event_log()  # oldest first
    page = events_page()

    assert [e["seq"] for e in log] == list(range(1, len(log) + 1))
    assert log[0]["prevHash"] == "0" * 64
    assert all(later["prevHash"] == earlier["hash"] for earlier, later in itertools.pairwise(log))
    assert page["chain"] == {
        "verified": True,
        "length": len(log),
        "headSeq": len(log),
        "headHash": log[-1]["hash"],
        "breaks": [],
    }


def test_several_events_in_one_write_chain_in_their_order() -> None:
    from sevdesk_common import invoice_store
    from sevdesk_common.invoice_store import Event

    hand_over()
    record = invoice_store.load(INVOICE_ID)
    assert record is not None

    saved = invoice_store.save(record, events=[Event(f"step_{n}", "t", {"n": n}) for n in range(3)])

    log = event_log()
    assert [e["type"] for e in log] == ["handed_over", "step_0", "step_1", "step_2"]
    assert (saved.event_seq, saved.event_head) == (4, log[-1]["hash"])
    assert events_page()["chain"]["verified"]


@pytest.mark.parametrize(
    ("tamper", "problem", "seq"),
    [
        ("alter", "altered", 2),
        ("delete_middle", "gap", 3),
        ("delete_last", "truncated", 3),
    ],
)
def test_tampering_behind_the_bundles_back_is_named(tamper: str, problem: str, seq: int) -> None:
    from sevdesk_common import invoice_store
    from sevdesk_common.invoice_store import Event

    hand_over()
    for n in range(2):
        invoice_store.append_event(INVOICE_ID, Event("pdf_downloaded", "staff-1", {"n": n}))
    if tamper == "alter":
        item = event_item(2)
        item["details"] = {"n": 7}
        table().put_item(Item=item)
    elif tamper == "delete_middle":
        table().delete_item(Key={"pk": f"INVOICE#{INVOICE_ID}", "sk": f"EVENT#{2:010d}"})
    else:
        table().delete_item(Key={"pk": f"INVOICE#{INVOICE_ID}", "sk": f"EVENT#{3:010d}"})

    chain = events_page()["chain"]

    assert chain["verified"] is False
    assert (chain["breaks"][0]["problem"], chain["breaks"][0]["seq"]) == (problem, seq)


def test_an_event_appended_while_an_action_holds_the_invoice_is_chained_before_its_result() -> None:
    """The race, forced: a PDF download appends between the action's lease and its last write."""
    from sevdesk_common import invoice_store
    from sevdesk_common.invoice_store import Event
    from sevdesk_common.services.lease import acquire

    hand_over()
    record = invoice_store.load(INVOICE_ID)
    assert record is not None
    lease = acquire(record, "publish", "staff-1")
    invoice_store.append_event(INVOICE_ID, Event("pdf_downloaded", "staff-2"))

    with dynamodb_calls() as calls:
        lease.finish("finalized", {"n": 1}, document_status="handed_over")

    log = event_log()
    assert [e["type"] for e in log] == ["handed_over", "pdf_downloaded", "finalized"]
    assert events_page()["chain"]["verified"]
    stored = invoice_store.load(INVOICE_ID)
    assert stored is not None and stored.lock_owner is None and stored.version == record.version + 2
    assert sum(calls.values()) == 3  # the refused write, the read of the new head, the write again


def test_the_admin_check_pages_through_every_invoice_and_names_the_broken_ones() -> None:
    for n in range(3):
        hand_over(f"R1-CHAIN-{n}")
    item = event_item(1, "R1-CHAIN-1")
    item["actor"] = "someone-else"
    table().put_item(Item=item)

    with dynamodb_calls() as calls:
        first = audit(limit="2")
    second = audit(limit="2", cursor=first.body["nextCursor"])

    assert first.status == second.status == 200, first.body
    assert (first.body["checked"], second.body["checked"]) == (2, 1)
    assert second.body["nextCursor"] is None
    broken = first.body["broken"] + second.body["broken"]
    assert [b["invoiceId"] for b in broken] == ["R1-CHAIN-1"]
    assert broken[0]["chain"]["breaks"][0]["problem"] == "altered"
    assert "Scan" not in calls
    assert audit(cursor="garbage!").status == 400
    assert invoke("audit_event_chains", claims=STAFF).status == 403


def test_no_event_is_written_twice_under_one_number() -> None:
    """Event keys carry the sequence number: a second writer of event n is refused, so the chain
    cannot fork even when two writers start from the same head."""
    from sevdesk_common import invoice_store
    from sevdesk_common.invoice_store import Event, StaleInvoice

    hand_over()
    record = invoice_store.load(INVOICE_ID)
    assert record is not None
    stale = record.model_copy(update={"lock_expires_at": datetime.now(UTC) + timedelta(seconds=5)})
    invoice_store.save(record, events=[Event("first", "a")])

    with pytest.raises(StaleInvoice):
        invoice_store.save(stale, events=[Event("second", "b")])

    assert [e["type"] for e in event_log()] == ["handed_over", "first"]


def test_an_event_appended_while_the_log_is_read_is_no_break(monkeypatch: pytest.MonkeyPatch) -> None:
    """The race, forced: a PDF download appends after the route read the invoice's head."""
    from sevdesk_common import invoice_store
    from sevdesk_common.invoice_store import Event

    hand_over()
    real = invoice_store.event_items

    def appended_meanwhile(invoice_id: str) -> list[dict[str, Any]]:
        monkeypatch.setattr(invoice_store, "event_items", real)
        with outside_aws():  # another function's write (the PDF route's), not this one's
            invoice_store.append_event(invoice_id, Event("pdf_downloaded", "staff-2"))
        return real(invoice_id)

    monkeypatch.setattr(invoice_store, "event_items", appended_meanwhile)

    page = events_page()

    assert page["chain"]["verified"] is True and page["chain"]["length"] == 2


def test_the_admin_check_reads_the_head_again_when_the_index_lags(monkeypatch: pytest.MonkeyPatch) -> None:
    from sevdesk_common import invoice_store
    from sevdesk_common.invoice_store import Event

    hand_over()
    stale, _ = invoice_store.all_invoice_summaries()
    invoice_store.append_event(INVOICE_ID, Event("pdf_downloaded", "staff-2"))
    monkeypatch.setattr(invoice_store, "list_invoices", lambda **_: (stale, None))  # an index behind

    lagging = audit()

    assert lagging.body["broken"] == [] and lagging.body["intact"] == 1
    # an invoice item really put back behind its log stays a break after reading it again
    record = invoice_store.load(INVOICE_ID)
    assert record is not None
    item = invoice_store._item(record.model_copy(update={"event_seq": 1, "event_head": stale[0].event_head}))
    table().put_item(Item=item)
    behind = audit()
    assert [b["chain"]["breaks"][0]["problem"] for b in behind.body["broken"]] == ["head_behind"]
