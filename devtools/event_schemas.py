"""The JSON Schemas of the events other systems send this bundle, from the code that reads them
(`python -m devtools.event_schemas` writes them; `make openapi` runs it; a test fails when stale).

events/schemas/purchase_completed.json: the EventBridge envelope R1 puts on the billing bus."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = REPO_ROOT / "events" / "schemas"


def purchase_completed() -> dict[str, Any]:
    sys.path.insert(0, str(REPO_ROOT / "layers" / "common"))
    from sevdesk_common.models.purchase import PurchaseEvent

    schema = PurchaseEvent.model_json_schema(by_alias=True, mode="validation")
    return {
        **schema,
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://r1.example/schemas/billing/PurchaseCompleted.json",
        "description": (
            "EventBridge event R1 puts on the billing bus when a purchase completes (source r1.billing, "
            "detail-type PurchaseCompleted). The bundle creates the purchase's billing invoice "
            "PURCHASE-<purchaseId> from `detail` and, with autoTransferInvoices, publishes it (and "
            "e-mails it when sendEmail is true). Unknown fields in `detail` are refused."
        ),
    }


def render() -> dict[str, str]:
    """File name -> its content."""
    return {"purchase_completed.json": json.dumps(purchase_completed(), indent=2, ensure_ascii=False) + "\n"}


def main() -> int:
    SCHEMAS.mkdir(parents=True, exist_ok=True)
    for name, text in render().items():
        (SCHEMAS / name).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
