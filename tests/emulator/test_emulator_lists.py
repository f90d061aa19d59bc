"""Paging (default 100, max 1000, -1 refused), newest-first order, filters, bulk seeding, the bounded log."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import httpx
import pytest

from devtools.sevdesk_emulator import SevdeskEmulator, api_invoices
from devtools.sevdesk_emulator.wire import BERLIN
from tests.emulator.helpers import create_contact, objects


@pytest.fixture
def seeded(emu: SevdeskEmulator) -> list[str]:
    # 250 invoices over 5 days from 2026-03-02; 30% paid, 10% half paid, 5% cancelled (their SRs added)
    return emu.seed_invoices(250, first_day=datetime(2026, 3, 2, tzinfo=BERLIN), per_day=50)


def ids(client: httpx.Client, path: str = "/Invoice", **params: object) -> list[str]:
    return [item["id"] for item in objects(client.get(path, params=params))]


def test_default_page_is_100_newest_first(
    client: httpx.Client, emu: SevdeskEmulator, seeded: list[str]
) -> None:
    listed = ids(client)

    assert len(listed) == 100
    assert listed == sorted(listed, key=int, reverse=True)
    assert listed[0] == max(emu.state.invoices, key=int)


@pytest.mark.parametrize("limit", ["-1", "0", "1001"])
def test_limits_outside_1_to_1000_are_refused_in_the_error_shape(client: httpx.Client, limit: str) -> None:
    response = client.get("/Invoice", params={"limit": limit})

    assert response.status_code == 400
    assert response.json()["objects"] is None and response.json()["error"]["responseCode"] == 400


def test_offset_paging_with_count_all_covers_everything_once(
    client: httpx.Client, emu: SevdeskEmulator, seeded: list[str]
) -> None:
    seen: list[str] = []
    totals = set()
    for offset in range(0, 400, 120):
        body = client.get("/Invoice", params={"limit": 120, "offset": offset, "countAll": "true"}).json()
        seen += [item["id"] for item in body["objects"]]
        totals.add(body["total"])

    assert totals == {str(len(emu.state.invoices))}  # a string, like [SPEC]
    assert sorted(seen, key=int) == sorted(emu.state.invoices, key=int)


def test_seeded_mix_and_status_filters(client: httpx.Client, emu: SevdeskEmulator, seeded: list[str]) -> None:
    originals = Counter(emu.state.invoices[i]["status"] for i in seeded)
    cancelled = [i for i in seeded if emu.state.invoices[i].get("_cancelledBy")]

    assert len(seeded) == 250 and len(emu.state.invoices) == 250 + len(cancelled)
    assert (originals["1000"], originals["750"]) == (75 + len(cancelled), 25)
    assert len(ids(client, status=750, limit=1000)) == 25
    srs = ids(client, invoiceType="SR", limit=1000)
    assert len(srs) == len(cancelled) == 12  # round(250 * 0.05), half to even
    logs = client.get("/CheckAccountTransactionLog", params={"countAll": "true", "limit": 1}).json()
    assert logs["total"] == str(75 + 25)


def test_invoice_filters(client: httpx.Client, emu: SevdeskEmulator, seeded: list[str]) -> None:
    third_day = int(datetime(2026, 3, 4, tzinfo=BERLIN).timestamp())
    fourth_day = int(datetime(2026, 3, 5, tzinfo=BERLIN).timestamp()) - 1
    number = emu.state.invoices[seeded[7]]["invoiceNumber"]
    contact = emu.state.invoices[seeded[0]]["contact"]["id"]

    assert len(ids(client, startDate=third_day, endDate=fourth_day, invoiceType="RE", limit=1000)) == 50
    assert ids(client, customerInternalNote="SEED-7") == [seeded[7]]
    assert ids(client, customerInternalNote="SEED-") == []  # exact, not a prefix
    assert ids(client, invoiceNumber=number) == [seeded[7]]
    assert len(ids(client, **{"contact[id]": contact, "contact[objectName]": "Contact"}, limit=1000)) == len(
        emu.state.invoices
    )
    assert ids(client, **{"contact[id]": "1"}) == []
    future = int(emu.now().timestamp()) + 60
    assert ids(client, createAfter=future) == [] and ids(client, updateAfter=future) == []
    assert len(ids(client, fulltextSearchTypo="x", limit=1000)) == len(emu.state.invoices)  # unknown: ignored


def test_contacts_depth_name_and_paging(client: httpx.Client) -> None:
    person = {"surename": "Maxi", "familyname": "Muster", "category": {"id": 3, "objectName": "Category"}}
    objects(client.post("/Contact", json=person), 201)
    for n in range(3):
        create_contact(client, f"K-{n}", name=f"Muster Werke {n}")

    assert len(ids(client, "/Contact", name="muster")) == 3  # organisations only by default
    assert len(ids(client, "/Contact", name="muster", depth=1)) == 4
    assert [c["customerNumber"] for c in objects(client.get("/Contact", params={"limit": 2}))] == [
        "K-2",
        "K-1",
    ]
    assert [
        c["customerNumber"] for c in objects(client.get("/Contact", params={"customerNumber": "K-1"}))
    ] == ["K-1"]


def test_request_log_is_bounded_and_counts_everything(client: httpx.Client, emu: SevdeskEmulator) -> None:
    emu.request_log_size = 3
    for n in range(5):
        client.get("/SevUser", params={"n": n})

    assert len(emu.requests) == 3 and emu.requests.total == 5
    assert [entry.query["n"] for entry in emu.requests] == ["2", "3", "4"]  # the oldest dropped
    assert emu.requests[-1].path == "/SevUser" and emu.requests == list(emu.requests)
    emu.requests.clear()
    assert emu.requests == [] and emu.requests.total == 5
    with pytest.raises(ValueError):
        emu.request_log_size = 0


def test_a_page_reads_only_what_it_needs(
    client: httpx.Client, emu: SevdeskEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No per-request work over the whole store beyond the filter scan: without countAll the scan
    stops once the page is full, and only the page is rendered (what keeps 100k invoices fast)."""
    emu.seed_invoices(3000, paid=0, partial=0, cancelled=0)
    checked: list[str] = []
    rendered: list[str] = []
    real_match, real_out = api_invoices.exact_filters_match, api_invoices.invoice_out

    def counting_match(record: dict[str, object], *args: object) -> bool:
        checked.append(str(record["id"]))
        return real_match(record, *args)  # type: ignore[arg-type]

    def counting_out(emulator: SevdeskEmulator, record: dict[str, object]) -> dict[str, object]:
        rendered.append(str(record["id"]))
        return real_out(emulator, record)

    monkeypatch.setattr(api_invoices, "exact_filters_match", counting_match)
    monkeypatch.setattr(api_invoices, "invoice_out", counting_out)

    assert len(ids(client, limit=10, offset=20)) == 10
    assert (len(checked), len(rendered)) == (30, 10)
    checked.clear()
    rendered.clear()
    assert client.get("/Invoice", params={"limit": 10, "countAll": "true"}).json()["total"] == "3000"
    assert (len(checked), len(rendered)) == (3000, 10)  # counting needs the scan, rendering does not
