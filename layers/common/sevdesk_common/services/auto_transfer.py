"""autoTransferInvoices, the hand-over's side: start the publish without waiting for it (an
async Lambda invoke of the worker, services/auto_publish.py), so R1's PUT never waits for sevDesk."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import boto3

from sevdesk_common import invoice_store
from sevdesk_common.errors import AppError
from sevdesk_common.invoice_store import Event
from sevdesk_common.observability import logger
from sevdesk_common.settings import get_settings

ACTOR = "system:auto-transfer"


@lru_cache(maxsize=1)
def _lambda() -> Any:
    return boto3.client("lambda")


def enqueue_publish(invoice_id: str, requested_by: str = ACTOR) -> None:
    """Start the publish; never raises into the hand-over (a failure is in the event log)."""
    payload = {"invoiceId": invoice_id, "requestedBy": requested_by}
    worker = get_settings().auto_publish_function_name
    try:
        if worker:
            _lambda().invoke(
                FunctionName=worker, InvocationType="Event", Payload=json.dumps(payload).encode()
            )
        else:
            # No worker outside AWS (the template always names one): publish here. Imported here
            # so that the hand-over's cold start does not load the whole publish path.
            from sevdesk_common.services.auto_publish import handle_auto_publish

            handle_auto_publish(payload)
    except AppError:
        # publish_invoice logged it already (or another action holds the invoice, which is no failure)
        logger.warning("auto transfer: publish failed", extra={"invoice_id": invoice_id})
    except Exception as error:
        logger.exception("auto transfer: could not start the publish", extra={"invoice_id": invoice_id})
        details = {"code": "auto_publish_not_started", "message": type(error).__name__}
        try:
            invoice_store.append_event(invoice_id, Event("publish_failed", ACTOR, details))
        except Exception:
            logger.exception("auto transfer: failure not recorded", extra={"invoice_id": invoice_id})
