"""Wire DTOs for sevDesk responses as they really are (see shared/sevdesk/NOTES.md):
ids, amounts and status arrive as strings, booleans as "0"/"1", `paidAmount` as a number,
a position's quantity 1 as `true`. Models ignore fields we do not use and are strict about
the ones we do."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.alias_generators import to_camel


def _to_id(value: Any) -> Any:
    # Ids arrive as "123" but are sometimes sent back as integers; keep them strings.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _to_decimal(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("a boolean is not an amount")
    if isinstance(value, float):
        return Decimal(repr(value))  # 11.9 -> Decimal("11.9"), not its binary expansion
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        try:
            return Decimal(value.strip())
        except InvalidOperation as exc:
            raise ValueError(f"not a decimal: {value!r}") from exc
    return value


def _to_quantity(value: Any) -> Any:
    # saveInvoice echoes quantity 1 as JSON `true`.
    if value is True:
        return Decimal(1)
    return _to_decimal(value)


def _to_int(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return value


def _to_bool(value: Any) -> Any:
    if value in ("1", 1, "true"):
        return True
    if value in ("0", 0, "false", ""):
        return False
    return value


WireId = Annotated[str, BeforeValidator(_to_id)]
WireDecimal = Annotated[Decimal, BeforeValidator(_to_decimal)]
WireQuantity = Annotated[Decimal, BeforeValidator(_to_quantity)]
WireInt = Annotated[int, BeforeValidator(_to_int)]
WireBool = Annotated[bool, BeforeValidator(_to_bool)]


class Deferred(BaseModel):
    """Validators are built at a model's first use, not at import: a function reads a few of
    these models, and building all of them cost every cold start ~40 ms (benchmark coldstart)."""

    model_config = ConfigDict(defer_build=True)


class Wire(Deferred):
    model_config = ConfigDict(
        extra="ignore", alias_generator=to_camel, populate_by_name=True, frozen=True, strict=False
    )


class Ref(Wire):
    """`{"id": "1", "objectName": "StaticCountry"}`; expanded objects reduce to this too."""

    id: WireId
    object_name: str


class SevClientRef(Ref):
    """The account; sevDesk may expand it (with the company name) where we read it."""

    name: str | None = None


class BookkeepingVersion(Wire):
    version: str


class SevUser(Wire):
    id: WireId
    username: str | None = None
    fullname: str | None = None
    email: str | None = None
    sev_client: SevClientRef | None = None


class DocTemplate(Wire):
    id: WireId
    name: str
    is_default: WireBool = Field(default=False, alias="default")
    type: str | None = None
    translation_code: str | None = None
    premium: WireBool | None = None


class Contact(Wire):
    id: WireId
    name: str | None = None
    surename: str | None = None  # sevDesk's spelling of the first name
    familyname: str | None = None
    customer_number: str | None = None
    vat_number: str | None = None
    buyer_reference: str | None = None
    government_agency: WireBool | None = None
    status: WireInt | None = None
    category: Ref | None = None
    sev_client: Ref | None = None
    create: datetime | None = None
    update: datetime | None = None

    @property
    def display_name(self) -> str:
        if self.name:
            return self.name
        return " ".join(part for part in (self.surename, self.familyname) if part)


class ContactPage(Deferred):
    items: list[Contact]
    total: int | None = None
    fetched: int = 0  # before the client-side re-check; paging needs it


class ContactAddress(Wire):
    id: WireId
    contact: Ref
    street: str | None = None
    zip: str | None = None
    city: str | None = None
    country: Ref | None = None
    category: Ref | None = None
    name: str | None = None


class CommunicationWay(Wire):
    id: WireId
    contact: Ref
    type: str
    value: str
    key: Ref | None = None
    main: WireBool | None = None


class Invoice(Wire):
    id: WireId
    invoice_number: str | None = None
    invoice_type: str | None = None
    status: WireInt
    contact: Ref | None = None
    contact_person: Ref | None = None
    sev_client: Ref | None = None
    invoice_date: datetime | None = None
    delivery_date: datetime | None = None
    delivery_date_until: datetime | None = None
    create: datetime | None = None
    update: datetime | None = None
    header: str | None = None
    currency: str | None = None
    sum_net: WireDecimal | None = None
    sum_tax: WireDecimal | None = None
    sum_gross: WireDecimal | None = None
    paid_amount: WireDecimal | None = None
    pay_date: datetime | None = None
    time_to_pay: WireInt | None = None
    customer_internal_note: str | None = None
    send_type: str | None = None
    send_date: datetime | None = None
    enshrined: datetime | None = None
    origin: Ref | None = None
    tax_rule: Ref | None = None
    tax_text: str | None = None
    show_net: WireBool | None = None
    property_is_e_invoice: WireBool | None = Field(default=None, alias="propertyIsEInvoice")
    address: str | None = None
    address_name: str | None = None
    address_street: str | None = None
    address_zip: str | None = None
    address_city: str | None = None
    address_country: Ref | None = None

    @property
    def is_draft(self) -> bool:
        return self.status == 100

    @property
    def is_cancellation(self) -> bool:
        return self.invoice_type == "SR"


class PaymentMethod(Wire):
    """Undocumented GET /PaymentMethod; ids are per account, electronicInvoiceId is the UNTDID 4461
    code an e-invoice names (58 SEPA credit transfer, 59 direct debit, 10 cash, 68 online)."""

    id: WireId
    name: str | None = None
    electronic_invoice_id: str | None = None


class InvoicePos(Wire):
    id: WireId
    invoice: Ref | None = None
    name: str | None = None
    text: str | None = None
    quantity: WireQuantity
    price: WireDecimal | None = None
    tax_rate: WireDecimal | None = None
    sum_net: WireDecimal | None = None
    sum_tax: WireDecimal | None = None
    sum_gross: WireDecimal | None = None
    unity: Ref | None = None
    position_number: WireInt | None = None


class SavedInvoice(Wire):
    invoice: Invoice
    positions: list[InvoicePos] = Field(default_factory=list, alias="invoicePos")


class Unreadable(Deferred):
    """A list entry that did not parse: what little could be read of it, and why."""

    id: str | None = None
    customer_internal_note: str | None = None
    error: str


class InvoicePage(Deferred):
    items: list[Invoice]
    total: int | None = None
    # How many invoices the server returned before our client-side re-check; paging needs it.
    fetched: int = 0
    # Entries that did not parse (only when the page was read tolerantly).
    unreadable: list[Unreadable] = Field(default_factory=list)


class CheckAccountRef(Wire):
    """A check account as a booking names it; `type` only when it is embedded."""

    id: WireId
    object_name: str | None = None
    type: str | None = None  # online (bank), register (cash), offline (e.g. "Ausgebuchte Rechnungen")
    name: str | None = None


class TransactionRef(Wire):
    id: WireId
    object_name: str | None = None
    check_account: CheckAccountRef | None = None  # with embed=checkAccountTransaction.checkAccount


class TransactionLog(Wire):
    """A CheckAccountTransactionLog: one booking of money (or of a write-off) on a document."""

    id: WireId
    document: Ref | None = Field(default=None, alias="object")
    check_account_transaction: TransactionRef | None = None
    amount_paid: WireDecimal  # a signed JSON number
    booking_date: datetime | None = None
    create: datetime | None = None


class TransactionLogPage(Deferred):
    items: list[TransactionLog]
    total: int | None = None
    fetched: int = 0


class CheckAccount(Wire):
    """A bank, cash register or offline account; `type` tells money from write-offs (NOTES.md §13)."""

    id: WireId
    name: str | None = None
    type: str | None = None  # online | offline | register
    accounting_number: str | None = None


class PdfWire(Wire):
    """getPdf's JSON form; the key spelling differs between the spec and the live API."""

    content: str
    filename: str | None = None
    base64_encoded: WireBool = Field(
        default=True, validation_alias=AliasChoices("base64Encoded", "base64encoded")
    )
    mime_type: str | None = Field(default=None, validation_alias=AliasChoices("mimetype", "mimeType"))


