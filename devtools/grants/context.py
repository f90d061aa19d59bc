"""Which function the current code runs as, for the recorder (set by whoever invokes a handler)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_function: ContextVar[str | None] = ContextVar("grants_function", default=None)
_paused: ContextVar[bool] = ContextVar("grants_paused", default=False)


def recorded_function() -> str | None:
    """The logical id the current AWS call is charged to; None: record nothing."""
    return None if _paused.get() else _function.get()


@contextmanager
def acting_as(logical_id: str | None) -> Iterator[None]:
    """AWS calls made inside are the function `logical_id`'s (None: nobody's)."""
    token = _function.set(logical_id)
    try:
        yield
    finally:
        _function.reset(token)


@contextmanager
def paused() -> Iterator[None]:
    """Nothing inside is recorded, not even calls of functions invoked inside."""
    token = _paused.set(True)
    try:
        yield
    finally:
        _paused.reset(token)
