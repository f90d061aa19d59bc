"""Retry rules: safe calls are retried, writes with an unknown outcome are sent exactly once,
429 (not applied) and connect failures (not sent) are retried for writes too."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import httpx
import pytest

from sevdesk_common.sevdesk.errors import (
    SevdeskAmbiguousWrite,
    SevdeskRateLimited,
    SevdeskUnavailable,
)
from sevdesk_common.sevdesk.payloads import InvoicePositionPayload, InvoiceSavePayload
from tests.unit.sevdesk.sevdesk_helpers import objects, recorded

INVOICE = {"id": "42", "objectName": "Invoice", "status": "100", "invoiceType": "RE"}


def _payload() -> InvoiceSavePayload:
    pos = InvoicePositionPayload(name="A", quantity=Decimal(1), price=Decimal(1), tax_rate=Decimal(19))
    return InvoiceSavePayload(
        contact_id="1",
        contact_person_id="2",
        invoice_date=date(2026, 1, 2),
        customer_internal_note="M-1",
        positions=[pos],
    )


def _sequence(*steps: httpx.Response | Exception) -> Callable[[httpx.Request], httpx.Response]:
    """Answer with the steps in order; the last one repeats."""
    remaining = list(steps)

    def handler(request: httpx.Request) -> httpx.Response:
        step = remaining.pop(0) if len(remaining) > 1 else remaining[0]
        if isinstance(step, Exception):
            raise step
        return step

    return handler


def test_get_retried_on_503_then_succeeds(make_client, sleeps) -> None:
    client, seen = make_client(_sequence(httpx.Response(503), objects([INVOICE])))
    assert client.get_invoice("42").id == "42"
    assert len(seen) == 2
    assert len(sleeps) == 1 and 1.0 <= sleeps[0] <= 2.0  # 1 s backoff plus up to 1 s jitter


def test_get_gives_up_after_max_attempts(make_client, sleeps) -> None:
    client, seen = make_client(_sequence(httpx.Response(502)))
    with pytest.raises(SevdeskUnavailable) as info:
        client.get_invoice("42")
    assert len(seen) == 3 and len(sleeps) == 2
    assert info.value.status == 502 and info.value.http_status == 502


def test_get_retried_on_read_timeout(make_client) -> None:
    client, seen = make_client(_sequence(httpx.ReadTimeout("slow"), objects({"version": "2.0"})))
    assert client.bookkeeping_system_version() == "2.0"
    assert len(seen) == 2


def test_transport_failure_after_retries_is_unavailable_503(make_client) -> None:
    client, seen = make_client(_sequence(httpx.ConnectError("refused")))
    with pytest.raises(SevdeskUnavailable) as info:
        client.list_sev_users()
    assert info.value.status == 503 and len(seen) == 3


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(503),
        httpx.Response(500, json={"error": {"message": "boom", "code": None}, "objects": None}),
        httpx.ReadTimeout("no answer"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.ReadError("connection reset"),
        httpx.Response(201, text="<html>gateway</html>"),
        httpx.Response(201, json={"objects": {"invoice": {"id": "1"}}}),  # unreadable answer
    ],
    ids=["503", "500", "read-timeout", "lost-response", "reset", "not-json", "bad-shape"],
)
def test_write_with_unknown_outcome_is_sent_once(make_client, sleeps, failure) -> None:
    client, seen = make_client(
        _sequence(failure, httpx.Response(201, json=recorded("write_invoice_save.json")))
    )
    with pytest.raises(SevdeskAmbiguousWrite) as info:
        client.save_invoice(_payload())
    assert len(seen) == 1 and sleeps == []
    exc = info.value
    assert exc.operation == "save_invoice" and exc.status == 503 and exc.code == "sevdesk_outcome_unknown"


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.send_by("1"),
        lambda c: c.cancel_invoice("1"),
        lambda c: c.send_via_email("1", "a@b.de", "s", "t"),
        lambda c: c.book_amount("1", Decimal("5"), date(2026, 1, 1), check_account_id="7"),
        lambda c: c.create_contact(customer_number="K-1", name="ACME"),
        lambda c: c.create_datev_csv_zip_export_job(date(2026, 1, 1), date(2026, 12, 31)),
    ],
    ids=["send_by", "cancel", "email", "book_amount", "contact", "datev-job-is-a-GET"],
)
def test_every_write_is_not_retried_on_5xx(make_client, call) -> None:
    client, seen = make_client(_sequence(httpx.Response(504)))
    with pytest.raises(SevdeskAmbiguousWrite):
        call(client)
    assert len(seen) == 1


def test_write_429_with_retry_after_is_retried(make_client, sleeps) -> None:
    saved = recorded("write_invoice_save.json")
    client, seen = make_client(
        _sequence(httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(201, json=saved))
    )
    assert client.save_invoice(_payload()).invoice.id == "135582100"
    assert len(seen) == 2 and sleeps == [7]


def test_429_exhausted_raises_rate_limited(make_client, sleeps) -> None:
    client, seen = make_client(_sequence(httpx.Response(429, headers={"Retry-After": "2"})))
    with pytest.raises(SevdeskRateLimited) as info:
        client.send_by("1")
    assert len(seen) == 3 and sleeps == [2, 2]
    assert info.value.status == 503 and info.value.retry_after == 2


def test_429_without_retry_after_backs_off(make_client, sleeps) -> None:
    client, seen = make_client(_sequence(httpx.Response(429), objects({"version": "2.0"})))
    assert client.bookkeeping_system_version() == "2.0"
    assert len(seen) == 2 and 1.0 <= sleeps[0] <= 2.0


def test_429_longer_than_the_retry_cap_is_not_waited_for(make_client, sleeps) -> None:
    client, seen = make_client(_sequence(httpx.Response(429, headers={"Retry-After": "120"})))
    with pytest.raises(SevdeskRateLimited) as info:
        client.get_invoice("1")
    assert len(seen) == 1 and sleeps == [] and info.value.retry_after == 120


def test_connect_error_on_a_write_is_retried(make_client) -> None:
    client, seen = make_client(_sequence(httpx.ConnectError("refused"), objects(INVOICE)))
    assert client.send_by("42").id == "42"
    assert len(seen) == 2


def test_connect_timeout_on_a_write_is_retried(make_client) -> None:
    client, seen = make_client(_sequence(httpx.ConnectTimeout("slow dns"), objects(INVOICE)))
    assert client.cancel_invoice("42").id == "42"
    assert len(seen) == 2


def test_idempotent_put_is_retried(make_client) -> None:
    client, seen = make_client(_sequence(httpx.Response(503), objects(None)))
    client.change_parameter("42", "template", "57986aee6bd2d53306068da1")
    assert len(seen) == 2
    assert [r.method for r in seen] == ["PUT", "PUT"]
