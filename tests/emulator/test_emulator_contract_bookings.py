"""Contract (3): the newer endpoints (check accounts, transactions, credit notes, voucher booking) against
sevDesk's OpenAPI spec, where it documents them (wire translation as in contract (2))."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from devtools.sevdesk_emulator import SevdeskEmulator
from devtools.sevdesk_emulator.store import BANK_ACCOUNT_ID
from tests.emulator.contract import require_shared, schema_errors
from tests.emulator.helpers import create_invoice, finalize, objects

pytestmark = pytest.mark.usefixtures("shared")


@pytest.fixture
def shared() -> None:
    require_shared()


@pytest.fixture
def world(client: httpx.Client, emu: SevdeskEmulator) -> dict[str, str]:
    sent = finalize(client, create_invoice(client)["id"])
    emu.book_payment(sent["id"], "5.00")
    transaction = next(iter(emu.state.transactions))
    note = emu.add_credit_note(sent["id"])
    return {"account": BANK_ACCOUNT_ID, "transaction": transaction, "note": note}


DOCUMENTED = [
    ("/CheckAccount", "/CheckAccount"),
    ("/CheckAccount/{checkAccountId}", "/CheckAccount/{account}"),
    ("/CheckAccountTransaction", "/CheckAccountTransaction"),
    ("/CheckAccountTransaction/{checkAccountTransactionId}", "/CheckAccountTransaction/{transaction}"),
    ("/CreditNote", "/CreditNote"),
    ("/CreditNote/{creditNoteId}", "/CreditNote/{note}"),
]


@pytest.mark.parametrize(("spec_path", "url"), DOCUMENTED)
def test_reads_validate_against_the_spec(
    client: httpx.Client, world: dict[str, str], spec_path: str, url: str
) -> None:
    response = client.get(url.format(**world))

    assert response.status_code == 200
    assert schema_errors(spec_path, "get", "200", response.json()) == []


def test_create_from_invoice_validates(client: httpx.Client, emu: SevdeskEmulator) -> None:
    sent = finalize(client, create_invoice(client)["id"])
    body: dict[str, Any] = {"invoice": {"id": int(sent["id"]), "objectName": "Invoice"}}

    response = client.post("/CreditNote/Factory/createFromInvoice", json=body)

    assert response.status_code == 201
    assert schema_errors("/CreditNote/Factory/createFromInvoice", "post", "201", response.json()) == []


def test_created_transaction_validates(client: httpx.Client) -> None:
    line = {"valueDate": 1790805600, "amount": "12.5", "status": 100}
    line["checkAccount"] = {"id": int(BANK_ACCOUNT_ID), "objectName": "CheckAccount"}

    created = client.post("/CheckAccountTransaction", json=line)

    assert created.status_code == 201
    assert schema_errors("/CheckAccountTransaction", "post", "201", created.json()) == []
    assert (
        objects(client.get(f"/CheckAccountTransaction/{created.json()['objects']['id']}"))[0]["amount"]
        == "12.5"
    )
