"""client_for(): one client and one connection pool per process and token."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import sevdesk_common.clients as sevdesk
from sevdesk_common.sevdesk.budget import OutboundBudget
from sevdesk_common.sevdesk.client import SevdeskClient
from tests.unit.sevdesk.sevdesk_helpers import TOKEN, settings

REPO = Path(__file__).resolve().parents[3]


def test_client_for_is_cached_per_token(table: Any) -> None:
    sevdesk.clear_client_cache()
    first = sevdesk.client_for(TOKEN)
    assert sevdesk.client_for(TOKEN) is first
    assert isinstance(first._budget, OutboundBudget)
    other = sevdesk.client_for("a" * 32)
    assert other is not first and TOKEN not in repr(other)
    sevdesk.clear_client_cache()
    assert sevdesk.client_for(TOKEN) is not first
    sevdesk.clear_client_cache()


def test_clients_without_transport_share_the_pool() -> None:
    one = SevdeskClient(TOKEN, settings=settings())
    two = SevdeskClient(TOKEN, settings=settings())
    other = SevdeskClient("b" * 32, settings=settings())
    assert one._http is two._http and one._http is not other._http
    assert one._http.timeout.connect == settings().sevdesk_connect_timeout_seconds
    sevdesk.clear_client_cache()
    assert one._http.is_closed


def test_importing_the_errors_stays_light() -> None:
    code = (
        "import sys; from sevdesk_common.sevdesk.errors import SevdeskRefused; "
        "print(sorted(m for m in ('httpx', 'tenacity', 'sevdesk_common.sevdesk.client') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO / "layers" / "common",
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "[]"
