"""DATEV export: validation, the ZIP's folders / EXTF batch / PDFs, shapes, failures and the large mode."""

from __future__ import annotations

import io
import re
import tracemalloc
import zipfile
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from devtools.sevdesk_emulator import EmulatorServer, SevdeskEmulator
from devtools.sevdesk_emulator.wire import BERLIN
from tests.emulator.helpers import create_invoice, finalize, objects

CREATE = "/Export/createDatevCsvZipExportJob"


def unix(*args: int) -> int:
    return int(datetime(*args, tzinfo=BERLIN).timestamp())  # type: ignore[misc]


YEAR_2026 = {"startDate": unix(2026, 1, 1), "endDate": unix(2027, 1, 1) - 1, "scope": "EXTCD"}


@pytest.fixture(autouse=True)
def configured(client: httpx.Client, emu: SevdeskEmulator) -> None:
    url = f"/SevClient/{emu.state.sev_client['id']}/updateExportConfig"
    body = {
        "accountantNumber": 1234567,
        "accountantClientNumber": 10001,
        "accountingYearBegin": unix(2026, 1, 1),
    }
    client.put(url, json=body)
    emu.export_progress_polls = 2


def run_job(client: httpx.Client, params: dict[str, object] | None = None) -> dict[str, str]:
    job_id = objects(client.get(CREATE, params=params or YEAR_2026))
    objects(client.get("/Progress/getProgress", params={"hash": objects(
        client.get("/Progress/generateDownloadHash", params={"jobId": job_id})
    )}))  # fmt: skip
    return objects(client.get("/ExportJob/jobDownloadInfo", params={"jobId": job_id}))


def download(emu: SevdeskEmulator, link: str) -> zipfile.ZipFile:
    with httpx.Client(transport=emu.transport()) as anonymous:  # pre-signed: no token
        response = anonymous.get(link)
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    return zipfile.ZipFile(io.BytesIO(response.content))


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"startDate": unix(2026, 3, 1), "endDate": unix(2026, 2, 1)}, 422),  # end before start
        ({"startDate": unix(2026, 1, 1), "endDate": unix(2027, 1, 1)}, 422),  # longer than a year
        ({"startDate": "01.01.2026"}, 400),
        ({"scope": "EQ"}, 400),
        ({"scope": ""}, 400),
    ],
)
def test_job_parameters_are_validated(client: httpx.Client, params: dict[str, object], status: int) -> None:
    response = client.get(CREATE, params=YEAR_2026 | params)

    assert response.status_code == status
    assert response.json()["objects"] is None and response.json()["error"]["responseCode"] == status


def test_zip_has_folders_an_extf_batch_and_pdfs(client: httpx.Client, emu: SevdeskEmulator) -> None:
    sent = finalize(
        client, create_invoice(client, header="Beratung für Müller", invoiceDate="05.10.2026")["id"]
    )
    client.post(f"/Invoice/{sent['id']}/cancelInvoice")
    info = run_job(client, YEAR_2026 | {"includeDocumentImages": "true"})

    assert info["filename"] == "BITTE-ENTPACKEN_Buchungsstapel_und_Belegbilder_20260101_20261231.zip"
    assert re.search(
        r"\?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=604800&X-Amz-Signature=", info["link"]
    )
    archive = download(emu, info["link"])
    names = archive.namelist()
    root = "BITTE-ENTPACKEN_Buchungsstapel_und_Belegbilder_20260101_20261231/"
    assert all(name.startswith(root) for name in names)
    pdfs = sorted(n for n in names if n.startswith(root + "DATEV_Rechnungsausgang_") and n.endswith(".pdf"))
    assert [Path(p).name for p in pdfs] == ["RE-1000.pdf", "RE-1001.pdf"]
    assert archive.read(pdfs[0]).startswith(b"%PDF-")
    [csv_name] = [n for n in names if n.endswith(".csv")]
    raw = archive.read(csv_name)
    assert "ü".encode("cp1252") in raw and "ü".encode() not in raw  # cp1252, not UTF-8
    header, columns, *rows = raw.decode("cp1252").split("\r\n")[:-1]
    fields = header.split(";")
    assert fields[:5] == ['"EXTF"', "700", "21", '"Buchungsstapel"', "13"]
    assert fields[10:16] == ["1234567", "10001", "20260101", "4", "20260101", "20261231"]
    assert columns.split(";")[:2] == ["Umsatz (ohne Soll/Haben-Kz)", "Soll/Haben-Kennzeichen"]
    assert [row.split(";")[:2] for row in rows] == [["65,45", '"S"'], ["65,45", '"H"']]  # RE, then its SR
    assert rows[0].split(";")[9:11] == ["0510", '"RE-1000"']


def test_document_images_only_when_asked(client: httpx.Client, emu: SevdeskEmulator) -> None:
    finalize(client, create_invoice(client)["id"])
    names = download(emu, run_job(client)["link"]).namelist()
    assert not [n for n in names if n.endswith(".pdf")] and len(names) == 1


