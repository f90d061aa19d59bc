"""DATEV exports (DESIGN.md section 5): what an admin asks for, the stored job, and the views.

The job item is written by the start route, by the state machine's steps and by its native
DynamoDB tasks (status changes); everything here reads what any of them wrote.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from typing import Annotated, Any, Literal, Self

from pydantic import Field, StrictBool, model_validator

from sevdesk_common.models.base import ApiModel, StrictApiModel
from sevdesk_common.models.fields import IsoDate
from sevdesk_common.models.record import PendingWrite

ExportStatus = Literal["queued", "running", "succeeded", "failed"]
ExportFormat = Literal["csv", "xml"]
ExportConfigState = Literal["set", "not_set"]
# sevDesk's scope letters in its own order: Earnings, eXpenditure, Transactions, Cash register,
# assets (D). The XML export knows E and X only.
SCOPE_ORDER = "EXTCD"
XML_SCOPE = frozenset("EX")
Scope = Annotated[
    str,
    Field(
        pattern=r"^[EXTCD]{1,5}$",
        description="sevDesk's letters: E revenue, X expenses, T transactions, C cash register, "
        "D assets (XML: E and X only)",
    ),
]
# Path parameter rule of the job routes (job ids are UUIDs; anything else is simply not found).
EXPORT_JOB_ID = {"min_length": 1, "max_length": 64, "pattern": r"^[A-Za-z0-9-]+$"}
_CSV_ONLY = ("include_document_images", "enshrine_documents")
_XML_ONLY = ("include_exported_documents", "include_document_xml")
UNPACK_NOTE = (
    "The ZIP holds folders (the booking batch and the document images); DATEV's upload refuses "
    "ZIPs with folders, so unpack it and upload its files."
)


class DatevExportRequest(StrictApiModel):
    """POST body. The flags are sevDesk's; those of the other format are refused, not ignored."""

    start_date: IsoDate = Field(description="First day of the period (Europe/Berlin)")
    end_date: IsoDate = Field(description="Last day of the period, included (Europe/Berlin)")
    scope: Scope = "EX"
    format: ExportFormat = Field(default="csv", description="csv: DATEV CSV ZIP; xml: DATEV XML ZIP")
    export_by_paydate: StrictBool = Field(
        default=False, description="Only paid documents whose pay date lies in the period"
    )
    include_enshrined: StrictBool = Field(
        default=True, description="Include enshrined documents (re-exports a period's documents)"
    )
    include_document_images: StrictBool | None = Field(
        default=None, description="CSV only: the documents' PDFs in the ZIP (default true)"
    )
    enshrine_documents: StrictBool = Field(
        default=False,
        description="CSV only: lock every exported document in sevDesk FOR GOOD; only when asked",
    )
    include_exported_documents: StrictBool | None = Field(
        default=None, description="XML only: include documents exported before (default true)"
    )
    include_document_xml: StrictBool | None = Field(
        default=None, description="XML only: one XML file per document (default true)"
    )

    @model_validator(mode="after")
    def _flags_of_the_format(self) -> Self:
        letters = set(self.scope)
        if len(letters) != len(self.scope):
            raise ValueError("scope: each letter at most once")
        if self.format == "xml":
            if not letters <= XML_SCOPE:
                raise ValueError("scope: the XML export takes E and X only")
            # enshrineDocuments false is the default either way; true would be ignored silently
            given = [name for name in _CSV_ONLY if getattr(self, name) not in (None, False)]
            given += ["include_document_images"] if self.include_document_images is False else []
        else:
            given = [name for name in _XML_ONLY if getattr(self, name) is not None]
        if given:
            names = ", ".join(_camel(name) for name in given)
            raise ValueError(f"{names}: not a flag of the {self.format.upper()} export")
        return self

    def normalized(self) -> DatevExportRequest:
        """Scope letters in sevDesk's order and each format's defaults filled in: equal requests
        compare (and fingerprint) equal."""
        scope = "".join(letter for letter in SCOPE_ORDER if letter in self.scope)
        defaults: dict[str, Any] = {"scope": scope}
        if self.format == "csv":
            defaults["include_document_images"] = (
                True if self.include_document_images is None else self.include_document_images
            )
        else:
            defaults["include_exported_documents"] = self.include_exported_documents is not False
            defaults["include_document_xml"] = self.include_document_xml is not False
        return self.model_copy(update=defaults)

    def fingerprint(self) -> str:
        canonical = json.dumps(self.normalized().model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


class DatevExportJob(ApiModel):
    """The stored job (one item); also the write-once journal of sevDesk's job creation."""

    job_id: str
    status: ExportStatus
    request: DatevExportRequest
    fingerprint: str
    requested_by: str
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    deadline_at: datetime | None = None
    progress: int = 0
    export_config: ExportConfigState | None = None
    sevdesk_job_id: str | None = None
    pending_write: PendingWrite | None = None
    chart_of_accounts: str | None = None  # the settings' datevChartOfAccounts when it ran
    export_chart_of_accounts: str | None = None  # what the exported batch says ("unknown": no CSV)
    file_name: str | None = None
    s3_key: str | None = None
    size_bytes: int | None = None
    sha256: str | None = None
    failure_error: str | None = None  # the Step Functions error name (a Python class name)
    failure_cause: str | None = None  # its cause as Step Functions recorded it

    @property
    def is_finished(self) -> bool:
        return self.status in ("succeeded", "failed")

    @property
    def chart_mismatch(self) -> bool:
        found = self.export_chart_of_accounts
        return bool(
            found and found != "unknown" and self.chart_of_accounts and found != self.chart_of_accounts
        )


class ExportFile(ApiModel):
    name: str
    size_bytes: int
    sha256: str
    note: str = UNPACK_NOTE


class ExportFailure(ApiModel):
    code: str
    message: str


class DatevExportView(ApiModel):
    """What the status and list routes answer for one job."""

    job_id: str
    status: ExportStatus
    progress_percent: int = Field(ge=0, le=100)
    start_date: date
    end_date: date
    scope: str
    format: ExportFormat
    export_by_paydate: bool
    include_enshrined: bool
    enshrine_documents: bool
    include_document_images: bool | None = None
    include_exported_documents: bool | None = None
    include_document_xml: bool | None = None
    requested_by: str
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    chart_of_accounts: str | None = Field(default=None, description="datevChartOfAccounts when it ran")
    export_chart_of_accounts: str | None = Field(
        default=None, description="The chart the exported batch uses (sevDesk's account setting)"
    )
    warnings: list[str] = Field(default_factory=list)
    failure: ExportFailure | None = None
    file: ExportFile | None = None


class DatevExportAccepted(DatevExportView):
    already_running: bool = Field(description="The same export was running already: this is that job")


class DatevExportPage(ApiModel):
    jobs: list[DatevExportView]
    next_cursor: str | None = None


class DatevExportDownload(ApiModel):
    url: str = Field(description="Presigned link to the ZIP in our bucket; valid until expiresAt")
    expires_at: datetime
    file_name: str
    size_bytes: int
    sha256: str
    note: str = UNPACK_NOTE
