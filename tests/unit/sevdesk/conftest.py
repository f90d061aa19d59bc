"""Fixtures for the sevDesk client tests: a client on httpx.MockTransport and a moto
DynamoDB table for the outbound budget."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from moto import mock_aws

from sevdesk_common import repository
from sevdesk_common.settings import get_settings
from sevdesk_common.sevdesk.client import SevdeskClient
from tests.support.aws import create_state_table
from tests.unit.sevdesk.sevdesk_helpers import TOKEN, Handler, Sleeps, settings


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def make_client(sleeps: Sleeps) -> Callable[..., tuple[SevdeskClient, list[httpx.Request]]]:
    """make_client(handler) -> (client, requests seen)."""

    def make(handler: Handler, **kwargs: Any) -> tuple[SevdeskClient, list[httpx.Request]]:
        seen: list[httpx.Request] = []

        def record(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return handler(request)

        client = SevdeskClient(
            TOKEN,
            settings=kwargs.pop("settings", settings()),
            transport=httpx.MockTransport(record),
            sleep=sleeps,
            **kwargs,
        )
        return client, seen

    return make


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """An empty state table in moto, named from TABLE_NAME."""
    monkeypatch.setenv("TABLE_NAME", "sevdesk-client-test")
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    get_settings.cache_clear()
    repository.get_table.cache_clear()
    with mock_aws():
        create_state_table("sevdesk-client-test")
        yield repository.get_table()
    get_settings.cache_clear()
    repository.get_table.cache_clear()
