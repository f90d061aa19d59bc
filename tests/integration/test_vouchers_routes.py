"""GET and POST /api/sevdesk/vouchers through their Lambdas, against the emulator: list by period
and status; create via the voucher factory with a PDF, validated like invoices, never twice."""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any

import pytest

from devtools.sevdesk_emulator import Fault
from tests.support.invoke import EXTERNAL, STAFF, ApiResult, invoke, load_event

pytestmark = pytest.mark.usefixtures("emulator", "token_configured")
SAVE = "/Voucher/Factory/saveVoucher"
UPLOAD = "/Voucher/Factory/uploadTempFile"
KEY = "r1-voucher-BS-2026-0815"  # the Idempotency-Key of events/vouchers_create.json


def voucher_body(**changes: Any) -> dict[str, Any]:
    body = json.loads(load_event("vouchers_create")["body"])
    body.update(changes)
    return body


def create(
    body: dict[str, Any] | None = None, key: str | None = KEY, claims: dict[str, str] = STAFF
) -> ApiResult:
    event = load_event("vouchers_create")
    if key is None:
        del event["headers"]["idempotency-key"]
    else:
        event["headers"]["idempotency-key"] = key
    return invoke(
        "vouchers_create", claims=claims, body=voucher_body() if body is None else body, event=event
    )


def saves(emu: Any) -> int:
    return sum(1 for r in emu.requests if r.method == "POST" and r.path == SAVE)


def ours(emu: Any, description: str = "BS-2026-0815") -> list[dict[str, Any]]:
    return [v for v in emu.state.vouchers.values() if v["description"] == description]


def test_a_voucher_with_a_pdf_is_created_once_with_its_sums(emulator: Any) -> None:
    result = create()

    assert result.status == 201, result.body
    answer = result.body
    assert answer["created"] is True
    assert answer["idempotencyKey"] == KEY
    voucher = answer["voucher"]
    # 100.00 net at 19 % -> 119.00 gross; 21.40 gross at 7 % -> 20.00 net
    assert (voucher["sumNet"], voucher["sumTax"], voucher["sumGross"]) == ("120.00", "20.40", "140.40")
    assert voucher["status"] == "open" and voucher["statusCode"] == 100
    assert voucher["voucherDate"] == "2026-11-20"
    assert voucher["supplierName"] == "Bürobedarf Schmidt KG"
    [stored] = ours(emulator)
    assert stored["id"] == voucher["id"] and stored["creditDebit"] == "C"
    assert stored["_attachment"] == answer["attachment"]  # the uploaded PDF is the voucher's document
    assert [r.method for r in emulator.requests if r.path == UPLOAD] == ["POST"]
    positions = sorted(
        (p["taxRate"], p["sumNet"], p["sumGross"], p["net"])
        for p in emulator.state.voucher_positions.values()
        if p["voucher"]["id"] == voucher["id"]
    )
    assert positions == [("19", "100", "119", "1"), ("7", "20", "21.4", "0")]


def test_the_same_request_again_creates_nothing_and_answers_the_first_voucher(emulator: Any) -> None:
    first = create()
    emulator.requests.clear()

    again = create()

    assert again.status == 200, again.body
    assert again.body["created"] is False
    assert again.body["voucher"]["id"] == first.body["voucher"]["id"]
    assert list(emulator.requests) == []  # answered from the journal
    assert len(ours(emulator)) == 1


def test_without_a_key_the_same_body_is_the_same_request(emulator: Any) -> None:
    first = create(key=None)
    again = create(key=None)
    other = create(voucher_body(description="BS-2026-0816"), key=None)

    assert (first.status, again.status, other.status) == (201, 200, 201)
    assert again.body["voucher"]["id"] == first.body["voucher"]["id"]
    assert first.body["idempotencyKey"].startswith("sha256:")
    assert len(ours(emulator)) == 1 and len(ours(emulator, "BS-2026-0816")) == 1


def test_a_key_used_for_another_voucher_is_a_409(emulator: Any) -> None:
    create()

    reused = create(voucher_body(description="BS-OTHER"))

    assert reused.status == 409, reused.body
    assert reused.body["error"]["code"] == "idempotency_key_reused"
    assert ours(emulator, "BS-OTHER") == []


