"""The one Logger, Tracer and Metrics of the package; nothing else creates Powertools objects.

The sevDesk token must never reach a log line: the formatter masks anything shaped like it
(32 hex characters, an Authorization value) in the final JSON, extras and tracebacks included.
"""

from __future__ import annotations

import re
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.logging.types import PowertoolsLogRecord

_TOKEN_PATTERN = re.compile(r"(?<![0-9a-fA-F])[0-9a-fA-F]{32}(?![0-9a-fA-F])")
_AUTH_VALUE = re.compile(r"(?i)(authorization\\?['\"]?\s*[:=]\s*\\?['\"]?)([^'\"\\,\s}]+)")


def redact(text: str) -> str:
    """Mask sevDesk-token-shaped strings and Authorization values."""
    return _TOKEN_PATTERN.sub("***", _AUTH_VALUE.sub(r"\1***", text))


class RedactingFormatter(LambdaPowertoolsFormatter):
    def serialize(self, log: dict[str, Any] | PowertoolsLogRecord) -> str:
        return redact(super().serialize(log))


logger = Logger(logger_formatter=RedactingFormatter())
tracer = Tracer()
metrics = Metrics()
