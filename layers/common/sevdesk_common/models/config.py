"""The operational settings (DESIGN.md section 3): one item, optimistic locking by `version`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StrictBool

from sevdesk_common.models.base import ApiModel, StrictApiModel
from sevdesk_common.models.einvoice import EInvoiceMode, PaymentMeans, SellerCheck
from sevdesk_common.models.fields import integer

ChartOfAccounts = Literal["SKR03", "SKR04"]
Version = Annotated[int, *integer(ge=0)]
SyncInterval = Annotated[int, *integer(ge=1, le=1440)]
TemplateId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
# DATEV's numbers for sevDesk's export config: Beraternummer 1001-9999999, Mandantennummer 1-99999.
FiscalYearMonth = Annotated[int, *integer(ge=1, le=12)]
AccountantNumber = Annotated[str, Field(pattern=r"^[1-9][0-9]{3,6}$", description="DATEV Beraternummer")]
ClientNumber = Annotated[str, Field(pattern=r"^[1-9][0-9]{0,4}$", description="DATEV Mandantennummer")]

# R1's document kinds: AR = outgoing invoice, SR = cancellation invoice (not sevDesk's invoiceType AR).
TEMPLATE_FIELDS = ("template_eb_ar", "template_eb_sr", "template_kop_ar", "template_kop_sr")
# A change of any of these makes the next e-invoice the seller-data canary again.
E_INVOICE_FIELDS = ("e_invoice_mode", "e_invoice_payment_method")


class SevdeskConfig(ApiModel):
    """What GET /api/sevdesk/config returns (plus `tokenConfigured`), and what is stored."""

    account_name: str | None = None
    account_id: str | None = None
    bookkeeping_system_version: str | None = None
    template_eb_ar: str | None = None
    template_eb_sr: str | None = None
    template_kop_ar: str | None = None
    template_kop_sr: str | None = None
    # R1 document template id -> sevDesk template id; wins over the deal-type mapping.
    document_templates: dict[str, str] = Field(default_factory=dict)
    payment_sync_interval_minutes: int = 10
    datev_chart_of_accounts: ChartOfAccounts = "SKR03"
    # sevDesk's DATEV export needs its accountingYearBegin; the export sets it from these when
    # the month is known (sevDesk offers no read of its export config).
    datev_fiscal_year_start_month: int | None = None
    datev_accountant_number: str | None = None
    datev_client_number: str | None = None
    auto_transfer_invoices: bool = False
    # When publish makes an invoice an e-invoice (the hand-over's eInvoice overrides it per invoice).
    e_invoice_mode: EInvoiceMode = "never"
    # How e-invoice buyers pay unless the hand-over says otherwise (a sevDesk PaymentMethod by its code).
    e_invoice_payment_method: PaymentMeans = "sepa_transfer"
    # The seller's master data as the last e-invoice finalize (the canary) found it.
    e_invoice_seller: SellerCheck = Field(default_factory=SellerCheck)
    is_connected: bool = False
    connected_by: str | None = None
    connected_at: datetime | None = None
    last_connection_error: str | None = None
    last_sync_at: datetime | None = None
    updated_at: datetime | None = None
    updated_by: str | None = None
    version: int = 0


class ConfigView(SevdeskConfig):
    token_configured: bool


class ConfigUpdate(StrictApiModel):
    """PUT body: the editable settings. Omitted fields keep their value; `null` clears a
    template mapping; `version` must be the one last read (optimistic locking)."""

    version: Version = Field(description="The config version this update is based on")
    template_eb_ar: TemplateId | None = None
    template_eb_sr: TemplateId | None = None
    template_kop_ar: TemplateId | None = None
    template_kop_sr: TemplateId | None = None
    document_templates: dict[Annotated[str, Field(min_length=1, max_length=64)], TemplateId] | None = Field(
        default=None,
        max_length=500,
        description="R1 document template id -> sevDesk template id (replaces the map)",
    )
    payment_sync_interval_minutes: SyncInterval | None = None
    datev_chart_of_accounts: ChartOfAccounts | None = None
    datev_fiscal_year_start_month: FiscalYearMonth | None = Field(
        default=None, description="Month the fiscal year starts (1 = January); lets the DATEV export set it"
    )
    datev_accountant_number: AccountantNumber | None = None
    datev_client_number: ClientNumber | None = None
    auto_transfer_invoices: StrictBool | None = None
    e_invoice_mode: EInvoiceMode | None = Field(
        default=None,
        description="never | domestic_b2b (companies in Germany, above 250 EUR gross) | always",
    )
    e_invoice_payment_method: PaymentMeans | None = None


class ConnectionFailure(ApiModel):
    code: str
    message: str


class ConnectionResult(ApiModel):
    is_connected: bool
    account_name: str | None = None
    account_id: str | None = None
    bookkeeping_system_version: str | None = None
    connected_by: str | None = None
    connected_at: datetime | None = None
    error: ConnectionFailure | None = None


class InvoiceTemplate(ApiModel):
    id: str
    name: str
    is_default: bool


class TemplateList(ApiModel):
    templates: list[InvoiceTemplate]
    fetched_at: datetime
