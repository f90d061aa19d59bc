"""The marker that lets us find our invoice in sevDesk again: it goes into customerInternalNote
(an exact list filter), and sevDesk copies it onto the cancellation invoice (SR)."""

MARKER_PREFIX = "R1-INVOICE:"


def invoice_marker(invoice_id: str) -> str:
    return f"{MARKER_PREFIX}{invoice_id}"
