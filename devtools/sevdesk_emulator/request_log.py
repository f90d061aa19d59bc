"""The bounded request log: a long-running local stack must not grow without limit."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator, Sequence
from typing import overload

from devtools.sevdesk_emulator.faults import RecordedRequest

DEFAULT_REQUEST_LOG_SIZE = 10_000


class RequestLog(Sequence[RecordedRequest]):
    """The newest `maxlen` requests (oldest dropped first) plus `total`, the count ever recorded.

    Behaves like the list it replaced: index, slice, iterate, `len`, `clear()`, and `== []`.
    """

    def __init__(self, maxlen: int = DEFAULT_REQUEST_LOG_SIZE) -> None:
        self._lock = threading.Lock()
        self._entries: deque[RecordedRequest] = deque(maxlen=_checked(maxlen))
        self.total = 0

    @property
    def maxlen(self) -> int:
        return self._entries.maxlen or 0

    @maxlen.setter
    def maxlen(self, value: int) -> None:
        with self._lock:
            self._entries = deque(self._entries, maxlen=_checked(value))

    def append(self, entry: RecordedRequest) -> None:
        with self._lock:
            self._entries.append(entry)
            self.total += 1

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def snapshot(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._entries)

    @overload
    def __getitem__(self, index: int) -> RecordedRequest: ...
    @overload
    def __getitem__(self, index: slice) -> list[RecordedRequest]: ...
    def __getitem__(self, index: int | slice) -> RecordedRequest | list[RecordedRequest]:
        return self.snapshot()[index]

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[RecordedRequest]:
        return iter(self.snapshot())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, RequestLog):
            return self.snapshot() == other.snapshot()
        if isinstance(other, list | tuple):
            return self.snapshot() == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"RequestLog({self.snapshot()!r}, total={self.total})"


def _checked(maxlen: int) -> int:
    if not isinstance(maxlen, int) or isinstance(maxlen, bool) or maxlen < 1:
        raise ValueError("request_log_size must be a positive integer")
    return maxlen