class PdfDocument(Deferred):
    filename: str
    content: bytes
    mime_type: str = "application/pdf"


class EmailResult(Wire):
    id: WireId | None = None
    sender: str | None = Field(default=None, alias="from")
    to: str | None = None
    subject: str | None = None
    cc: str | None = None
    bcc: str | None = None
    document: Ref | None = Field(default=None, alias="object")


class InvoiceLog(Wire):
    id: WireId | None = None
    object_name: str | None = None
    from_status: WireInt | None = None
    to_status: WireInt | None = None
    # sevDesk spells it "ammountPayed" on invoices and "amountPayed" on vouchers.
    amount_paid: WireDecimal | None = Field(
        default=None, validation_alias=AliasChoices("ammountPayed", "amountPayed")
    )
    booking_date: datetime | None = None


class Progress(Wire):
    current: WireInt
    total: WireInt

    @property
    def done(self) -> bool:
        return self.total > 0 and self.current >= self.total

    @property
    def percent(self) -> int:
        if self.total <= 0:
            return 0
        return max(0, min(100, self.current * 100 // self.total))


class DownloadInfo(Wire):
    filename: str
    link: str
    link_expire_date: datetime | None = None


class Voucher(Wire):
    id: WireId
    status: WireInt
    voucher_date: datetime | None = None
    supplier_name: str | None = None
    description: str | None = None
    credit_debit: str | None = None
    voucher_type: str | None = None
    currency: str | None = None
    sum_net: WireDecimal | None = None
    sum_tax: WireDecimal | None = None
    sum_gross: WireDecimal | None = None
    paid_amount: WireDecimal | None = None
    pay_date: datetime | None = None
    tax_rule: Ref | None = None
    create: datetime | None = None
    update: datetime | None = None


class VoucherPage(Deferred):
    items: list[Voucher]
    total: int | None = None
    fetched: int = 0


class VoucherPos(Wire):
    id: WireId
    voucher: Ref | None = None
    account_datev: Ref | None = None
    tax_rate: WireDecimal | None = None
    net: WireBool | None = None
    sum_net: WireDecimal | None = None
    sum_gross: WireDecimal | None = None
    comment: str | None = None


class SavedVoucher(Wire):
    voucher: Voucher
    positions: list[VoucherPos] = Field(default_factory=list, alias="voucherPos")


class TempFile(Wire):
    """uploadTempFile's answer; `filename` is what saveVoucher takes."""

    filename: str
    mime_type: str | None = None
    origin_mime_type: str | None = None
    pages: WireInt | None = None
    content_hash: str | None = None


class ErrorBody(Wire):
    message: str | None = None
    code: WireInt | None = None
    exception_uuid: str | None = Field(default=None, alias="exceptionUUID")
    response_code: WireInt | None = None
    data: Any = None


class CreditNote(Wire):
    """A credit note (Gutschrift): positive sums that reduce revenue; drafts are status 100."""

    id: WireId
    credit_note_number: str | None = None
    credit_note_date: datetime | None = None
    credit_note_type: str | None = None
    status: WireInt
    currency: str | None = None
    sum_net: WireDecimal | None = None
    sum_tax: WireDecimal | None = None
    sum_gross: WireDecimal | None = None
    origin: Ref | None = None


class CreditNotePage(Deferred):
    items: list[CreditNote]
    total: int | None = None
    fetched: int = 0
