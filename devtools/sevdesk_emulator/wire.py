"""sevDesk wire conventions: string-encoded values, Berlin date-times, error bodies."""

from __future__ import annotations

import functools
import uuid
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")
CENT = Decimal("0.01")


class ApiError(Exception):
    """A refusal answered with sevDesk's error body (`status` may be 200: code 390 does that)."""

    def __init__(self, status: int, message: str, code: int | None = None, data: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.data = [] if data is None else data


def error_body(status: int, message: str, code: int | None = None, data: Any = None) -> dict[str, Any]:
    return {
        "error": {
            "exceptionUUID": str(uuid.uuid4()),
            "message": message,
            "errorCode": 0,
            "code": code,
            "data": [] if data is None else data,
            "responseCode": status,
        },
        "objects": None,
    }


def not_found(model: str, object_id: object) -> ApiError:
    return ApiError(404, f"No Model_{model} with the id {object_id} was found", 151)


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def amount(value: Decimal) -> str:
    """sevDesk drops trailing zeros: 55.00 -> "55", 18.40 -> "18.4"."""
    value = cents(value)
    if value == 0:
        return "0"
    return format(value.normalize(), "f")


def number(value: Decimal) -> int | float:
    """JSON number form (paidAmount, saveInvoice position sums)."""
    value = cents(value)
    return int(value) if value == value.to_integral_value() else float(value)


def flag(value: Any) -> str:
    return "1" if to_bool(value) else "0"


def to_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


def to_decimal(value: Any, field: str) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise bad_request(f"{field} must be a number")
    try:
        return Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise bad_request(f"{field} must be a number") from exc


def to_int(value: Any, field: str) -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError) as exc:
        raise bad_request(f"{field} must be an integer") from exc


@functools.lru_cache(maxsize=4096)
def iso(moment: datetime) -> str:
    # cached: seeding 100k invoices formats the same few moments again and again
    return moment.astimezone(BERLIN).isoformat(timespec="seconds")


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=BERLIN)


def parse_moment(value: Any, field: str) -> datetime:
    """Accepts what sevDesk accepts: Unix seconds, "dd.mm.yyyy", ISO dates and date-times."""
    if isinstance(value, bool) or value is None or value == "":
        raise bad_request(f"{field} is not a valid date")
    text = str(value).strip()
    try:
        if text.lstrip("-").isdigit():
            return datetime.fromtimestamp(int(text), BERLIN)
        if len(text) == 10 and text[2] == "." and text[5] == ".":
            return midnight(datetime.strptime(text, "%d.%m.%Y").date())
        if len(text) == 10:
            return midnight(date.fromisoformat(text))
        moment = datetime.fromisoformat(text)
    except (ValueError, OverflowError, OSError) as exc:
        raise bad_request(f"{field} is not a valid date") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=BERLIN)


def parse_iso(value: str) -> datetime:
    return datetime.fromisoformat(value)


def ref(value: Any, object_name: str | None = None) -> dict[str, str]:
    """Normalise an incoming reference ({"id": 1, ...}) to the wire form with string ids."""
    if not isinstance(value, dict) or value.get("id") in (None, ""):
        raise bad_request(f"{object_name or 'reference'} must be an object with an id")
    return {"id": str(value["id"]), "objectName": str(value.get("objectName") or object_name)}


def in_days(moment: datetime, days: int) -> datetime:
    return moment + timedelta(days=days)
