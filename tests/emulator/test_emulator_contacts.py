"""Contacts: create defaults, exact customerNumber filter, persons only with depth=1, paging."""

from __future__ import annotations

import httpx

from tests.emulator.helpers import create_contact, objects


def test_created_organisation_has_the_measured_defaults(client: httpx.Client) -> None:
    contact = create_contact(client, "K-1")

    assert contact["status"] == "1000"
    assert contact["buyerReference"] == "-"
    assert contact["defaultShowVat"] == "1"
    assert contact["customerNumber"] == "K-1"
    assert isinstance(contact["id"], str)


def test_customer_number_filter_is_exact(client: httpx.Client) -> None:
    create_contact(client, "K-1")
    create_contact(client, "K-10")

    found = objects(client.get("/Contact", params={"customerNumber": "K-1", "depth": 1}))

    assert [c["customerNumber"] for c in found] == ["K-1"]


def test_persons_are_listed_only_with_depth_1(client: httpx.Client) -> None:
    body = {"surename": "Max", "familyname": "Muster", "category": {"id": 3, "objectName": "Category"}}
    person = objects(client.post("/Contact", json=body), 201)
    create_contact(client, "K-ORG")

    assert person["name"] is None
    assert person["customerNumber"] == "1000"  # drawn from the customer number sequence
    assert [c["customerNumber"] for c in objects(client.get("/Contact"))] == ["K-ORG"]
    assert len(objects(client.get("/Contact", params={"depth": "1"}))) == 2
    assert objects(client.get("/Contact", params={"customerNumber": "1000"})) == []


def test_next_customer_number_peeks_without_consuming(client: httpx.Client) -> None:
    first = objects(client.get("/Contact/Factory/getNextCustomerNumber"))
    assert objects(client.get("/Contact/Factory/getNextCustomerNumber")) == first
    assert isinstance(first, str)


def test_paging_with_count_all(client: httpx.Client) -> None:
    for n in range(5):
        create_contact(client, f"P-{n}")

    response = client.get("/Contact", params={"limit": 2, "offset": 4, "countAll": "true"})

    assert response.json()["total"] == "5"
    assert [c["customerNumber"] for c in response.json()["objects"]] == ["P-0"]  # newest first


def test_get_by_id_is_a_list_of_one(client: httpx.Client) -> None:
    contact = create_contact(client)
    assert objects(client.get(f"/Contact/{contact['id']}")) == [contact]


def test_address_embeds_the_contact_and_email_main_is_a_string(client: httpx.Client) -> None:
    contact = create_contact(client)
    ref = {"id": int(contact["id"]), "objectName": "Contact"}
    address_body = {
        "contact": ref,
        "street": "Str. 1",
        "zip": "10115",
        "city": "Berlin",
        "country": {"id": 1, "objectName": "StaticCountry"},
        "category": {"id": 47, "objectName": "Category"},
    }
    email_body = {
        "contact": ref,
        "type": "EMAIL",
        "value": "a@b.de",
        "key": {"id": 2, "objectName": "CommunicationWayKey"},
        "main": True,
    }
    address = objects(client.post("/ContactAddress", json=address_body), 201)
    way = objects(client.post("/CommunicationWay", json=email_body), 201)

    assert address["contact"] == contact
    assert way["main"] == "1"
    listed = objects(client.get("/CommunicationWay", params={"contact[id]": contact["id"], "type": "EMAIL"}))
    assert [w["value"] for w in listed] == ["a@b.de"]


def test_a_contact_update_changes_only_what_it_names(client: httpx.Client) -> None:
    contact = create_contact(client, "K-1")

    updated = objects(
        client.put(
            f"/Contact/{contact['id']}", json={"buyerReference": "991-33333TEST-33", "governmentAgency": True}
        )
    )

    assert (updated["buyerReference"], updated["governmentAgency"]) == ("991-33333TEST-33", "1")
    assert updated["name"] == contact["name"] and updated["customerNumber"] == "K-1"
    assert objects(client.get(f"/Contact/{contact['id']}"))[0]["buyerReference"] == "991-33333TEST-33"
    assert client.put("/Contact/999999", json={}).status_code == 404