@pytest.mark.parametrize(
    "fault",
    [
        Fault(method="POST", path=SAVE, kind="lost_response"),
        Fault(method="POST", path=SAVE, kind="status", status=500, apply=True),
        Fault(method="POST", path=SAVE, kind="timeout", apply=True, delay=3),
    ],
    ids=["lost answer", "applied then 500", "applied then timeout"],
)
def test_an_applied_create_whose_answer_was_lost_is_found_not_repeated(emulator: Any, fault: Fault) -> None:
    emulator.faults.add(fault)

    result = create()
    if result.status == 503:  # not found by the first read: the retry reads again
        result = create()

    assert result.status in (200, 201), result.body
    assert len(ours(emulator)) == 1
    assert result.body["voucher"]["id"] == ours(emulator)[0]["id"]
    assert saves(emulator) == 1
    assert create().body["voucher"]["id"] == result.body["voucher"]["id"]


def test_a_create_that_was_not_applied_is_sent_again_by_the_retry(emulator: Any) -> None:
    emulator.faults.add(Fault(method="POST", path=SAVE, kind="status", status=503))

    unknown = create()
    retried = create()

    assert unknown.status == 503, unknown.body
    assert unknown.body["error"]["code"] == "sevdesk_outcome_unknown"
    assert retried.status == 201, retried.body
    assert len(ours(emulator)) == 1
    assert saves(emulator) == 2


def test_a_refused_create_can_be_sent_again_at_once(emulator: Any) -> None:
    emulator.faults.add(Fault(method="POST", path=SAVE, kind="status", status=400))

    refused = create()
    retried = create()

    assert refused.status == 422, refused.body
    assert retried.status == 201, retried.body
    assert len(ours(emulator)) == 1


def test_a_failed_upload_books_nothing_and_the_retry_uploads_again(emulator: Any) -> None:
    emulator.faults.add(Fault(method="POST", path=UPLOAD, kind="lost_response"))

    failed = create()
    retried = create()

    assert failed.status == 503, failed.body
    assert saves(emulator) == 1  # only the retry's
    assert retried.status == 201
    assert len(ours(emulator)) == 1


def test_a_voucher_without_attachment_and_as_draft(emulator: Any) -> None:
    body = voucher_body(status="draft")
    del body["attachment"]

    result = create(body)

    assert result.status == 201, result.body
    assert result.body["voucher"]["status"] == "draft"
    assert result.body["attachment"] is None
    assert not any(r.path == UPLOAD for r in emulator.requests)


def position(**changes: Any) -> dict[str, Any]:
    return {"accountDatevId": "4930", "taxRate": 19, "netAmount": "10.00", **changes}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"positions": []}, "positions"),
        ({"positions": [position(taxRate=16)]}, "positions.0.taxRate"),
        ({"positions": [position(grossAmount="11.90")]}, "positions.0"),
        ({"positions": [position(netAmount=None)]}, "positions.0"),
        ({"positions": [position(netAmount="-5")]}, "positions.0.netAmount"),
        ({"positions": [position(netAmount="1.005")]}, "positions.0.netAmount"),
        ({"positions": [position(accountDatevId="SKR03-4930")]}, "positions.0.accountDatevId"),
        ({"voucherDate": "20.11.2026"}, "voucherDate"),
        ({"voucherDate": "0001-01-01"}, "voucherDate"),  # sevDesk counts days in Unix seconds
        ({"currency": "eur"}, "currency"),
        ({"supplierName": " "}, "supplierName"),
        ({"taxRule": 1}, "taxRule"),
        (
            {"attachment": {"filename": "x.pdf", "contentBase64": base64.b64encode(b"GIF89a....").decode()}},
            "attachment.contentBase64",
        ),
        ({"attachment": {"filename": "x.exe", "contentBase64": "JVBERi0xLjQK"}}, "attachment.filename"),
        ({"iban": "DE00"}, "iban"),
    ],
)
def test_invalid_vouchers_are_400_and_nothing_is_sent(
    changes: dict[str, Any], field: str, emulator: Any
) -> None:
    body = voucher_body()
    for key, value in changes.items():
        body[key] = value
    body["positions"] = [{k: v for k, v in p.items() if v is not None} for p in body["positions"]]

    result = create(body)

    assert result.status == 400, result.body
    assert field in {d["field"] for d in result.body["error"]["details"]}, result.body
    assert emulator.requests.total == 0


