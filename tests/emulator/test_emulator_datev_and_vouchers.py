"""DATEV export jobs end to end (incl. the ZIP download) and vouchers."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime

import httpx

from devtools.sevdesk_emulator import EmulatorServer, SevdeskEmulator
from tests.emulator.helpers import create_invoice, finalize, objects

OCTOBER = {
    "startDate": int(datetime.fromisoformat("2026-10-01T00:00:00+02:00").timestamp()),
    "endDate": int(datetime.fromisoformat("2026-10-31T23:59:59+01:00").timestamp()),
    "scope": "EXTCD",
}


def configure(client: httpx.Client, emu: SevdeskEmulator) -> None:
    url = f"/SevClient/{emu.state.sev_client['id']}/updateExportConfig"
    body = {"accountantNumber": 1, "accountantClientNumber": 2, "accountingYearBegin": 1767222000}
    assert client.put(url, json=body).json() == {"objects": None}


def test_export_needs_the_accounting_year_begin(client: httpx.Client) -> None:
    assert client.get("/Export/createDatevCsvZipExportJob", params=OCTOBER).status_code == 409
    assert client.get("/Export/createDatevCsvZipExportJob", params={"scope": "E"}).status_code == 400


def test_job_progresses_and_its_zip_holds_the_period(client: httpx.Client, emu: SevdeskEmulator) -> None:
    finalize(client, create_invoice(client)["id"])
    configure(client, emu)
    job_id = objects(client.get("/Export/createDatevCsvZipExportJob", params=OCTOBER))
    hash_ = objects(client.get("/Progress/generateDownloadHash", params={"jobId": job_id}))
    assert hash_.endswith("_" + job_id[:8]) and len(hash_.split("_")[0]) == 40

    assert client.get("/ExportJob/jobDownloadInfo", params={"jobId": job_id}).status_code == 400
    seen = [objects(client.get("/Progress/getProgress", params={"hash": hash_})) for _ in range(2)]
    assert [p["current"] for p in seen] == [67, 100] and seen[-1]["total"] == 100

    info = objects(client.get("/ExportJob/jobDownloadInfo", params={"jobId": job_id}))
    assert info["filename"].startswith("BITTE-ENTPACKEN_") and info["linkExpireDate"]
    with httpx.Client(transport=emu.transport()) as anonymous:  # pre-signed: no token needed
        download = anonymous.get(info["link"])
    assert download.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
        [name] = [n for n in archive.namelist() if n.endswith(".csv")]
        csv = archive.read(name).decode("cp1252")
    assert "RE-1000" in csv and "65,45" in csv


def test_large_zip_over_http(client: httpx.Client, emu: SevdeskEmulator, server: EmulatorServer) -> None:
    configure(client, emu)
    emu.export_progress_polls = 1
    emu.export_zip_size_bytes = 3_000_000
    with httpx.Client(base_url=server.base_url, headers={"Authorization": emu.token}) as http:
        job_id = objects(http.get("/Export/createDatevCsvZipExportJob", params=OCTOBER))
        link = objects(http.get("/ExportJob/jobDownloadInfo", params={"jobId": job_id}))["link"]
    assert link.startswith(f"http://127.0.0.1:{server.port}/__emulator__/exports/")
    with httpx.stream("GET", link) as response:
        size = sum(len(chunk) for chunk in response.iter_bytes())
        assert response.headers["content-length"] == "3000000"
    assert size == 3_000_000  # padded to exactly the switch's size


def test_save_voucher_in_the_recorded_shape(client: httpx.Client) -> None:
    position = {
        "objectName": "VoucherPos",
        "mapAll": True,
        "accountDatev": {"id": 4285, "objectName": "AccountDatev"},
    }
    body = {
        "voucher": {
            "objectName": "Voucher",
            "mapAll": True,
            "voucherDate": "29.09.2026",
            "supplierName": "Stripe",
            "status": 50,
            "creditDebit": "C",
            "voucherType": "VOU",
            "taxRule": {"id": 14, "objectName": "TaxRule"},
            "currency": "EUR",
        },
        "voucherPosSave": [
            position | {"taxRate": 0, "net": True, "sumNet": "0.35"},
            position | {"taxRate": 0, "net": True, "sumNet": "0.10"},
        ],
    }
    saved = objects(client.post("/Voucher/Factory/saveVoucher", json=body), 201)

    voucher = saved["voucher"]
    assert (voucher["sumNet"], voucher["voucherDate"]) == ("0.45", "2026-09-29T00:00:00+02:00")
    assert [p["sumNet"] for p in saved["voucherPos"]] == ["0.35", "0.1"]
    assert objects(client.get(f"/Voucher/{voucher['id']}")) == [voucher]
    assert objects(client.get("/Voucher", params={"status": 50})) == [voucher]
