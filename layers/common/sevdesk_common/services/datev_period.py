"""Which export periods sevDesk takes, checked before anything starts so the admin hears it at
once (400) instead of from a failed job.

- the end not before the start, the start not in the future (Europe/Berlin days);
- shorter than one year (the emulator models sevDesk's refusal; DATEV batches hold one year);
- within one fiscal year: a DATEV Buchungsstapel carries one fiscal-year start (WJ-Beginn) in
  its header, so a period across the fiscal year's turn is split in two by the admin.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from sevdesk_common.sevdesk.payloads import berlin_midnight_unix

if TYPE_CHECKING:
    from sevdesk_common.models.datev_export import DatevExportRequest


def berlin_today(now: datetime | None = None) -> date:
    """Today's date in Europe/Berlin (computed, so no tz database is needed in Lambda)."""
    moment = (now or datetime.now(UTC)).timestamp()
    day = datetime.fromtimestamp(moment, UTC).date()
    if moment >= berlin_midnight_unix(day + timedelta(days=1)):
        return day + timedelta(days=1)
    return day


def one_year_later(day: date) -> date:
    last = calendar.monthrange(day.year + 1, day.month)[1]
    return day.replace(year=day.year + 1, day=min(day.day, last))


def fiscal_year_start(day: date, start_month: int) -> date:
    """The first day of the fiscal year `day` lies in."""
    year = day.year if day.month >= start_month else day.year - 1
    return date(year, start_month, 1)


def period_problems(
    request: DatevExportRequest, today: date, fiscal_start_month: int
) -> list[dict[str, str]]:
    """Each problem names its field and says what to change; empty when the period is fine."""
    start, end = request.start_date, request.end_date
    problems = []
    if end < start:
        problems.append(
            {"field": "endDate", "message": f"the end date {end} is before the start date {start}"}
        )
    if start > today:
        problems.append(
            {"field": "startDate", "message": f"the start date {start} lies in the future (today is {today})"}
        )
    if problems:
        return problems
    if end >= one_year_later(start):
        problems.append(
            {
                "field": "endDate",
                "message": f"the period is a year or longer; sevDesk exports less than one year "
                f"(end at {one_year_later(start) - timedelta(days=1)} at the latest)",
            }
        )
    turn = fiscal_year_start(end, fiscal_start_month)
    if fiscal_year_start(start, fiscal_start_month) != turn:
        problems.append(
            {
                "field": "endDate",
                "message": f"the period crosses the start of the fiscal year on {turn}; a DATEV batch "
                f"holds one fiscal year: export up to {turn - timedelta(days=1)} and from {turn} separately",
            }
        )
    return problems
