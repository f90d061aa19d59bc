"""The token never reaches a log line."""

from __future__ import annotations

import json
from typing import Any

from sevdesk_common.observability import logger, redact

TOKEN = "a1b2c3d4e5f60718293a4b5c6d7e8f90"


def test_redact_masks_token_shaped_strings_and_authorization_values() -> None:
    assert TOKEN not in redact(f"calling with {TOKEN}")
    assert "secret-value" not in redact("Authorization: secret-value")
    assert "secret-value" not in redact('{"authorization": "secret-value"}')
    # Longer hex runs (sha256 digests we log on purpose) are left alone.
    digest = "ab" * 32
    assert redact(digest) == digest


def test_log_records_are_redacted_in_message_extras_and_tracebacks(log_output: Any) -> None:
    logger.info(f"token {TOKEN}", extra={"headers": {"Authorization": TOKEN}, "nested": [TOKEN]})
    try:
        raise RuntimeError(f"failed with {TOKEN}")
    except RuntimeError:
        logger.exception("boom")

    out = log_output.getvalue()
    assert TOKEN not in out
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert lines[0]["headers"]["Authorization"] == "***"
