"""Settings from the environment, validated once per process (pydantic-settings)."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    stage: str = "dev"
    table_name: str = "sevdesk-integration"
    export_bucket: str = ""
    # The bucket's Object Lock mode (template parameter ExportObjectLockMode): each archived
    # document is locked in the same mode, since S3 refuses to turn COMPLIANCE into GOVERNANCE.
    export_object_lock_mode: Literal["GOVERNANCE", "COMPLIANCE"] = "GOVERNANCE"

    # DATEV export (template.yaml: DatevExportStateMachine and its steps).
    export_state_machine_arn: str = ""
    export_link_seconds: int = 300  # lifetime of the download route's presigned link
    export_part_bytes: int = 8 * 1024 * 1024  # multipart part size: the store step's memory bound
    export_download_timeout_seconds: float = 60.0  # per read of sevDesk's ZIP, not for the whole

    # sevDesk access. SEVDESK_API_TOKEN (local runs, real-sevDesk smoke runs) wins over the secret.
    sevdesk_base_url: str = "https://my.sevdesk.de/api/v1"
    sevdesk_secret_id: str = ""
    sevdesk_api_token: SecretStr | None = None
    sevdesk_secret_max_age_seconds: int = 300
    sevdesk_timeout_seconds: float = 10.0
    sevdesk_connect_timeout_seconds: float = 3.0
    sevdesk_max_attempts: int = 3
    sevdesk_retry_min_seconds: float = 1.0
    sevdesk_retry_max_seconds: float = 30.0
    # After a write with an unknown outcome that a read did not find, wait this long before
    # writing again: sevDesk may still be applying it (longer than the request timeout).
    ambiguous_write_grace_seconds: int = 60

    # Shared outbound budget per minute (seed 000's figures; sevDesk publishes none).
    budget_default_per_minute: int = 100
    budget_pdf_per_minute: int = 30
    budget_bulk_per_minute: int = 20
    budget_max_wait_seconds: float = 5.0

    # Inbound per-user limiter.
    rate_limit_requests: int = 20
    rate_limit_window_seconds: int = 60

    template_cache_seconds: int = 300
    # The async worker the hand-over invokes when autoTransferInvoices is on (template.yaml).
    auto_publish_function_name: str = ""
    # Where an asynchronous function puts an event it refuses (a malformed or conflicting one,
    # or one whose work sevDesk refused), with the reason (template.yaml; dead_letters.py).
    dead_letter_queue_url: str = ""
    # A route answers within this (API Gateway ends the request at 30 s); see deadline.py.
    route_budget_seconds: float = 24.0

    # Payment sync (services/payment_sync.py). Invoices per list page (sevDesk allows 1000 at
    # most); how far before the watermark each read starts again (clock skew between us and
    # sevDesk, late commits); how often the open invoices are reconciled by status in full.
    payment_sync_page_size: int = Field(default=1000, ge=1, le=1000)
    payment_sync_overlap_seconds: int = Field(default=300, ge=0)
    payment_sync_reconcile_minutes: int = Field(default=60, ge=1)

    # JWT claim names (the authorizer has already verified the token).
    auth_roles_claim: str = "roles"
    auth_user_type_claim: str = "user_type"
    auth_internal_user_type: str = "internal"
    auth_admin_role: str = "admin"
    auth_staff_role: str = "staff"

    aws_region: str = Field(default="eu-central-1", alias="AWS_REGION")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
