"""Every sevDesk call is a span of its own in the trace (sevDesk is the slowest and least
reliable dependency), named and annotated with the operation and outcome, never the token."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from sevdesk_common.observability import tracer
from sevdesk_common.sevdesk.errors import SevdeskRefused
from tests.unit.sevdesk.sevdesk_helpers import TOKEN, objects


class Span:
    def __init__(self, name: str) -> None:
        self.name = name
        self.annotations: dict[str, Any] = {}

    def put_annotation(self, key: str, value: Any) -> None:
        self.annotations[key] = value


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> list[Span]:
    opened: list[Span] = []

    @contextmanager
    def in_subsegment(name: str, **_: Any) -> Iterator[Span]:
        span = Span(name)
        opened.append(span)
        yield span

    monkeypatch.setattr(tracer.provider, "in_subsegment", in_subsegment)
    return opened


def test_each_call_is_a_span_with_operation_and_outcome(make_client: Any, spans: list[Span]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/sendBy"):
            return httpx.Response(422, json={"objects": None, "error": {"message": "no", "code": 7100}})
        return objects({"version": "2.0"})

    client, _ = make_client(handler)
    client.bookkeeping_system_version()
    with pytest.raises(SevdeskRefused):
        client.send_by("1", "VPDF")

    assert [s.name for s in spans] == ["## sevdesk bookkeeping_system_version", "## sevdesk send_by"]
    assert spans[0].annotations == {
        "sevdesk_operation": "bookkeeping_system_version",
        "sevdesk_outcome": "ok",
        "sevdesk_status": "200",
    }
    assert spans[1].annotations["sevdesk_outcome"] == "sevdesk_refused"
    assert spans[1].annotations["sevdesk_status"] == "422"
    assert TOKEN not in repr([s.annotations for s in spans])
