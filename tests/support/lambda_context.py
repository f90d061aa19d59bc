"""A stand-in for the Lambda context object, enough for Powertools, and for a fresh container."""

from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass
class FakeLambdaContext:
    function_name: str = "test-function"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:eu-central-1:123456789012:function:test-function"
    aws_request_id: str = "00000000-0000-4000-8000-000000000000"
    log_group_name: str = "/aws/lambda/test-function"
    log_stream_name: str = "2026/11/21/[$LATEST]test"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


def clear_process_caches() -> None:
    """What a fresh Lambda container would not have: cached settings, clients and secrets."""
    from aws_lambda_powertools.utilities import parameters

    from sevdesk_common import repository
    from sevdesk_common.settings import get_settings

    get_settings.cache_clear()
    repository.get_table.cache_clear()
    importlib.import_module("sevdesk_common.api").user_bucket.cache_clear()
    invoker = importlib.import_module("sevdesk_common.services.auto_transfer")._lambda
    if hasattr(invoker, "cache_clear"):  # a test may have put a fake in its place
        invoker.cache_clear()
    parameters.clear_caches()
    importlib.import_module("sevdesk_common.dead_letters")._sqs.cache_clear()
    importlib.import_module("sevdesk_common.document_store").clear_cache()
    importlib.import_module("sevdesk_common.services.einvoice").clear_cache()
    clients = importlib.import_module("sevdesk_common.clients")
    clients.clear_client_cache()
    importlib.import_module("sevdesk_common.export_bucket").clear_cache()
    importlib.import_module("sevdesk_common.workflows").clear_cache()
