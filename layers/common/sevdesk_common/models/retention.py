"""How long archived documents are kept (German retention periods, § 147 AO, § 257 HGB).

Since 2025 (Bürokratieentlastungsgesetz IV) booking vouchers, invoices among them, are kept 8
years; books, records, inventories and annual statements 10 years. A period starts at the end of
the calendar year in which the document was made (§ 147 (4) AO), so it ends on 31 December of
that year plus the period. The e-invoice XML is a voucher (8); a DATEV export holds the books'
journal (Buchungsstapel) and is kept like books (10).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Literal

Kind = Literal["voucher", "books"]
YEARS: dict[Kind, int] = {"voucher": 8, "books": 10}


def retain_until(kind: Kind, made: date) -> datetime:
    """The first moment after the period: 1 January following its last year (UTC)."""
    return datetime(made.year + YEARS[kind] + 1, 1, 1, tzinfo=UTC)