def test_hash_form_and_the_array_shape_switch(client: httpx.Client, emu: SevdeskEmulator) -> None:
    job_id = objects(client.get(CREATE, params=YEAR_2026))
    progress_hash = objects(client.get("/Progress/generateDownloadHash", params={"jobId": job_id}))
    assert re.fullmatch(r"[0-9a-f]{40}_" + job_id[:8], progress_hash)

    emu.export_shape = "array"  # as [SPEC] types these three answers
    assert objects(client.get("/Progress/generateDownloadHash", params={"jobId": job_id})) == [progress_hash]
    assert objects(client.get("/Progress/getProgress", params={"hash": progress_hash})) == [
        {"current": 50, "total": 100}
    ]
    [info] = objects(client.get("/ExportJob/jobDownloadInfo", params={"jobId": job_id}))
    assert info["filename"].endswith(".zip")


def test_unknown_job_and_download_before_done(client: httpx.Client, emu: SevdeskEmulator) -> None:
    missing = client.get(
        "/ExportJob/jobDownloadInfo", params={"jobId": "0a0e1eff-9590-1bea-1195-a3cfc04364cc"}
    )
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, 151)
    emu.export_progress_polls = 3
    job_id = objects(client.get(CREATE, params=YEAR_2026))
    early = client.get("/ExportJob/jobDownloadInfo", params={"jobId": job_id})
    assert early.status_code == 400 and early.json()["error"]["message"] == "Export job is not finished yet"


def test_a_failing_job_reports_an_error_halfway(client: httpx.Client, emu: SevdeskEmulator) -> None:
    emu.export_fault, emu.export_progress_polls = "fail", 4
    job_id = objects(client.get(CREATE, params=YEAR_2026))
    progress_hash = objects(client.get("/Progress/generateDownloadHash", params={"jobId": job_id}))

    answers = [client.get("/Progress/getProgress", params={"hash": progress_hash}) for _ in range(4)]

    assert [a.status_code for a in answers] == [200, 200, 500, 500]
    assert answers[1].json()["objects"] == {"current": 50, "total": 100}
    assert answers[2].json()["error"]["message"] == "The export job failed"
    assert client.get("/ExportJob/jobDownloadInfo", params={"jobId": job_id}).status_code == 500


def test_a_stalled_job_never_completes(client: httpx.Client, emu: SevdeskEmulator) -> None:
    emu.export_fault = "stall"
    job_id = objects(client.get(CREATE, params=YEAR_2026))
    progress_hash = objects(client.get("/Progress/generateDownloadHash", params={"jobId": job_id}))

    seen = {
        objects(client.get("/Progress/getProgress", params={"hash": progress_hash}))["current"]
        for _ in range(9)
    }

    assert max(seen) < 100
    assert client.get("/ExportJob/jobDownloadInfo", params={"jobId": job_id}).status_code == 400


def test_refusal_switch_and_missing_config_are_409(client: httpx.Client, emu: SevdeskEmulator) -> None:
    emu.export_fault = "refuse"
    assert client.get(CREATE, params=YEAR_2026).status_code == 409
    emu.export_fault = None
    emu.state.export_config.clear()
    refused = client.get("/Export/createDatevXmlZipExportJob", params=YEAR_2026 | {"scope": "E"})
    assert refused.status_code == 409 and refused.json()["error"]["responseCode"] == 409


def test_xml_job_serves_a_document_index(client: httpx.Client, emu: SevdeskEmulator) -> None:
    finalize(client, create_invoice(client)["id"])
    emu.export_progress_polls = 1
    job_id = objects(client.get("/Export/createDatevXmlZipExportJob", params=YEAR_2026 | {"scope": "EX"}))
    info = objects(client.get("/ExportJob/jobDownloadInfo", params={"jobId": job_id}))
    archive = download(emu, info["link"])
    [index] = [n for n in archive.namelist() if n.endswith("document.xml")]
    assert b'name="RE-1000.pdf"' in archive.read(index)


def test_large_zip_streams_without_holding_it(
    client: httpx.Client, emu: SevdeskEmulator, server: EmulatorServer, tmp_path: Path
) -> None:
    finalize(client, create_invoice(client)["id"])
    emu.export_zip_size_bytes = 60_000_000
    with httpx.Client(base_url=server.base_url, headers={"Authorization": emu.token}) as http:
        link = run_job(http)["link"]
    target = tmp_path / "export.zip"

    tracemalloc.start()
    try:
        with httpx.stream("GET", link) as response, target.open("wb") as out:
            assert response.headers["content-length"] == "60000000"
            for chunk in response.iter_bytes():
                out.write(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert target.stat().st_size == 60_000_000
    # client and server together hold chunks, never the archive (werkzeug alone may briefly
    # allocate a 10 MB buffer when it drains the request after answering)
    assert peak < 20_000_000
    with zipfile.ZipFile(target) as archive:
        assert archive.testzip() is None
        assert any(n.endswith(".csv") for n in archive.namelist())
