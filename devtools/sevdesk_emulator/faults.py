"""Fault injection rules and the request log entries."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

FaultKind = Literal["status", "rate_limit", "timeout", "lost_response", "latency"]
FAULT_KINDS: frozenset[str] = frozenset({"status", "rate_limit", "timeout", "lost_response", "latency"})
DEFAULT_TIMEOUT_DELAY = 30.0


@dataclass
class Fault:
    """One rule; `path` is relative to /api/v1, exact or a regex when it starts with "^";
    `query` (optional) names parameters the request must carry with exactly these values, e.g.
    {"offset": "1000"} for one page of a list."""

    method: str = "*"
    path: str = "^"
    kind: FaultKind = "status"
    status: int = 500
    apply: bool = False
    times: int | None = 1
    retry_after: int = 1
    delay: float = 0.0
    query: dict[str, str] | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}")
        if self.query is not None:
            self.query = {str(k): str(v) for k, v in dict(self.query).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fault:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        return cls(**data)

    def matches(self, method: str, path: str, query: dict[str, str] | None = None) -> bool:
        if self.method != "*" and self.method.upper() != method.upper():
            return False
        if self.query and any((query or {}).get(k) != v for k, v in self.query.items()):
            return False
        if self.path.startswith("^"):
            return re.match(self.path, path) is not None
        return self.path == path

    @property
    def timeout_delay(self) -> float:
        return self.delay or DEFAULT_TIMEOUT_DELAY

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class FaultList:
    """Thread-safe list of rules; the first matching rule fires and uses up one of its `times`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, method: str, path: str, query: dict[str, str] | None = None) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path, query):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def __iter__(self) -> Iterator[Fault]:
        with self._lock:
            return iter(list(self._faults))

    def __len__(self) -> int:
        with self._lock:
            return len(self._faults)


@dataclass(frozen=True)
class RecordedRequest:
    """A request as the emulator saw it; header names are lower case, Authorization is masked."""

    method: str
    path: str
    query: dict[str, str]
    json: Any
    headers: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
