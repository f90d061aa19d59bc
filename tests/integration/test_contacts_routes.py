"""GET and POST /api/sevdesk/contacts through their Lambdas, against the emulator: the cached
list (how old it is, invalidated by a create), and the customer sync that shares publish's link
and write-once create."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from devtools.sevdesk_emulator import Fault
from tests.integration.test_publish import hand_over, publish
from tests.support.invoke import EXTERNAL, STAFF, ApiResult, invoke, load_event

pytestmark = pytest.mark.usefixtures("emulator", "token_configured")
COMPANY_NUMBER = "R1-CO-company-4711"  # the company of events/contacts_sync.json and billing_invoice_put.json


def sync_body(**changes: Any) -> dict[str, Any]:
    body = json.loads(load_event("contacts_sync")["body"])
    body.update(changes)
    return body


def sync(body: dict[str, Any] | None = None) -> ApiResult:
    return invoke("contacts_sync", claims=STAFF, body=sync_body() if body is None else body)


def listing(**query: str) -> ApiResult:
    return invoke("contacts_list", claims=STAFF, query=query or {})


def writes(emu: Any) -> list[str]:
    return [f"{r.method} {r.path}" for r in emu.requests if r.method != "GET"]


def contact_reads(emu: Any) -> int:
    """The list route's reads (a publish or sync looks a customer number up, that is no list)."""
    return sum(
        1
        for r in emu.requests
        if r.method == "GET" and r.path == "/Contact" and "customerNumber" not in r.query
    )


def person(**changes: Any) -> dict[str, Any]:
    customer = {
        "id": "ct-77",
        "firstName": "Erika",
        "lastName": "Mustermann",
        "email": "erika@example.com",
        "phone": "+49 170 1234567",
        "address": {"street": "Lindenweg 3", "zip": "80331", "city": "München"},
    }
    return {"contact": {**customer, **changes}}


# ---------------------------------------------------------------- sync


def test_a_new_company_is_created_with_address_email_and_phone_as_their_own_resources(emulator: Any) -> None:
    result = sync()

    assert result.status == 201, result.body
    answer = result.body
    assert answer["created"] is True
    assert answer["customerNumber"] == COMPANY_NUMBER
    assert (answer["address"], answer["email"], answer["phone"]) == ("stored", "stored", "stored")
    contact = answer["contact"]
    assert contact["type"] == "organisation"
    assert contact["name"] == "Musterbau GmbH"
    assert contact["category"] == "customer" and contact["categoryId"] == "3"
    assert contact["vatNumber"] == "DE123456789"
    [stored] = [c for c in emulator.state.contacts.values() if c["customerNumber"] == COMPANY_NUMBER]
    assert stored["id"] == contact["id"]
    [address] = [a for a in emulator.state.contact_addresses.values() if a["contact"]["id"] == contact["id"]]
    assert (address["street"], address["zip"], address["city"]) == ("Hauptstraße 1", "10115", "Berlin")
    ways = {
        w["type"]: w["value"]
        for w in emulator.state.communication_ways.values()
        if w["contact"]["id"] == contact["id"]
    }
    assert ways == {"EMAIL": "buchhaltung@musterbau.example", "PHONE": "+49 30 1234567"}


def test_syncing_again_changes_nothing_and_returns_the_same_contact(emulator: Any) -> None:
    first = sync()
    emulator.requests.clear()

    again = sync()

    assert again.status == 200, again.body
    assert again.body["created"] is False
    assert again.body["contact"]["id"] == first.body["contact"]["id"]
    assert (again.body["address"], again.body["email"], again.body["phone"]) == ("existing",) * 3
    assert writes(emulator) == []
    assert len([c for c in emulator.state.contacts.values() if c["customerNumber"] == COMPANY_NUMBER]) == 1


