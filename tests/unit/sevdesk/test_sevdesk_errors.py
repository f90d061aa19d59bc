"""sevDesk error bodies (recorded and documented) become the right SevdeskError, with the code
and message, and never with the token in them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import httpx
import pytest

from sevdesk_common.errors import AppError
from sevdesk_common.sevdesk.errors import (
    SevdeskError,
    SevdeskNotFound,
    SevdeskProtocolError,
    SevdeskRefused,
    SevdeskUnauthorized,
)
from tests.unit.sevdesk.sevdesk_helpers import TOKEN, error, objects, recorded


def _assert_clean(exc: SevdeskError) -> None:
    for text in (str(exc), repr(exc), exc.message, str(exc.body())):
        assert TOKEN not in text


def test_recorded_404_code_151_is_not_found(make_client) -> None:
    body = recorded("error_404_code_151.json")
    client, _ = make_client(lambda _: httpx.Response(404, json=body))
    with pytest.raises(SevdeskNotFound) as info:
        client.get_invoice("1")
    exc = info.value
    assert isinstance(exc, AppError) and exc.status == 404 and exc.code == "sevdesk_not_found"
    assert (exc.sevdesk_code, exc.http_status) == (151, 404)
    assert exc.exception_uuid == "00000000-0000-0000-0000-000000000000"
    assert "No Model_CheckAccountTransaction with the id 1 was found" in exc.message
    _assert_clean(exc)


def test_recorded_422_without_code_is_refused(make_client) -> None:
    body = recorded("error_422_offline_account.json")
    client, _ = make_client(lambda _: httpx.Response(422, json=body))
    with pytest.raises(SevdeskRefused) as info:
        client.book_amount("9", Decimal("1.00"), date(2026, 1, 2), check_account_id="7")
    exc = info.value
    assert exc.status == 422 and exc.code == "sevdesk_refused"
    assert exc.sevdesk_code is None and exc.http_status == 422
    assert (
        exc.message.startswith("sevDesk refused: You can only create transactions")
        and "(HTTP 422)" in exc.message
    )
    _assert_clean(exc)


def test_error_inside_http_200_on_cancel_is_refused(make_client) -> None:
    message = "Invoice is partially paid, please book a credit invoice manually"
    client, seen = make_client(lambda _: error(200, message, 390))
    with pytest.raises(SevdeskRefused) as info:
        client.cancel_invoice("135582398")
    exc = info.value
    assert exc.sevdesk_code == 390 and exc.http_status == 200 and exc.status == 422
    assert exc.message == f"sevDesk refused: {message} (code 390)"
    assert len(seen) == 1


def test_already_cancelled_is_a_conflict(make_client) -> None:
    client, _ = make_client(lambda _: error(422, "invoice already cancelled", 421))
    with pytest.raises(SevdeskRefused) as info:
        client.cancel_invoice("1")
    assert info.value.status == 409
    assert str(info.value) == "sevDesk refused: invoice already cancelled (code 421)"
    assert info.value.body()["error"]["details"] == {"sevdeskCode": 421}


def test_delete_non_draft_is_refused_409(make_client) -> None:
    client, seen = make_client(lambda _: error(409, "Invoice can only be deleted in status 100", 159))
    with pytest.raises(SevdeskRefused) as info:
        client.delete_invoice("1")
    assert info.value.status == 409 and info.value.sevdesk_code == 159
    assert [r.method for r in seen] == ["DELETE"]


@pytest.mark.parametrize("status", [401, 403])
def test_rejected_token(make_client, status: int) -> None:
    # The 401 body is UNCONFIRMED; this is NOTES.md's inferred shape, echoing the token for good measure.
    body = {"objects": None, "error": {"message": f"Authentication required for {TOKEN}", "code": None}}
    client, _ = make_client(lambda _: httpx.Response(status, json=body))
    with pytest.raises(SevdeskUnauthorized) as info:
        client.bookkeeping_system_version()
    exc = info.value
    assert exc.status == 502 and exc.code == "sevdesk_unauthorized" and exc.http_status == status
    assert "rejected the API token" in exc.message
    _assert_clean(exc)


def test_legacy_error_body_with_null_code(make_client) -> None:
    client, _ = make_client(
        lambda _: httpx.Response(
            400, json={"objects": None, "error": {"message": "Can't read file", "code": None}}
        )
    )
    with pytest.raises(SevdeskRefused, match="Can't read file"):
        client.get_voucher("1")


def test_error_with_missing_information_keeps_data(make_client) -> None:
    body = {
        "error": {"message": "missing", "code": 830, "data": {"missing information": ["sevClient_bankIban"]}}
    }
    client, _ = make_client(lambda _: httpx.Response(400, json=body))
    with pytest.raises(SevdeskRefused) as info:
        client.send_by("1")
    assert info.value.details == {"sevdeskCode": 830, "data": {"missing information": ["sevClient_bankIban"]}}


def test_non_json_answer_to_a_read_is_a_protocol_error(make_client) -> None:
    client, _ = make_client(lambda _: httpx.Response(200, text="<html>maintenance</html>"))
    with pytest.raises(SevdeskProtocolError) as info:
        client.get_invoice("1")
    assert info.value.status == 502


def test_wrong_shape_on_a_read_is_a_protocol_error(make_client) -> None:
    client, _ = make_client(lambda _: objects([{"id": "1"}]))  # no status
    with pytest.raises(SevdeskProtocolError):
        client.get_invoice("1")


def test_empty_list_for_get_by_id_is_not_found(make_client) -> None:
    client, _ = make_client(lambda _: objects([]))
    with pytest.raises(SevdeskNotFound):
        client.get_invoice("1")
