"""A DATEV export over HTTP on the local stack, as an admin: the settings, the start, the status
polled until it succeeded (the state machine runs in moto with its steps in Lambda-like worker
processes), the presigned link, and the ZIP unpacked down to the booking batch."""

from __future__ import annotations

import csv
import hashlib
import io
import time
import zipfile
from typing import Any

import httpx
import pytest

from devtools.local.stack import LocalStack
from tests.e2e.e2e_support import bearer

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def poll_until_finished(api: httpx.Client, admin: dict[str, str], job_id: str) -> dict[str, Any]:
    """The status every second, as the UI would (a 429 is waited out as Retry-After says)."""
    give_up = time.monotonic() + 90
    while True:
        answer = api.get(f"/api/sevdesk/export/datev/{job_id}/status", headers=admin)
        if answer.status_code == 429:
            time.sleep(int(answer.headers["retry-after"]))
            continue
        assert answer.status_code == 200, answer.text
        status: dict[str, Any] = answer.json()
        if status["status"] in ("succeeded", "failed") or time.monotonic() > give_up:
            return status
        time.sleep(1)


def test_an_export_from_start_to_the_unpacked_csv(stack: LocalStack, api: httpx.Client) -> None:
    if stack.emulator_server is None:
        pytest.skip("the stack talks to a real sevDesk (SEVDESK_API_TOKEN and SEVDESK_BASE_URL set)")
    admin = bearer(stack.admin_token)
    control = httpx.Client(base_url=stack.emulator_server.control_url, timeout=10)
    seeded = control.post("/seed", json={"count": 3, "first_day": "2026-01-05", "cancelled": 0})
    assert seeded.status_code == 201, seeded.text

    config = api.get("/api/sevdesk/config", headers=admin).json()
    saved = api.put(
        "/api/sevdesk/config",
        headers=admin,
        json={
            "version": config["version"],
            "datevFiscalYearStartMonth": 1,
            "datevAccountantNumber": "1234567",
        },
    )
    assert saved.status_code == 200, saved.text

    started = api.post(
        "/api/sevdesk/export/datev", headers=admin, json={"startDate": "2026-01-01", "endDate": "2026-01-31"}
    )
    assert started.status_code == 202, started.text
    job_id = started.json()["jobId"]

    status = poll_until_finished(api, admin, job_id)
    assert status["status"] == "succeeded", status
    file = status["file"]

    download = api.get(f"/api/sevdesk/export/datev/{job_id}/download", headers=admin)
    assert download.status_code == 200, download.text
    link = download.json()
    assert link["fileName"] == file["name"] and link["sha256"] == file["sha256"]
    fetched = httpx.get(link["url"], timeout=30)  # the presigned link needs no token
    assert fetched.status_code == 200
    assert hashlib.sha256(fetched.content).hexdigest() == file["sha256"] == link["sha256"]
    assert len(fetched.content) == file["sizeBytes"]

    archive = zipfile.ZipFile(io.BytesIO(fetched.content))
    (batch,) = [name for name in archive.namelist() if name.endswith(".csv")]
    assert batch.startswith("BITTE-ENTPACKEN_") and "/" in batch  # folders: to be unpacked
    rows = list(csv.reader(io.StringIO(archive.read(batch).decode("cp1252")), delimiter=";"))
    assert rows[0][0] == "EXTF" and rows[0][3] == "Buchungsstapel" and rows[0][26] == "03"
    assert rows[1][:2] == ["Umsatz (ohne Soll/Haben-Kz)", "Soll/Haben-Kennzeichen"]
    assert len(rows) - 2 == 3  # one booking per seeded invoice
    assert any(name.endswith(".pdf") for name in archive.namelist())

    listed = api.get("/api/sevdesk/export/datev", headers=admin).json()
    assert listed["jobs"][0]["jobId"] == job_id and listed["jobs"][0]["status"] == "succeeded"
