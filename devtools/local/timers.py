"""One thread per Schedule/ScheduleV2 event: moto stores rules but never fires them."""

from __future__ import annotations

import logging
import re
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from devtools.local.template import ACCOUNT, PREFIX, REGION, Schedule

log = logging.getLogger("devtools.local")

_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_UNIT = {"minute": 60, "hour": 3600, "day": 86400}
_DOW = {n: i + 1 for i, n in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])}
_MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
_MON = {n: i + 1 for i, n in enumerate(_MONTHS)}


def rate_seconds(expression: str) -> int | None:
    m = _RATE.match(expression.strip())
    return int(m[1]) * _UNIT[m[2].rstrip("s")] if m else None


def _field(spec: str, lo: int, hi: int, names: dict[str, int]) -> set[int] | None:
    """Values one cron field allows; None = any. L, W and # are not supported (ValueError)."""
    if spec in ("*", "?"):
        return None
    values: set[int] = set()
    for part in spec.upper().split(","):
        body, _, step = part.partition("/")
        for name, number in names.items():
            body = body.replace(name, str(number))
        if body == "*":
            start, end = lo, hi
        elif "-" in body:
            start, end = (int(x) for x in body.split("-"))
        else:
            start = int(body)
            end = hi if step else start
        values.update(range(start, end + 1, int(step or 1)))
    return values


def next_cron(expression: str, after: datetime) -> datetime:
    """Next UTC minute matching an EventBridge cron(min hour dom month dow year)."""
    fields = expression.strip()[5:-1].split()
    minute, hour, dom, month, dow = (
        _field(fields[0], 0, 59, {}),
        _field(fields[1], 0, 23, {}),
        _field(fields[2], 1, 31, {}),
        _field(fields[3], 1, 12, _MON),
        _field(fields[4], 1, 7, _DOW),
    )
    years = _field(fields[5], 1970, 2199, {})
    t = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
    for _ in range(366 * 24 * 60):
        aws_dow = (t.weekday() + 1) % 7 + 1  # EventBridge: 1 = Sunday
        if (
            (minute is None or t.minute in minute)
            and (hour is None or t.hour in hour)
            and (dom is None or t.day in dom)
            and (month is None or t.month in month)
            and (dow is None or aws_dow in dow)
            and (years is None or t.year in years)
        ):
            return t
        t += timedelta(minutes=1)
    raise ValueError(f"{expression} does not fire within a year")


def scheduled_event(schedule: Schedule) -> dict[str, Any]:
    """EventBridge's payload for a scheduled rule (or the event's Input, as EventBridge sends it)."""
    if schedule.payload is not None:
        return schedule.payload
    rule = f"{PREFIX}-{schedule.function}-{schedule.event_id}"
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{rule}"],
        "detail": {},
    }


class Timer:
    """Fires `invoke(function, event)` per schedule; `scale` > 1 runs the clock faster."""

    def __init__(self, schedule: Schedule, invoke: Callable[[str, Any], Any], scale: float = 1.0) -> None:
        self.schedule = schedule
        self.invoke = invoke
        self.scale = scale
        self.fired = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"timer-{schedule.function}", daemon=True)
        self.delay()  # reject unsupported expressions at start, not in the thread

    def delay(self) -> float:
        expression = self.schedule.expression
        seconds = rate_seconds(expression)
        if seconds is None and expression.startswith("cron("):
            now = datetime.now(UTC)
            seconds = (next_cron(expression, now) - now).total_seconds()
        if seconds is None:
            raise ValueError(f"unsupported schedule expression {expression!r}")
        return seconds / self.scale

    def start(self) -> Timer:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.delay()):
            try:
                self.invoke(self.schedule.function, scheduled_event(self.schedule))
                self.fired += 1
            except Exception:
                log.exception("scheduled invoke of %s failed", self.schedule.function)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
