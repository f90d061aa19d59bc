"""The DATEV export's pure rules: Berlin days, the period checks, what makes two requests the
same, and the file name that goes into the bucket."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from sevdesk_common.models.datev_export import DatevExportRequest
from sevdesk_common.services.datev_archive import safe_file_name
from sevdesk_common.services.datev_period import (
    berlin_today,
    fiscal_year_start,
    one_year_later,
    period_problems,
)


def request(**fields: object) -> DatevExportRequest:
    return DatevExportRequest.model_validate({"startDate": "2026-01-01", "endDate": "2026-01-31", **fields})


@pytest.mark.parametrize(
    ("utc", "berlin"),
    [
        (datetime(2026, 7, 1, 21, 59, tzinfo=UTC), date(2026, 7, 1)),  # 23:59 CEST
        (datetime(2026, 7, 1, 22, 0, tzinfo=UTC), date(2026, 7, 2)),  # midnight CEST
        (datetime(2026, 1, 1, 22, 59, tzinfo=UTC), date(2026, 1, 1)),  # 23:59 CET
        (datetime(2026, 1, 1, 23, 0, tzinfo=UTC), date(2026, 1, 2)),
    ],
)
def test_today_is_a_berlin_day(utc: datetime, berlin: date) -> None:
    assert berlin_today(utc) == berlin


def test_years_and_fiscal_years() -> None:
    assert one_year_later(date(2024, 2, 29)) == date(2025, 2, 28)
    assert fiscal_year_start(date(2026, 6, 30), 7) == date(2025, 7, 1)
    assert fiscal_year_start(date(2026, 7, 1), 7) == date(2026, 7, 1)
    assert fiscal_year_start(date(2026, 12, 31), 1) == date(2026, 1, 1)


def test_period_checks() -> None:
    today = date(2026, 11, 30)
    assert period_problems(request(), today, 1) == []
    assert period_problems(request(startDate="2026-01-01", endDate="2026-12-31"), today, 1) == []
    assert period_problems(request(startDate="2026-11-30", endDate="2026-12-31"), today, 1) == []  # end ahead
    (problem,) = period_problems(request(startDate="2026-12-01", endDate="2026-12-31"), today, 1)
    assert problem["field"] == "startDate"
    too_long = period_problems(request(startDate="2025-02-01", endDate="2026-02-01"), today, 1)
    assert [p["field"] for p in too_long] == ["endDate", "endDate"]  # a year, and two fiscal years
    (crossing,) = period_problems(request(startDate="2025-12-15", endDate="2026-01-15"), today, 1)
    assert "export up to 2025-12-31 and from 2026-01-01 separately" in crossing["message"]


def test_equal_requests_are_the_same_export() -> None:
    csv = request(scope="XE").normalized()
    assert csv.scope == "EX" and csv.include_document_images is True and csv.enshrine_documents is False
    assert request(scope="XE").fingerprint() == request(scope="EX", includeDocumentImages=True).fingerprint()
    assert request().fingerprint() != request(includeDocumentImages=False).fingerprint()
    assert request().fingerprint() != request(endDate="2026-01-30").fingerprint()
    xml = request(format="xml", scope="E").normalized()
    assert (xml.include_exported_documents, xml.include_document_xml, xml.include_document_images) == (
        True,
        True,
        None,
    )


@pytest.mark.parametrize(
    "fields",
    [
        {"format": "xml", "includeDocumentImages": False},
        {"format": "csv", "includeDocumentXml": True},
        {"format": "csv", "includeExportedDocuments": False},
        {"format": "pdf"},
        {"unknown": 1},
    ],
)
def test_flags_of_the_other_format_are_refused(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        request(**fields)


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("BITTE-ENTPACKEN_Buchungsstapel_und_Belegbilder_20260101_20260131.zip",) * 2,
        ("../../etc/passwd", "passwd.zip"),
        ('Export "Jänner".zip', "Export_J_nner_.zip"),
        ("", "DATEV-Export.zip"),
    ],
)
def test_file_names_are_safe_in_keys_and_headers(name: str, safe: str) -> None:
    assert safe_file_name(name) == safe