def test_a_bad_idempotency_key_is_400(emulator: Any) -> None:
    result = create(key="short")

    assert result.status == 400
    assert emulator.requests.total == 0


def test_only_internal_staff() -> None:
    assert create(claims=EXTERNAL).status == 403
    assert invoke("vouchers_list", claims=EXTERNAL).status == 403


# ---------------------------------------------------------------- list


def listing(**query: str) -> ApiResult:
    return invoke("vouchers_list", claims=STAFF, query=query or {})


def test_the_list_by_period_and_status(emulator: Any) -> None:
    from datetime import datetime

    from devtools.sevdesk_emulator.wire import BERLIN

    ids = emulator.seed_vouchers(6, first_day=datetime(2026, 3, 30, tzinfo=BERLIN), per_day=2, paid=0.5)

    march_april = listing(dateFrom="2026-03-30", dateTo="2026-03-31")
    paid = listing(status="paid")
    everything = listing(limit="4")
    rest = listing(limit="4", offset="4")

    assert [v["id"] for v in march_april.body["vouchers"]] == list(reversed(ids[:4]))
    assert {v["status"] for v in paid.body["vouchers"]} == {"paid"} and len(paid.body["vouchers"]) == 3
    assert everything.body["total"] == 6 and everything.body["nextOffset"] == 4
    assert len(rest.body["vouchers"]) == 2 and rest.body["nextOffset"] is None
    voucher = everything.body["vouchers"][0]
    assert Decimal(voucher["sumGross"]) > 0 and voucher["creditDebit"] == "C"


def test_the_list_fixture_answers(emulator: Any) -> None:
    result = invoke("vouchers_list")

    assert result.status == 200, result.body
    assert result.body["vouchers"] == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"status": "overdue"}, "status"),
        ({"dateFrom": "2026-02-01", "dateTo": "2026-01-01"}, "dateFrom"),
        ({"limit": "0"}, "limit"),
    ],
)
def test_bad_list_queries_are_400(query: dict[str, str], field: str) -> None:
    result = listing(**query)

    assert result.status == 400, result.body
    assert field in {d["field"] for d in result.body["error"]["details"]}


def test_an_identical_request_in_flight_makes_the_second_wait_then_409(
    emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import UTC, datetime, timedelta

    from sevdesk_common import voucher_store
    from sevdesk_common.models.voucher import VoucherCreate
    from sevdesk_common.services import vouchers

    monkeypatch.setattr(vouchers, "WAIT_SECONDS", 0.3)
    body_hash = VoucherCreate.model_validate(voucher_body()).body_hash()
    held = voucher_store.load(KEY, body_hash).changed(
        lock_owner="voucher:someone-else", lock_expires_at=datetime.now(UTC) + timedelta(seconds=30)
    )
    voucher_store.save(held)

    busy = create()

    assert busy.status == 409, busy.body
    assert busy.body["error"]["code"] == "voucher_busy"
    assert busy.headers["retry-after"] == "5"
    assert list(emulator.requests) == []


def test_a_crashed_holder_is_taken_over_after_its_lease(emulator: Any) -> None:
    from datetime import UTC, datetime, timedelta

    from sevdesk_common import voucher_store
    from sevdesk_common.models.record import PendingWrite
    from sevdesk_common.models.voucher import VoucherCreate

    body_hash = VoucherCreate.model_validate(voucher_body()).body_hash()
    crashed = voucher_store.load(KEY, body_hash).changed(
        lock_owner="voucher:crashed",
        lock_expires_at=datetime.now(UTC) - timedelta(seconds=1),
        pending_write=PendingWrite(
            action="voucher", operation="saveVoucher", at=datetime.now(UTC) - timedelta(minutes=5)
        ),
    )
    voucher_store.save(crashed)

    result = create()

    assert result.status == 201, result.body
    assert len(ours(emulator)) == 1
    assert voucher_store.load(KEY, body_hash).lock_owner is None
