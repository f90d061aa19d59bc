"""Transport-neutral request/response types and the route table the api_* modules fill."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from devtools.sevdesk_emulator.wire import bad_request

if TYPE_CHECKING:
    from devtools.sevdesk_emulator.emulator import SevdeskEmulator


@dataclass
class Request:
    method: str
    path: str  # the URL path; SevdeskEmulator.handle() makes API paths relative to /api/v1
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes = b""
    origin: str = "http://sevdesk.emulator"  # scheme://host the client used, for links we hand out

    def json(self) -> Any:
        """The body as data: JSON, or PHP-style form encoding (a[b][0]=x) like sevDesk accepts."""
        if not self.body.strip():
            return None
        if "application/x-www-form-urlencoded" in self.headers.get("content-type", ""):
            return parse_form(self.body.decode("utf-8", "replace"))
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise bad_request("Request body is not valid JSON") from exc

    def data(self) -> dict[str, Any]:
        body = self.json()
        if body is None:
            return {}
        if not isinstance(body, dict):
            raise bad_request("Request body must be an object")
        return body


@dataclass
class Response:
    status: int = 200
    body: Any = None  # JSON-able, unless `raw` or `stream` is set
    raw: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    # a body too big to hold (large DATEV ZIPs): chunks produced while sending, `length` bytes in all
    stream: Iterable[bytes] | None = None
    length: int | None = None

    def content(self) -> bytes:
        if self.stream is not None:
            return b"".join(self.stream)
        if self.raw is not None:
            return self.raw
        return json.dumps(self.body, ensure_ascii=False).encode("utf-8")

    def all_headers(self) -> dict[str, str]:
        headers = dict(self.headers)
        binary = self.raw is not None or self.stream is not None
        headers.setdefault("Content-Type", "application/octet-stream" if binary else "application/json")
        if self.stream is not None and self.length is not None:
            headers["Content-Length"] = str(self.length)
        return headers


def ok(objects: Any, status: int = 200) -> Response:
    return Response(status, {"objects": objects})


Handler = Callable[["SevdeskEmulator", Request, dict[str, str]], Response]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler


ROUTES: list[Route] = []


def route(method: str, template: str) -> Callable[[Handler], Handler]:
    """Register a handler; `{name}` segments match numeric ids (so /Invoice/Factory/x stays apart)."""
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>\\d+)", template)

    def register(handler: Handler) -> Handler:
        ROUTES.append(Route(method, re.compile(f"^{regex}$"), handler))
        return handler

    return register


def find_route(method: str, path: str) -> tuple[Handler, dict[str, str]] | None:
    for candidate in ROUTES:
        found = candidate.pattern.match(path)
        if found and candidate.method == method:
            return candidate.handler, found.groupdict()
    return None


def parse_form(text: str) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+|\[\]", key)
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1] if parts else key] = value
    return _lists_from_indexes(root)


def _lists_from_indexes(node: Any) -> Any:
    # a[0][x]=.. arrives as {"0": {...}}; sevDesk reads such maps as lists
    if not isinstance(node, dict):
        return node
    converted = {key: _lists_from_indexes(value) for key, value in node.items()}
    if converted and all(key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted
