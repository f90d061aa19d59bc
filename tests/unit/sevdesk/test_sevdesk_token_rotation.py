"""A rotated token: sevDesk refuses the cached one, the client reads the secret once more and
repeats the refused call with the new token (a 401 was not applied, so even a write may be
repeated). No new token, or the same one: the refusal stands."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sevdesk_common.sevdesk.errors import SevdeskUnauthorized
from tests.unit.sevdesk.sevdesk_helpers import TOKEN, objects

NEW = "fedcba9876543210fedcba9876543210"


def only(token: str) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers["Authorization"] != token:
            refused = {"objects": None, "error": {"message": "Authentication required"}}
            return httpx.Response(401, json=refused)
        return objects({"version": "2.0"})

    return handler


def test_a_refused_token_is_refreshed_once_and_the_call_repeated(make_client: Any) -> None:
    refreshed: list[str] = []

    def refresh() -> str:
        refreshed.append("x")
        return NEW

    client, seen = make_client(only(NEW), refresh_token=refresh)

    assert client.bookkeeping_system_version() == "2.0"
    assert [r.headers["Authorization"] for r in seen] == [TOKEN, NEW]
    assert refreshed == ["x"]
    assert client.bookkeeping_system_version() == "2.0"  # the new token stays
    assert len(refreshed) == 1


@pytest.mark.parametrize("fresh", [TOKEN, None], ids=["same token", "no token"])
def test_without_a_new_token_the_refusal_stands(make_client: Any, fresh: str | None) -> None:
    client, seen = make_client(only(NEW), refresh_token=lambda: fresh)

    with pytest.raises(SevdeskUnauthorized) as raised:
        client.bookkeeping_system_version()

    assert len(seen) == 1
    assert TOKEN not in raised.value.message and NEW not in raised.value.message