def test_a_person_with_another_category(emulator: Any) -> None:
    result = sync(person() | {"category": "supplier"})

    assert result.status == 201, result.body
    contact = result.body["contact"]
    assert contact["type"] == "person"
    assert (contact["firstName"], contact["lastName"], contact["name"]) == (
        "Erika",
        "Mustermann",
        "Erika Mustermann",
    )
    assert contact["category"] == "supplier"
    assert result.body["customerNumber"] == "R1-CT-ct-77"
    stored = emulator.state.contacts[contact["id"]]
    assert (stored["surename"], stored["familyname"], stored["category"]["id"]) == (
        "Erika",
        "Mustermann",
        "2",
    )


def test_a_customer_without_email_or_phone_gets_the_address_only(emulator: Any) -> None:
    body = person()
    del body["contact"]["email"], body["contact"]["phone"]

    result = sync(body)

    assert (result.body["address"], result.body["email"], result.body["phone"]) == (
        "stored",
        "not_given",
        "not_given",
    )
    assert [w for w in writes(emulator) if "CommunicationWay" in w] == []


def test_an_existing_customer_number_in_sevdesk_is_linked_and_returned_unchanged(emulator: Any) -> None:
    from sevdesk_common import contact_store

    created_by_hand = emulator.state.contacts
    from devtools.sevdesk_emulator.api_contacts import build_contact

    existing = build_contact(
        emulator, {"name": "Musterbau (by hand)", "customerNumber": COMPANY_NUMBER, "category": {"id": 3}}
    )
    emulator.requests.clear()

    result = sync()

    assert result.status == 200, result.body
    assert result.body["created"] is False
    assert result.body["contact"]["id"] == existing["id"]
    assert result.body["contact"]["name"] == "Musterbau (by hand)"  # not changed
    assert writes(emulator) == []
    assert contact_store.get_contact_link(COMPANY_NUMBER) == existing["id"]
    assert len([c for c in created_by_hand.values() if c["customerNumber"] == COMPANY_NUMBER]) == 1


def test_a_synced_customer_is_never_created_again_by_a_publish(emulator: Any) -> None:
    contact_id = sync().body["contact"]["id"]
    hand_over()  # the same company as events/contacts_sync.json
    emulator.requests.clear()

    published = publish()

    assert published.status == 200, published.body
    assert published.body["sevdeskContactId"] == contact_id
    assert "POST /Contact" not in writes(emulator)
    assert not [r for r in emulator.requests if r.path == "/Contact"]  # the link answered


def test_a_customer_a_publish_created_is_returned_by_the_sync(emulator: Any) -> None:
    hand_over()
    contact_id = publish().body["sevdeskContactId"]
    emulator.requests.clear()

    result = sync()

    assert result.status == 200
    assert result.body["contact"]["id"] == contact_id
    assert writes(emulator) == []


def test_a_lost_create_answer_is_settled_by_reading_and_never_duplicated(emulator: Any) -> None:
    emulator.faults.add(Fault(method="POST", path="/Contact", kind="lost_response"))

    result = sync()

    assert result.status == 201, result.body
    assert result.body["created"] is True
    assert len([c for c in emulator.state.contacts.values() if c["customerNumber"] == COMPANY_NUMBER]) == 1
    assert sync().body["contact"]["id"] == result.body["contact"]["id"]


def test_a_create_refused_by_sevdesk_leaves_nothing_behind(emulator: Any) -> None:
    from sevdesk_common import contact_store

    emulator.faults.add(Fault(method="POST", path="/Contact", kind="status", status=400))

    refused = sync()

    assert refused.status == 422, refused.body
    link = contact_store.load(COMPANY_NUMBER)
    assert link.sevdesk_contact_id is None and link.pending_write is None and link.lock_owner is None
    assert sync().status == 201


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body"),
        (sync_body() | person(), "body"),
        (sync_body(category="friend"), "category"),
        (sync_body(company={**sync_body()["company"], "phone": "call me"}), "company.phone"),
        (sync_body(company={**sync_body()["company"], "colour": "red"}), "company.colour"),
    ],
)
def test_invalid_customers_are_400(body: dict[str, Any], field: str, emulator: Any) -> None:
    result = sync(body)

    assert result.status == 400, result.body
    assert field in {d["field"] for d in result.body["error"]["details"]}
    assert emulator.requests.total == 0


