"""The sparse index payment sync reads (DESIGN.md: no Scan): only published, open invoices."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.test_publish import hand_over, publish
from tests.support.invoke import STAFF, invoke

pytestmark = pytest.mark.usefixtures("emulator", "token_configured")


def candidates() -> list[str]:
    from sevdesk_common import invoice_store

    return sorted(record.invoice_id for record in invoice_store.query_payment_sync_candidates())


def test_only_finalized_open_invoices_are_candidates(emulator: Any) -> None:
    hand_over("R1-A")
    hand_over("R1-B")
    assert candidates() == []

    assert publish("R1-A").status == 200
    assert candidates() == ["R1-A"]

    cancelled = invoke("invoice_cancel", claims=STAFF, path_parameters={"invoiceId": "R1-A"})
    assert cancelled.status == 200, cancelled.body
    assert candidates() == []


def test_candidates_are_paged_through(emulator: Any) -> None:
    from sevdesk_common import invoice_store

    for n in range(3):
        hand_over(f"R1-P{n}")
        assert publish(f"R1-P{n}").status == 200

    records = invoice_store.query_payment_sync_candidates(page_size=1)

    assert sorted(r.invoice_id for r in records) == ["R1-P0", "R1-P1", "R1-P2"]
