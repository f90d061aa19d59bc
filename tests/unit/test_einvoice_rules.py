"""E-invoice rules that need no sevDesk: Leitweg-IDs and VAT ids, sevDesk's 830 names in words,
and the retention periods."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from sevdesk_common.models.einvoice import from_sevdesk, leitweg_id_problem, vat_id_problem
from sevdesk_common.models.retention import retain_until


@pytest.mark.parametrize("value", ["04011000-1234512345-06", "991-33333TEST-33", "991-33333test-33"])
def test_valid_leitweg_ids(value: str) -> None:
    assert leitweg_id_problem(value) is None


@pytest.mark.parametrize(
    ("value", "why"),
    [("04011000-1234512345-07", "check digits"), ("PO-4711", "is not a Leitweg-ID"), ("1-2", "is not")],
)
def test_invalid_leitweg_ids_say_why(value: str, why: str) -> None:
    assert why in (leitweg_id_problem(value) or "")


def test_vat_ids() -> None:
    assert vat_id_problem("DE123456789") is None
    assert vat_id_problem("ATU12345678") is None
    assert "German" in (vat_id_problem("DE12345") or "")
    assert vat_id_problem("123") is not None


def test_sevdesk_names_become_words_with_a_fix() -> None:
    iban = from_sevdesk("sevClient_bankIban")
    unknown = from_sevdesk("sevClient_somethingNew")

    assert (iban.side, iban.message) == ("seller", "your company's IBAN is missing")
    assert "sevDesk" in iban.fix
    assert (unknown.side, unknown.field) == ("seller", "sevClient_somethingNew")


def test_retention_counts_from_the_end_of_the_year_the_document_was_made() -> None:
    assert retain_until("voucher", date(2026, 3, 1)) == datetime(2035, 1, 1, tzinfo=UTC)
    assert retain_until("books", date(2026, 12, 31)) == datetime(2037, 1, 1, tzinfo=UTC)
