"""Fault injection (in-process and over HTTP), the limiter, the request log and remote control."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from devtools.sevdesk_emulator import EmulatorServer, Fault, SevdeskEmulator
from tests.emulator.helpers import TOKEN, create_contact, invoice_body, objects

SAVE = "/Invoice/Factory/saveInvoice"


def save(client: httpx.Client, contact_id: str) -> httpx.Response:
    return client.post(SAVE, json=invoice_body(contact_id))


@pytest.mark.parametrize("apply", [False, True])
def test_status_fault_answers_an_error_and_applies_only_when_asked(
    client: httpx.Client, emu: SevdeskEmulator, apply: bool
) -> None:
    contact = create_contact(client)
    emu.faults.add(Fault(method="POST", path=SAVE, kind="status", status=503, apply=apply))

    response = save(client, contact["id"])

    assert response.status_code == 503 and response.json()["error"]["responseCode"] == 503
    assert len(emu.state.invoices) == (1 if apply else 0)
    assert save(client, contact["id"]).status_code == 201  # times=1 is used up


def test_rate_limit_fault_is_not_applied(client: httpx.Client, emu: SevdeskEmulator) -> None:
    contact = create_contact(client)
    emu.faults.add(Fault(method="*", path="^/Invoice", kind="rate_limit", retry_after=7, times=2))

    first, second = save(client, contact["id"]), save(client, contact["id"])

    assert [first.status_code, second.status_code] == [429, 429]
    assert first.headers["Retry-After"] == "7"
    assert emu.state.invoices == {}


def test_a_fault_can_fail_one_page_of_a_list(client: httpx.Client, emu: SevdeskEmulator) -> None:
    emu.seed_invoices(5)
    emu.faults.add(Fault(method="GET", path="/Invoice", query={"offset": "2"}, status=500, times=None))

    first = client.get("/Invoice", params={"limit": 2, "offset": 0})
    failing = client.get("/Invoice", params={"limit": 2, "offset": 2})
    last = client.get("/Invoice", params={"limit": 2, "offset": 4})

    assert [first.status_code, failing.status_code, last.status_code] == [200, 500, 200]
    assert len(objects(last)) == 1
    assert Fault.from_dict({"query": {"offset": 3}}).query == {"offset": "3"}  # as the control API sends it


@pytest.mark.parametrize("apply", [False, True])
def test_timeout_in_process(client: httpx.Client, emu: SevdeskEmulator, apply: bool) -> None:
    contact = create_contact(client)
    emu.faults.add(Fault(method="POST", path=SAVE, kind="timeout", apply=apply))

    with pytest.raises(httpx.ReadTimeout):
        save(client, contact["id"])

    assert len(emu.state.invoices) == (1 if apply else 0)


def test_lost_response_in_process_applies_the_write(client: httpx.Client, emu: SevdeskEmulator) -> None:
    contact = create_contact(client)
    emu.faults.add(Fault(method="POST", path=SAVE, kind="lost_response"))

    with pytest.raises(httpx.RemoteProtocolError):
        save(client, contact["id"])

    assert len(emu.state.invoices) == 1


def test_latency_and_forever_faults(client: httpx.Client, emu: SevdeskEmulator) -> None:
    emu.faults.add(Fault(path="/SevUser", kind="latency", delay=0.01, times=None))
    for _ in range(3):
        assert client.get("/SevUser").status_code == 200
    assert len(emu.faults) == 1
    emu.faults.clear()
    assert len(emu.faults) == 0


def test_faults_over_http(emu: SevdeskEmulator, http: httpx.Client) -> None:
    contact = objects(http.post("/Contact", json={"name": "X", "category": {"id": 3}}), 201)
    emu.faults.add(Fault(method="POST", path=SAVE, kind="lost_response"))
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        save(http, contact["id"])
    assert len(emu.state.invoices) == 1

    emu.faults.add(Fault(method="POST", path=SAVE, kind="timeout", delay=2))
    with pytest.raises(httpx.ReadTimeout):
        http.post(SAVE, json=invoice_body(contact["id"]), timeout=0.2)
    assert len(emu.state.invoices) == 1

    emu.faults.add(Fault(method="GET", path="/SevUser", kind="rate_limit", retry_after=3))
    limited = http.get("/SevUser")
    assert limited.status_code == 429 and limited.headers["retry-after"] == "3"
    emu.faults.add(Fault(method="GET", path="/SevUser", kind="status", status=500))
    assert http.get("/SevUser").status_code == 500
    assert http.get("/SevUser").status_code == 200


def test_optional_rate_limiter(client: httpx.Client, emu: SevdeskEmulator) -> None:
    emu.rate_limit_per_minute = 2
    contact = create_contact(client)
    assert save(client, contact["id"]).status_code == 201
    refused = save(client, contact["id"])
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert len(emu.state.invoices) == 1


def test_request_log_masks_the_token(client: httpx.Client, emu: SevdeskEmulator) -> None:
    client.get("/Contact", params={"customerNumber": "K-1", "depth": 1})
    create_contact(client, "K-2")

    first, second = emu.requests
    assert (first.method, first.path, first.query) == (
        "GET",
        "/Contact",
        {"customerNumber": "K-1", "depth": "1"},
    )
    assert first.headers["authorization"] == "***" and TOKEN not in repr(emu.requests)
    assert second.json["customerNumber"] == "K-2"
    emu.requests.clear()
    assert emu.requests == []


def test_remote_control(emu: SevdeskEmulator, server: EmulatorServer, http: httpx.Client) -> None:
    control = httpx.Client(base_url=server.control_url)
    contact = objects(http.post("/Contact", json={"name": "X", "category": {"id": 3}}), 201)
    invoice = objects(http.post(SAVE, json=invoice_body(contact["id"])), 201)["invoice"]
    http.put(f"/Invoice/{invoice['id']}/sendBy", json={"sendType": "VPDF", "sendDraft": False})

    assert [r["path"] for r in control.get("/requests").json()][-1] == f"/Invoice/{invoice['id']}/sendBy"
    assert (
        control.post("/faults", json={"path": "/SevUser", "kind": "status", "status": 503}).status_code == 201
    )
    assert http.get("/SevUser").status_code == 503
    assert control.post("/faults", json={"kind": "nonsense"}).status_code == 400
    booked = control.post(f"/invoices/{invoice['id']}/book", json={"amount": "10.00"})
    assert booked.json()["objects"]["toStatus"] == "750"
    state = control.get("/state").json()
    assert state["invoices"][invoice["id"]]["status"] == "750"
    assert {"invoices", "contacts", "emails", "export_jobs"} <= set(state)
    assert control.delete("/requests").status_code == 200 and emu.requests == []
    control.post("/faults", json={"path": "/SevUser", "kind": "status", "times": None})
    assert control.delete("/faults").status_code == 200 and len(emu.faults) == 0
    assert control.post("/reset").status_code == 200
    assert emu.state.invoices == {}
    control.close()


def test_twenty_parallel_writes_over_http(http: httpx.Client, emu: SevdeskEmulator) -> None:
    contact = objects(http.post("/Contact", json={"name": "X", "category": {"id": 3}}), 201)

    def publish(_: int) -> str:
        invoice = objects(save(http, contact["id"]), 201)["invoice"]
        sent = http.put(f"/Invoice/{invoice['id']}/sendBy", json={"sendType": "VPDF", "sendDraft": False})
        return objects(sent)["invoiceNumber"]

    with ThreadPoolExecutor(max_workers=20) as pool:
        numbers = list(pool.map(publish, range(20)))

    assert sorted(numbers) == sorted(f"RE-{n}" for n in range(1000, 1020))
    assert len(emu.requests) == 41


def test_reset_restores_the_seeded_account(client: httpx.Client, emu: SevdeskEmulator) -> None:
    create_contact(client)
    emu.faults.add(Fault(kind="latency", times=None))
    emu.reset()
    assert emu.state.contacts == {} and len(emu.faults) == 0 and emu.requests == []
    assert objects(client.get("/SevUser"))[0]["id"] == emu.state.sev_users[0]["id"]
