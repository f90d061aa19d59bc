"""Auth, envelope, encoding and the account basics (NOTES.md §0-§3)."""

from __future__ import annotations

import httpx
import pytest

from devtools.sevdesk_emulator import SevdeskEmulator
from tests.emulator.helpers import TOKEN, create_contact, objects


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "fedcba9876543210fedcba9876543210"}, {"Authorization": f"Bearer {TOKEN}"}],
    ids=["missing", "wrong", "bearer-prefix"],
)
def test_only_the_exact_raw_token_is_accepted(emu: SevdeskEmulator, headers: dict[str, str]) -> None:
    with httpx.Client(base_url=emu.base_url, transport=emu.transport(), headers=headers) as anonymous:
        response = anonymous.get("/Tools/bookkeepingSystemVersion")

    assert response.status_code == 401
    body = response.json()
    assert body["objects"] is None
    assert body["error"]["message"] == "Authentication required"
    assert body["error"]["responseCode"] == 401


def test_token_in_the_query_is_no_longer_accepted(emu: SevdeskEmulator) -> None:
    with httpx.Client(base_url=emu.base_url, transport=emu.transport()) as anonymous:
        assert anonymous.get("/SevUser", params={"token": TOKEN}).status_code == 401


def test_bookkeeping_version_and_the_seeded_user(client: httpx.Client, emu: SevdeskEmulator) -> None:
    assert objects(client.get("/Tools/bookkeepingSystemVersion")) == {"version": "2.0"}
    users = objects(client.get("/SevUser"))
    assert len(users) == 1
    assert users[0]["sevClient"] == {"id": emu.state.sev_client["id"], "objectName": "SevClient"}
    assert isinstance(users[0]["id"], str)


def test_templates_are_wrapped_in_objects_as_a_list(client: httpx.Client) -> None:
    templates = objects(client.get("/DocServer/getTemplatesWithThumb", params={"type": "Invoice"}))

    assert templates and all(t["type"] == "Invoice" for t in templates)
    assert all(len(t["id"]) == 24 and int(t["id"], 16) >= 0 for t in templates)
    assert [t["default"] for t in templates].count("1") == 1
    assert {"id", "name", "translationCode", "type", "default", "premium", "html"} <= set(templates[0])


def test_unknown_routes_and_ids_answer_sevdesk_errors(client: httpx.Client) -> None:
    missing = client.get("/Invoice/999")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == 151
    assert missing.json()["error"]["message"] == "No Model_Invoice with the id 999 was found"
    assert set(missing.json()["error"]) == {
        "exceptionUUID",
        "message",
        "errorCode",
        "code",
        "data",
        "responseCode",
    }
    assert client.get("/NoSuchThing").status_code == 404


@pytest.mark.parametrize("limit", ["0", "1001", "abc"])
def test_limit_outside_1_to_1000_is_a_400(client: httpx.Client, limit: str) -> None:
    assert client.get("/Invoice", params={"limit": limit}).status_code == 400


def test_unknown_query_params_are_ignored(client: httpx.Client) -> None:
    create_contact(client, "K-1")
    # the spec's typo: sevDesk ignores it and answers everything
    assert len(objects(client.get("/Contact", params={"customerIntenalNote": "x", "bogus": "1"}))) == 1


def test_form_encoded_bodies_are_understood(client: httpx.Client) -> None:
    form = {
        "name": "Form GmbH",
        "category[id]": "3",
        "category[objectName]": "Category",
        "customerNumber": "F-1",
    }
    created = objects(client.post("/Contact", data=form), 201)

    assert created["name"] == "Form GmbH"
    assert created["category"] == {"id": "3", "objectName": "Category"}
