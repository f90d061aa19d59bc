"""GET /api/sevdesk/kpis/revenue through its Lambda, against the emulator: a year of invoices,
cancellations (one across the turn of the year), a credit note with its refund, partial payments,
a write-off, drafts and vouchers at 19, 7 and 0 %, with payments on both sides of the year's
boundaries. Every figure is checked against totals this test works out from its own scenario
table, not from what sevDesk reports."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
import pytest

from devtools.sevdesk_emulator.store import SEV_USER_ID
from devtools.sevdesk_emulator.wire import BERLIN
from tests.support.invoke import ADMIN, STAFF, ApiResult, invoke

pytestmark = pytest.mark.usefixtures("emulator", "token_configured")
YEAR = 2026
D = Decimal
CENT = D("0.01")


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def day(text: str) -> datetime:
    y, m, d = (int(part) for part in text.split("-"))
    return datetime(y, m, d, 12, tzinfo=BERLIN)


@dataclass
class Doc:
    """One scenario document: its lines (net, rate), when it is dated, and what happens to it."""

    date: str
    lines: list[tuple[str, int]]
    payments: list[tuple[str, str, str]] = field(default_factory=list)  # (date, gross amount, account)
    cancelled_on: str | None = None
    credit_note_on: str | None = None
    refund: tuple[str, str] | None = None  # (date, gross)
    write_off_on: str | None = None
    draft: bool = False

    @property
    def net(self) -> Decimal:
        return sum((D(net) for net, _ in self.lines), D(0))

    @property
    def gross(self) -> Decimal:
        return sum((D(net) + cents(D(net) * rate / 100) for net, rate in self.lines), D(0))


INVOICES = {
    "A": Doc("2026-01-15", [("100", 19), ("50", 7)], payments=[("2026-02-03", "172.50", "bank")]),
    "B": Doc(
        "2026-03-10", [("200", 19)], payments=[("2026-03-20", "100", "bank"), ("2026-04-02", "50", "cash")]
    ),
    "C": Doc("2026-05-05", [("300", 19)], cancelled_on="2026-06-01"),
    "D": Doc("2025-12-20", [("400", 19)], payments=[("2026-01-10", "476", "bank")]),  # paid across the turn
    "E": Doc("2026-12-28", [("100", 0)], payments=[("2027-01-05", "100", "bank")]),  # paid in the next year
    "F": Doc("2026-07-01", [("500", 19)], payments=[("2026-07-15", "95", "bank")], write_off_on="2026-08-01"),
    "G": Doc("2026-09-09", [("1000", 19)], draft=True),
    "H": Doc(
        "2026-10-10",
        [("100", 19)],
        payments=[("2026-10-15", "119", "bank")],
        credit_note_on="2026-10-20",
        refund=("2026-10-25", "119"),
    ),
    "I": Doc("2025-11-11", [("100", 19)], cancelled_on="2026-02-02"),  # cancelled across the turn
}
VOUCHERS = {
    "V1": Doc("2026-01-20", [("100", 19)], payments=[("2026-02-01", "119", "bank")]),
    "V2": Doc("2026-02-14", [("50", 7)]),
    "V3": Doc("2026-03-03", [("30", 0)], payments=[("2026-03-05", "30", "cash")]),
    "V4": Doc("2026-04-04", [("999", 19)], draft=True),
    "V5": Doc("2025-12-30", [("200", 19)], payments=[("2026-01-05", "238", "bank")]),
    "V6": Doc("2026-06-06", [("100", 19), ("100", 7)], payments=[("2026-06-20", "113", "bank")]),
}


def expected() -> dict[str, dict[int, dict[str, Decimal]]]:
    """The figures of YEAR worked out from the scenario table above."""
    books: dict[str, dict[int, dict[str, Decimal]]] = {
        basis: defaultdict(lambda: defaultdict(Decimal)) for basis in ("accrual", "cash")
    }

    def month(text: str) -> int | None:
        return int(text[5:7]) if text.startswith(str(YEAR)) else None

    for doc in INVOICES.values():
        if doc.draft:
            continue
        if (m := month(doc.date)) is not None:
            books["accrual"][m]["revenue"] += doc.net
        if doc.cancelled_on and (m := month(doc.cancelled_on)) is not None:
            books["accrual"][m]["revenue"] -= doc.net  # the cancellation invoice, once
        if doc.credit_note_on and (m := month(doc.credit_note_on)) is not None:
            books["accrual"][m]["revenue"] -= doc.net
        for paid_on, gross, _ in doc.payments:
            if (m := month(paid_on)) is not None:
                books["cash"][m]["revenue"] += cents(D(gross) * doc.net / doc.gross)
        if doc.refund and (m := month(doc.refund[0])) is not None:
            books["cash"][m]["revenue"] -= cents(D(doc.refund[1]) * doc.net / doc.gross)
        if doc.write_off_on and (m := month(doc.write_off_on)) is not None:
            paid = sum((D(g) for _, g, _ in doc.payments), D(0))
            books["cash"][m]["written_off"] += doc.gross - paid
    for doc in VOUCHERS.values():
        if doc.draft:
            continue
        if (m := month(doc.date)) is not None:
            books["accrual"][m]["expenses"] += doc.net
        for paid_on, gross, _ in doc.payments:
            if (m := month(paid_on)) is not None:
                books["cash"][m]["expenses"] += cents(D(gross) * doc.net / doc.gross)
    return books


@pytest.fixture
def scenario(emulator: Any) -> None:
    """The scenario, written into the emulator through its API and its booking helpers."""
    http = httpx.Client(
        base_url=emulator.base_url, transport=emulator.transport(), headers={"Authorization": emulator.token}
    )
    real_clock = emulator.clock
    contact = http.post(
        "/Contact", json={"name": "KPI Kunde GmbH", "category": {"id": 3, "objectName": "Category"}}
    ).json()["objects"]["id"]

    def on(when: str, action: Callable[[], Any]) -> Any:
        emulator.clock = lambda: day(when)
        try:
            return action()
        finally:
            emulator.clock = real_clock

    events: list[tuple[str, Callable[[], Any]]] = []
    for name, doc in INVOICES.items():
        body = {
            "invoice": {
                "objectName": "Invoice",
                "mapAll": True,
                "contact": {"id": contact, "objectName": "Contact"},
                "contactPerson": {"id": SEV_USER_ID, "objectName": "SevUser"},
                "invoiceDate": doc.date[8:10] + "." + doc.date[5:7] + "." + doc.date[:4],
                "status": 100,
                "invoiceType": "RE",
                "currency": "EUR",
                "taxRule": {"id": 1, "objectName": "TaxRule"},
                "taxText": "Umsatzsteuer",
                "customerInternalNote": f"KPI-{name}",
            },
            "invoicePosSave": [
                {
                    "objectName": "InvoicePos",
                    "mapAll": True,
                    "name": f"{name}{n}",
                    "quantity": 1,
                    "price": net,
                    "taxRate": rate,
                    "unity": {"id": 1, "objectName": "Unity"},
                }
                for n, (net, rate) in enumerate(doc.lines)
            ],
        }
        created = http.post("/Invoice/Factory/saveInvoice", json=body)
        assert created.status_code == 201, created.text
        invoice_id = created.json()["objects"]["invoice"]["id"]
        assert D(created.json()["objects"]["invoice"]["sumGross"]) == doc.gross
        if doc.draft:
            continue
        assert (
            http.put(
                f"/Invoice/{invoice_id}/sendBy", json={"sendType": "VPDF", "sendDraft": False}
            ).status_code
            == 200
        )
        for paid_on, gross, account in doc.payments:
            events.append(
                (
                    paid_on,
                    lambda i=invoice_id, g=gross, a=account, w=paid_on: emulator.book_payment(
                        i, g, day(w), a
                    ),
                )
            )
        if doc.write_off_on:
            events.append(
                (doc.write_off_on, lambda i=invoice_id, w=doc.write_off_on: emulator.write_off(i, day(w)))
            )
        if doc.cancelled_on:
            events.append(
                (
                    doc.cancelled_on,
                    lambda i=invoice_id: http.post(f"/Invoice/{i}/cancelInvoice").raise_for_status(),
                )
            )
        if doc.credit_note_on:
            note: dict[str, str] = {}
            events.append(
                (
                    doc.credit_note_on,
                    lambda i=invoice_id, n=note: n.update(id=emulator.add_credit_note(i, finalize=True)),
                )
            )
            assert doc.refund is not None
            refund_on, refund = doc.refund
            events.append(
                (
                    refund_on,
                    lambda n=note, g=refund, w=refund_on: emulator.refund_credit_note(n["id"], g, day(w)),
                )
            )
    for name, doc in VOUCHERS.items():
        body = {
            "voucher": {
                "objectName": "Voucher",
                "mapAll": True,
                "voucherDate": doc.date[8:10] + "." + doc.date[5:7] + "." + doc.date[:4],
                "supplierName": "Lieferant",
                "description": name,
                "status": 50 if doc.draft else 100,
                "creditDebit": "C",
                "voucherType": "VOU",
                "taxRule": {"id": 9, "objectName": "TaxRule"},
            },
            "voucherPosSave": [
                {
                    "objectName": "VoucherPos",
                    "mapAll": True,
                    "accountDatev": {"id": 4930},
                    "taxRate": rate,
                    "net": True,
                    "sumNet": net,
                }
                for net, rate in doc.lines
            ],
        }
        created = http.post("/Voucher/Factory/saveVoucher", json=body)
        assert created.status_code == 201, created.text
        voucher_id = created.json()["objects"]["voucher"]["id"]
        assert D(created.json()["objects"]["voucher"]["sumGross"]) == doc.gross
        for paid_on, gross, account in doc.payments:
            events.append(
                (
                    paid_on,
                    lambda v=voucher_id, g=gross, a=account, w=paid_on: emulator.pay_voucher(v, g, day(w), a),
                )
            )
    for when, action in sorted(events, key=lambda event: event[0]):  # in the order they happened
        on(when, action)


def kpis(year: str = str(YEAR), claims: dict[str, str] = ADMIN) -> ApiResult:
    return invoke("kpi_revenue", claims=claims, query={"year": year})


def figures(basis: dict[str, Any]) -> dict[int, dict[str, Decimal]]:
    return {
        m["month"]: {key: D(m[key]) for key in ("revenue", "expenses", "profit", "writtenOff")}
        for m in basis["months"]
    }


@pytest.mark.usefixtures("scenario")
@pytest.mark.parametrize("basis", ["accrual", "cash"])
def test_every_month_and_the_year_match_the_scenario(basis: str) -> None:
    result = kpis()
    assert result.status == 200, result.body
    want = expected()[basis]
    got = figures(result.body[basis])

    for month in range(1, 13):
        revenue, expenses = want[month]["revenue"], want[month]["expenses"]
        assert got[month]["revenue"] == revenue, (basis, month)
        assert got[month]["expenses"] == expenses, (basis, month)
        assert got[month]["profit"] == revenue - expenses, (basis, month)
        assert got[month]["writtenOff"] == want[month]["written_off"], (basis, month)
    total = result.body[basis]["total"]
    assert D(total["revenue"]) == sum((want[m]["revenue"] for m in range(1, 13)), D(0))
    assert D(total["expenses"]) == sum((want[m]["expenses"] for m in range(1, 13)), D(0))
    assert D(total["profit"]) == D(total["revenue"]) - D(total["expenses"])
    assert result.body[basis]["basis"] == basis and result.body[basis]["definition"]


@pytest.mark.usefixtures("scenario")
def test_the_hard_cases_one_by_one() -> None:
    body = kpis().body
    accrual, cash = figures(body["accrual"]), figures(body["cash"])

    # C: +300 in May, its cancellation invoice -300 in June; nothing received
    assert accrual[5]["revenue"] == D("300") and accrual[6]["revenue"] == D("-300")
    # I (dated 2025) cancelled in February 2026: -100 once, in February
    assert accrual[2]["revenue"] == D("-100")
    # H: invoiced, credit note and refund in October: nothing left on either basis
    assert accrual[10]["revenue"] == 0 and cash[10]["revenue"] == 0
    # F: 95 of 595 gross received (net 79.83); the other 500 written off, which is no cash
    assert (
        cash[7]["revenue"] == D("79.83") and cash[8]["revenue"] == 0 and cash[8]["writtenOff"] == D("500.00")
    )
    # D: a 2025 invoice paid in January 2026 is January's cash, no 2026 accrual
    assert cash[1]["revenue"] == D("400.00")
    # E: December 2026 revenue, received in 2027
    assert accrual[12]["revenue"] == D("100") and cash[12]["revenue"] == 0
    # G and V4 are drafts: never counted
    assert accrual[9]["revenue"] == 0 and accrual[4]["expenses"] == 0
    assert body["counted"]["skippedDrafts"] == 2
    # V6: 100 @19 % + 100 @7 % = 226 gross, 113 paid = 100.00 net
    assert cash[6]["expenses"] == D("100.00") and accrual[6]["expenses"] == D("200")


@pytest.mark.usefixtures("scenario")
def test_a_year_boundary_is_respected_both_ways() -> None:
    previous = kpis("2025").body
    following = kpis("2027").body

    assert D(previous["accrual"]["total"]["revenue"]) == D("500")  # D 400 + I 100 (its SR is 2026's)
    assert D(previous["accrual"]["total"]["expenses"]) == D("200")  # V5
    assert D(previous["cash"]["total"]["revenue"]) == 0
    assert D(following["cash"]["months"][0]["revenue"]) == D("100.00")  # E, paid 2027-01-05
    assert D(following["accrual"]["total"]["revenue"]) == 0


@pytest.mark.usefixtures("scenario")
def test_the_answer_is_cached_and_says_when_it_was_computed(emulator: Any) -> None:
    emulator.requests.clear()
    first = kpis()
    cold_requests = len(list(emulator.requests))
    second = kpis()

    assert first.body["cached"] is False and second.body["cached"] is True
    assert second.body["computedAt"] == first.body["computedAt"]
    assert 0 <= second.body["ageSeconds"] <= 5
    assert len(list(emulator.requests)) == cold_requests  # the second read sevDesk not at all
    assert first.body["sevdeskRequests"] == cold_requests
    assert second.body["accrual"] == first.body["accrual"]


@pytest.mark.usefixtures("scenario")
def test_a_voucher_created_through_the_bundle_invalidates_the_figures() -> None:
    import json

    from tests.support.invoke import load_event

    before = kpis().body
    body = json.loads(load_event("vouchers_create")["body"])
    body["voucherDate"] = "2026-11-20"
    created = invoke("vouchers_create", claims=STAFF, body=body, event=load_event("vouchers_create"))
    assert created.status == 201, created.body

    after = kpis().body

    assert after["cached"] is False
    assert D(after["accrual"]["months"][10]["expenses"]) == D(
        before["accrual"]["months"][10]["expenses"]
    ) + D("120.00")


def test_an_empty_year_is_all_zero_and_only_admins_may_ask(emulator: Any) -> None:
    result = kpis("2031")

    assert result.status == 200, result.body
    assert result.body["year"] == 2031 and result.body["currency"] == "EUR"
    assert all(D(m["revenue"]) == 0 for m in result.body["cash"]["months"])
    assert kpis(claims=STAFF).status == 403


@pytest.mark.parametrize("year", ["1999", "2101", "twenty", "2026.5"])
def test_a_bad_year_is_400(year: str) -> None:
    result = kpis(year)

    assert result.status == 400, result.body
    assert result.body["error"]["details"][0]["field"] == "year"


def test_the_fixture_answers(emulator: Any) -> None:
    result = invoke("kpi_revenue")

    assert result.status == 200, result.body
    assert result.body["year"] == 2026
