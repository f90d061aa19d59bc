"""Field types of the request bodies, each with the JSON Schema the OpenAPI document shows for it.

The rule: the schema says exactly what the validator accepts, so a client (or a fuzzer) can
trust it. Patterns use ASCII classes only and `fullmatch`, which read the same in Python, in
pydantic's Rust engine and in JSON Schema's dialect (ECMA-262). Values read back from DynamoDB
pass the same validators (Decimal numbers, ISO date strings), so these accept those too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema

# A decimal as the API answers it (str of a Decimal, never an exponent: amounts are quantized).
DECIMAL_OUT = {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$"}
ISO_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
# WHATWG's "valid e-mail address", with a dot required in the domain.
EMAIL = (
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)


def _json_integer(value: Any) -> Any:
    # pydantic would take true as 1 and "7" as 7; JSON Schema's integer is neither.
    if isinstance(value, bool | str):
        raise ValueError("an integer expected")
    return value


def _text_matching(pattern: str, message: str) -> Callable[[Any], Any]:
    regex = re.compile(pattern)

    def check(value: Any) -> Any:
        if isinstance(value, str) and not regex.fullmatch(value):
            raise ValueError(message)
        return value

    return check


def _number_or_text(pattern: str, message: str) -> Callable[[Any], Any]:
    text = _text_matching(pattern, message)

    def check(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
            raise ValueError(message)
        return text(value)

    return check


def _strip(required: bool) -> Callable[[str], str]:
    def strip(value: str) -> str:
        stripped = value.strip()
        if required and not stripped:
            raise ValueError("must not be blank")
        return stripped

    return strip


# Each factory gives the metadata of a field type; use it as `Annotated[str, *text(255)]`, so
# that the type checker still sees the base type.
Rules = tuple[Any, ...]


def text(max_length: int, *, required: bool = True, description: str | None = None) -> Rules:
    """Free text (str): the length limits apply to what was sent, then surrounding whitespace is
    dropped (and a required text must not be blank)."""
    return (
        Field(min_length=1 if required else 0, max_length=max_length, description=description),
        AfterValidator(_strip(required)),
    )


def decimal(integer_digits: int, description: str, *, places: int = 4, positive: bool = False) -> Rules:
    """A Decimal, sent as a JSON number or as a plain decimal string (no exponent, no '+')."""
    sign = "" if positive else "-?"
    not_zero = r"(?!0+(\.0+)?$)" if positive else ""
    pattern = rf"^{not_zero}{sign}[0-9]{{1,{integer_digits}}}(\.[0-9]{{1,{places}}})?$"
    bound = 10**integer_digits
    number = {"type": "number", "exclusiveMinimum": 0 if positive else -bound, "exclusiveMaximum": bound}
    limits = f"at most {integer_digits} digits before the point and {places} after"
    return (
        BeforeValidator(_number_or_text(pattern, f"a decimal number ({limits}) expected")),
        Field(
            max_digits=integer_digits + places,
            decimal_places=places,
            allow_inf_nan=False,
            gt=0 if positive else None,
        ),
        WithJsonSchema(
            {
                "anyOf": [number, {"type": "string", "pattern": pattern}],
                "description": f"{description} ({limits})",
            },
            mode="validation",
        ),
        WithJsonSchema(DECIMAL_OUT, mode="serialization"),
    )


def one_of_numbers(allowed: Collection[int], description: str) -> Rules:
    """A Decimal that must be one of a few whole numbers: as a number, or as text like "19.0"."""
    choices = sorted(allowed)
    pattern = rf"^({'|'.join(str(n) for n in choices)})(\.0+)?$"
    message = f"must be one of {', '.join(str(n) for n in choices)}"
    values = frozenset(Decimal(n) for n in choices)

    def member(value: Decimal) -> Decimal:
        if value not in values:
            raise ValueError(message)
        return value

    return (
        BeforeValidator(_number_or_text(pattern, message)),
        AfterValidator(member),
        WithJsonSchema(
            {
                "anyOf": [{"enum": choices}, {"type": "string", "pattern": pattern}],
                "description": description,
            },
            mode="validation",
        ),
        WithJsonSchema(DECIMAL_OUT, mode="serialization"),
    )


def code(allowed: Collection[str], what: str) -> Rules:
    """A str that is one of a fixed set of codes, exactly as listed (no case folding, no whitespace)."""
    choices = sorted(allowed)

    listed = ", ".join(choices) if len(choices) <= 10 else f"{', '.join(choices[:10])}, ..."

    def member(value: Any) -> Any:
        if value not in allowed:
            raise ValueError(f"unknown {what} {value!r}; expected one of: {listed}")
        return value

    return (BeforeValidator(member), WithJsonSchema({"type": "string", "enum": choices}))


def _iso_date(value: Any) -> Any:
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not re.fullmatch(ISO_DATE, value):
        raise ValueError("a date as YYYY-MM-DD expected")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date), WithJsonSchema({"type": "string", "format": "date"})]

# sevDesk takes dates as Unix seconds (filters, some bodies): a day it can represent.
FIRST_DAY, LAST_DAY = date(1970, 1, 2), date(2100, 12, 31)


def _representable(value: date) -> date:
    if not FIRST_DAY <= value <= LAST_DAY:
        raise ValueError(f"a date from {FIRST_DAY} to {LAST_DAY} expected")
    return value


SevdeskDate = Annotated[
    date,
    BeforeValidator(_iso_date),
    AfterValidator(_representable),
    WithJsonSchema(
        {"type": "string", "format": "date", "description": f"YYYY-MM-DD, from {FIRST_DAY} to {LAST_DAY}"}
    ),
]


def integer(*, ge: int | None = None, le: int | None = None) -> Rules:
    """An int sent as a JSON integer. The bounds sit before the validator, so the JSON Schema
    gets minimum/maximum."""
    return (Field(ge=ge, le=le), BeforeValidator(_json_integer))


# An amount the API answers (response models only).
AmountOut = Annotated[Decimal, WithJsonSchema(DECIMAL_OUT)]
EmailAddress = Annotated[
    str,
    BeforeValidator(_text_matching(EMAIL, "not an e-mail address")),
    Field(max_length=254),
    WithJsonSchema({"type": "string", "maxLength": 254, "pattern": EMAIL}),
]
