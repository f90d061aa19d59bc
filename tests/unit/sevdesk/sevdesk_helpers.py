"""Shared helpers for the sevDesk client tests (the fixtures live in conftest.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from sevdesk_common.settings import Settings

TOKEN = "0123456789abcdef0123456789abcdef"  # shaped like a real token, so redact() would catch it
BASE_URL = "https://sevdesk.test/api/v1"
RECORDED = Path(__file__).resolve().parents[3].parent / "shared" / "sevdesk" / "recorded"

Handler = Callable[[httpx.Request], httpx.Response]


def recorded(name: str) -> Any:
    """A recorded sevDesk response body; skips when ../shared is not checked out."""
    path = RECORDED / name
    if not path.exists():
        pytest.skip(f"recorded sevDesk responses not found at {RECORDED} (../shared is absent)")
    return json.loads(path.read_text(encoding="utf-8"))


def settings(**overrides: Any) -> Settings:
    """Settings with the production retry figures (the suite's env zeroes them for speed)."""
    values: dict[str, Any] = {
        "sevdesk_base_url": BASE_URL,
        "sevdesk_max_attempts": 3,
        "sevdesk_retry_min_seconds": 1.0,
        "sevdesk_retry_max_seconds": 30.0,
        "budget_max_wait_seconds": 5.0,
        **overrides,
    }
    return Settings(**values)


class Sleeps(list[float]):
    """Records requested sleeps instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def objects(payload: Any, status: int = 200, **kwargs: Any) -> httpx.Response:
    return httpx.Response(status, json={"objects": payload}, **kwargs)


def error(status: int, message: str, code: int | None, *, http_status: int | None = None) -> httpx.Response:
    body = {
        "error": {
            "exceptionUUID": "11111111-2222-3333-4444-555555555555",
            "message": message,
            "errorCode": 0,
            "code": code,
            "data": [],
            "responseCode": status,
        },
        "objects": None,
    }
    return httpx.Response(http_status or status, json=body)
