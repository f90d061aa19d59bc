"""Incoming invoices (Belege): the create request (validated like an invoice hand-over), the
stored request journal that makes a retry create nothing new, and the answers."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from sevdesk_common.models.base import ApiModel, StrictApiModel
from sevdesk_common.models.fields import AmountOut, SevdeskDate, decimal, text
from sevdesk_common.models.invoice import Currency, TaxRate, cents
from sevdesk_common.models.record import PendingWrite

VoucherStatusName = Literal["draft", "open", "partially_paid", "paid"]
# sevDesk's voucher status codes ([SPEC] Voucher: 50 draft, 100 unpaid, 1000 paid; 750 partly paid).
VOUCHER_STATUS: dict[VoucherStatusName, int] = {"draft": 50, "open": 100, "partially_paid": 750, "paid": 1000}
VOUCHER_STATUS_NAMES: dict[int, VoucherStatusName] = {code: name for name, code in VOUCHER_STATUS.items()}
# Tax rules of an expense voucher under sevDesk's bookkeeping system 2.0.
TaxRuleId = Literal[8, 9, 10, 12, 14]
MAX_ATTACHMENT_BYTES = 4 * 1024 * 1024  # the whole request stays under Lambda's 6 MB payload
_MAX_BASE64 = (MAX_ATTACHMENT_BYTES + 2) // 3 * 4

Amount = Annotated[Decimal, *decimal(10, "Amount in the voucher currency", places=2, positive=True)]
SupplierName = Annotated[str, *text(255)]
DocumentNumber = Annotated[str, *text(128, description="The supplier's invoice number (Belegnummer)")]
Comment = Annotated[str, *text(255, required=False)]
AccountDatevId = Annotated[
    str,
    Field(pattern=r"^[0-9]{1,12}$", description="sevDesk AccountDatev id of the booking account (e.g. 4285)"),
]
IdempotencyKey = Annotated[str, Field(min_length=8, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")]


def _pdf(value: str) -> str:
    try:
        content = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not valid base64") from None
    if not content.startswith(b"%PDF-"):
        raise ValueError("the attachment is not a PDF")
    return value


PdfBase64 = Annotated[
    str,
    Field(
        min_length=8,
        max_length=_MAX_BASE64,
        pattern=r"^[A-Za-z0-9+/]*={0,2}$",
        description=f"The PDF, base64 encoded (at most {MAX_ATTACHMENT_BYTES // 1024 // 1024} MB)",
    ),
    AfterValidator(_pdf),
]
PdfName = Annotated[str, Field(min_length=5, max_length=100, pattern=r"^[A-Za-z0-9._ -]+\.[Pp][Dd][Ff]$")]


class VoucherPosition(StrictApiModel):
    """One booking line: a net or a gross amount (not both) at a tax rate, on a booking account."""

    account_datev_id: AccountDatevId
    tax_rate: TaxRate
    net_amount: Amount | None = None
    gross_amount: Amount | None = None
    comment: Comment | None = None

    @model_validator(mode="after")
    def _one_amount(self) -> Self:
        if (self.net_amount is None) == (self.gross_amount is None):
            raise ValueError("give either netAmount or grossAmount")
        return self

    @property
    def gross(self) -> Decimal:
        """As sevDesk sums it: the tax of a net amount rounded to cents."""
        if self.gross_amount is not None:
            return self.gross_amount
        assert self.net_amount is not None
        return self.net_amount + cents(self.net_amount * self.tax_rate / 100)


class VoucherAttachment(StrictApiModel):
    filename: PdfName
    content_base64: PdfBase64

    @property
    def content(self) -> bytes:
        return base64.b64decode(self.content_base64)


class VoucherCreate(StrictApiModel):
    """POST /api/sevdesk/vouchers: an incoming invoice (expense) with its positions."""

    supplier_name: SupplierName
    description: DocumentNumber
    voucher_date: SevdeskDate
    delivery_date: SevdeskDate | None = None
    currency: Currency = "EUR"
    tax_rule: TaxRuleId = Field(
        default=9,
        description="sevDesk tax rule: 9 deductible input tax (default), 10 not deductible, "
        "8 intra-EU acquisition, 12 and 14 reverse charge",
    )
    status: Literal["draft", "open"] = Field(
        default="open", description="open: to be paid; draft: not booked"
    )
    positions: Annotated[list[VoucherPosition], Field(min_length=1, max_length=100)]
    attachment: VoucherAttachment | None = None

    @property
    def gross_amount(self) -> Decimal:
        return sum((p.gross for p in self.positions), Decimal(0))

    def body_hash(self) -> str:
        """The request's identity when the client sends no Idempotency-Key."""
        canonical = json.dumps(
            self.model_dump(mode="json", by_alias=True), sort_keys=True, separators=(",", ":")
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


class VoucherView(ApiModel):
    id: str
    voucher_date: date | None = None
    supplier_name: str | None = None
    description: str | None = None
    status: VoucherStatusName | None = None
    status_code: int
    credit_debit: str | None = None
    currency: str | None = None
    sum_net: AmountOut | None = None
    sum_tax: AmountOut | None = None
    sum_gross: AmountOut | None = None
    paid_amount: AmountOut | None = None
    pay_date: datetime | None = None
    created_at: datetime | None = None


class VoucherCreated(ApiModel):
    voucher: VoucherView
    created: bool = Field(description="false: this request was answered before; nothing new was created")
    idempotency_key: str
    attachment: str | None = Field(default=None, description="sevDesk's name of the uploaded PDF")


class VoucherList(ApiModel):
    vouchers: list[VoucherView]
    limit: int
    offset: int
    next_offset: int | None = None
    total: int | None = None


class VoucherRequest(BaseModel):
    """The journal of one voucher request (key: the Idempotency-Key or the body's hash): its lease,
    the saveVoucher pending write, and once done the voucher it made."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, serialize_by_alias=True, defer_build=True
    )

    key: str
    body_hash: str
    requested_by: str | None = None
    voucher_id: str | None = None
    result: dict[str, Any] | None = None  # the VoucherCreated answer, for repeats
    lock_owner: str | None = None
    lock_expires_at: datetime | None = None
    pending_write: PendingWrite | None = None
    created_at: datetime | None = None
    version: int = 0

    def held_by_other(self, owner: str, now: datetime) -> bool:
        return (
            self.lock_owner is not None
            and self.lock_owner != owner
            and self.lock_expires_at is not None
            and self.lock_expires_at > now
        )

    def changed(self, **changes: Any) -> Self:
        unknown = set(changes) - set(type(self).model_fields)
        if unknown:
            raise TypeError(f"not fields of VoucherRequest: {sorted(unknown)}")
        return type(self).model_validate({**self.model_dump(by_alias=False), **changes})