def test_only_internal_staff_may_sync_or_list() -> None:
    assert invoke("contacts_sync", claims=EXTERNAL, body=sync_body()).status == 403
    assert invoke("contacts_list", claims=EXTERNAL).status == 403


# ---------------------------------------------------------------- list


def seed_contacts(emu: Any, count: int) -> None:
    from devtools.sevdesk_emulator.api_contacts import build_contact

    for n in range(count):
        build_contact(emu, {"name": f"Firma {n:02d}", "customerNumber": f"K-{n:02d}", "category": {"id": 3}})
    build_contact(
        emu, {"surename": "Max", "familyname": "Meier", "customerNumber": "K-P1", "category": {"id": 2}}
    )


def test_the_list_comes_from_sevdesk_once_then_from_the_cache_and_says_how_old(emulator: Any) -> None:
    seed_contacts(emulator, 3)

    cold = listing()
    warm = listing()

    assert cold.status == warm.status == 200
    assert contact_reads(emulator) == 1
    assert cold.body["cached"] is False and warm.body["cached"] is True
    assert warm.body["contacts"] == cold.body["contacts"]
    assert warm.body["fetchedAt"] == cold.body["fetchedAt"]
    assert 0 <= warm.body["ageSeconds"] <= 5
    names = [c["name"] for c in cold.body["contacts"]]
    assert names == ["Max Meier", "Firma 02", "Firma 01", "Firma 00"]  # persons too (depth=1), newest first
    assert cold.body["total"] == 4 and cold.body["nextOffset"] is None
    request = next(r for r in emulator.requests if r.path == "/Contact")
    assert request.query["depth"] == "1"


def test_a_contact_created_by_this_bundle_invalidates_the_cache(emulator: Any) -> None:
    seed_contacts(emulator, 2)
    listing()

    sync()
    after = listing()

    assert after.body["cached"] is False
    assert "Musterbau GmbH" in [c["name"] for c in after.body["contacts"]]
    assert contact_reads(emulator) == 2


def test_a_publish_that_creates_a_contact_invalidates_the_cache_too(emulator: Any) -> None:
    listing()
    hand_over()
    publish()

    assert listing().body["cached"] is False


def test_an_expired_page_is_read_again(emulator: Any) -> None:
    from sevdesk_common.repository import get_table

    listing()
    table = get_table()
    for item in table.scan()["Items"]:  # test setup only: age every cached page
        if item["pk"].startswith("CACHE#contacts#"):
            table.update_item(
                Key={"pk": item["pk"], "sk": item["sk"]},
                UpdateExpression="SET expiresAt = :past",
                ExpressionAttributeValues={":past": int(time.time()) - 1},
            )

    assert listing().body["cached"] is False
    assert contact_reads(emulator) == 2


def test_search_by_name_or_exact_customer_number_and_paging(emulator: Any) -> None:
    seed_contacts(emulator, 12)

    by_name = listing(name="firma 1")
    by_number = listing(customerNumber="K-03")
    suppliers = listing(category="supplier")
    first = listing(limit="5")
    second = listing(limit="5", offset="5")

    assert [c["name"] for c in by_name.body["contacts"]] == ["Firma 11", "Firma 10"]
    assert [c["customerNumber"] for c in by_number.body["contacts"]] == ["K-03"]
    assert [c["name"] for c in suppliers.body["contacts"]] == ["Max Meier"]
    assert first.body["nextOffset"] == 5 and first.body["total"] == 13
    assert [c["name"] for c in second.body["contacts"]] == [f"Firma {n:02d}" for n in (7, 6, 5, 4, 3)]
    assert second.body["nextOffset"] == 10


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": "101"}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"category": "friend"}, "category"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_list_queries_are_400(query: dict[str, str], field: str) -> None:
    result = listing(**query)

    assert result.status == 400, result.body
    assert field in {d["field"] for d in result.body["error"]["details"]}


def test_the_list_fixture_answers(emulator: Any) -> None:
    result = invoke("contacts_list")

    assert result.status == 200, result.body
    assert result.body["contacts"] == []
