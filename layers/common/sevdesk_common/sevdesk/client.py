"""The typed sevDesk client: one method per sevDesk call the integration makes.

`safe=True` marks calls that may be repeated (GETs, idempotent PUTs); every other call is a
write that is sent at most once unless sevDesk provably did not receive or apply it.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import TypeAdapter, ValidationError

from sevdesk_common.errors import TimeBudgetExceeded
from sevdesk_common.sevdesk.core import Reply, Request, SevdeskHttp
from sevdesk_common.sevdesk.errors import (
    SevdeskError,
    SevdeskNotFound,
    SevdeskProtocolError,
    SevdeskRateLimited,
)
from sevdesk_common.sevdesk.models import (
    BookkeepingVersion,
    CheckAccount,
    CommunicationWay,
    Contact,
    ContactAddress,
    ContactPage,
    CreditNote,
    CreditNotePage,
    DocTemplate,
    DownloadInfo,
    EmailResult,
    Invoice,
    InvoiceLog,
    InvoicePage,
    InvoicePos,
    PaymentMethod,
    PdfDocument,
    PdfWire,
    Progress,
    SavedInvoice,
    SavedVoucher,
    SevUser,
    TempFile,
    TransactionLog,
    TransactionLogPage,
    Unreadable,
    Voucher,
    VoucherPage,
    WireBool,
)
from sevdesk_common.sevdesk.payloads import (
    MAX_PAGE,
    InvoiceSavePayload,
    VoucherSavePayload,
    berlin_date,
    berlin_midnight_unix,
    ref,
)

if TYPE_CHECKING:
    from sevdesk_common.sevdesk.budget import BudgetClass, OutboundBudget

T = TypeVar("T")
PaymentType = Literal["FULL_PAYMENT", "N", "CB", "CF", "O", "OF", "MTC"]
SendType = Literal["VPR", "VP", "VM", "VPDF"]
CommunicationType = Literal["EMAIL", "PHONE", "MOBILE", "WEB"]
# Expands each booking's transaction and its check account (whose type tells money from a write-off).
BOOKING_EMBED = "checkAccountTransaction,checkAccountTransaction.checkAccount"


def _one(objects: Any) -> Any:
    """GET by id answers with a list of one; factory/action calls with the object itself."""
    if isinstance(objects, list):
        if not objects:
            raise SevdeskNotFound("sevDesk returned no object.", http_status=200)
        return objects[0]
    return objects


def _many(objects: Any) -> list[Any]:
    if objects is None:
        return []
    return objects if isinstance(objects, list) else [objects]


def _unix(value: date | datetime) -> int:
    if isinstance(value, datetime):
        return int(_aware(value).timestamp())
    return berlin_midnight_unix(value)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _period(params: dict[str, Any], start: date | None, end: date | None) -> None:
    """sevDesk's startDate/endDate: Unix seconds, Berlin days, `end` inclusive."""
    if start is not None:
        params["startDate"] = _unix(start)
    if end is not None:
        params["endDate"] = _unix(end + timedelta(days=1)) - 1


def _in_period(moment: datetime | None, start: date | None, end: date | None) -> bool:
    """The client-side re-check of a period filter (an ignored filter returns everything)."""
    if start is None and end is None:
        return True
    if moment is None:
        return False
    day = berlin_date(moment)
    return (start is None or day >= start) and (end is None or day <= end)


def _unset_or(wanted: str | None, found: str | None) -> bool:
    return wanted is None or found == wanted


def _total(body: Any) -> int | None:
    total = body.get("total") if isinstance(body, dict) else None
    return int(total) if total not in (None, "") else None


@dataclass(frozen=True)
class _InvoiceFilter:
    """The filters of an invoice list: sent as query parameters, and re-checked on every item
    because sevDesk silently ignores a filter it does not know and then returns everything."""

    status: int | None
    update_after: datetime | None  # naive: taken as UTC
    customer_internal_note: str | None
    invoice_number: str | None
    invoice_type: str | None
    contact_id: str | None
    start: date | None
    end: date | None

    def params(self) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if self.status is not None:
            params["status"] = self.status
        if self.update_after is not None:
            params["updateAfter"] = _unix(self.update_after)
        if self.customer_internal_note is not None:
            params["customerInternalNote"] = self.customer_internal_note
        if self.invoice_number is not None:
            params["invoiceNumber"] = self.invoice_number
        if self.invoice_type is not None:
            params["invoiceType"] = self.invoice_type
        if self.contact_id is not None:
            params.update({"contact[id]": self.contact_id, "contact[objectName]": "Contact"})
        _period(params, self.start, self.end)
        return params

    def matches(self, invoice: Invoice) -> bool:
        after = _aware(self.update_after) if self.update_after else None
        contact = invoice.contact
        return (
            (self.status is None or invoice.status == self.status)
            and (after is None or (invoice.update is not None and invoice.update >= after))
            and _unset_or(self.customer_internal_note, invoice.customer_internal_note)
            and _unset_or(self.invoice_number, invoice.invoice_number)
            and _unset_or(self.invoice_type, invoice.invoice_type)
            and (self.contact_id is None or (contact is not None and contact.id == self.contact_id))
            and _in_period(invoice.invoice_date, self.start, self.end)
        )


class SevdeskClient(SevdeskHttp):
    # Requests that reached sevDesk (retries included) since this client was made; callers
    # that report their own count take the difference.
    requests_sent = 0

    # --- plumbing -------------------------------------------------------------------------

    @property
    def budget(self) -> OutboundBudget | None:
        return self._budget

    def _send_once(self, request: Request) -> Reply:
        try:
            reply = super()._send_once(request)
        except TimeBudgetExceeded:
            raise  # not sent
        except SevdeskRateLimited as error:
            if error.http_status is not None:  # sevDesk's 429; without a status our budget refused
                self.requests_sent += 1
            raise
        except SevdeskError:
            self.requests_sent += 1
            raise
        self.requests_sent += 1
        return reply

    def reserve(self, requests: int, budget_class: BudgetClass = "default") -> None:
        """Take the budget for the next `requests` calls in one go (see OutboundBudget)."""
        if self._budget is not None and requests > 0:
            self._budget.reserve(requests, budget_class)

    def _get(
        self, path: str, operation: str, params: dict[str, Any] | None = None, budget: BudgetClass = "default"
    ) -> Reply:
        return self.call(Request("GET", path, operation, safe=True, params=params, budget_class=budget))

    def _write(self, method: str, path: str, operation: str, **kwargs: Any) -> Reply:
        return self.call(Request(method, path, operation, safe=False, **kwargs))

    def _parse(self, reply: Reply, parse: Callable[[Any], T]) -> T:
        """Parse `objects`; a write whose answer we cannot read has an unknown outcome."""
        body = reply.body
        try:
            if not isinstance(body, dict) or "objects" not in body:
                raise ValueError("no objects envelope")
            return parse(body["objects"])
        except SevdeskError:
            raise
        except (ValidationError, ValueError, TypeError, KeyError) as exc:
            request = reply.request
            if not request.safe:
                raise self.ambiguous(request, "sevDesk's answer could not be read") from exc
            raise SevdeskProtocolError(
                f"sevDesk answered {request.operation} in an unexpected shape.",
                http_status=reply.response.status_code,
            ) from exc

    # --- account --------------------------------------------------------------------------

    def bookkeeping_system_version(self) -> str:
        reply = self._get("/Tools/bookkeepingSystemVersion", "bookkeeping_system_version")
        return self._parse(reply, lambda o: BookkeepingVersion.model_validate(_one(o)).version)

    def list_sev_users(self) -> list[SevUser]:
        reply = self._get("/SevUser", "list_sev_users")
        return self._parse(reply, lambda o: [SevUser.model_validate(u) for u in _many(o)])

    def list_templates(self, doc_type: str = "Invoice") -> list[DocTemplate]:
        reply = self._get("/DocServer/getTemplatesWithThumb", "list_templates", {"type": doc_type})
        body = reply.body
        if isinstance(body, dict) and "objects" not in body and "templates" in body:
            body = {"objects": body}  # the spec's unwrapped {result, templates} form
        return self._parse(Reply(reply.request, reply.response, body), _templates)

    # --- contacts -------------------------------------------------------------------------

    def find_contacts_by_customer_number(self, customer_number: str) -> list[Contact]:
        params = {"customerNumber": customer_number, "depth": 1}
        reply = self._get("/Contact", "find_contacts", params)
        contacts = self._parse(reply, lambda o: [Contact.model_validate(c) for c in _many(o)])
        # The filter is exact on sevDesk today; an ignored filter would return everyone.
        return [c for c in contacts if c.customer_number == customer_number]

    def list_contacts(
        self,
        *,
        name: str | None = None,
        customer_number: str | None = None,
        category_id: int | None = None,
        limit: int = 100,
        offset: int = 0,
        count_all: bool = False,
    ) -> ContactPage:
        """One page of contacts, persons included (depth=1), newest first. `name` is sevDesk's
        substring search over name/surename/familyname, `customer_number` its exact filter; both
        are re-checked here because an ignored filter would return everyone."""
        params: dict[str, Any] = {"depth": 1, "limit": max(1, min(limit, MAX_PAGE)), "offset": offset}
        if name:
            params["name"] = name
        if customer_number:
            params["customerNumber"] = customer_number
        if category_id is not None:
            params.update({"category[id]": category_id, "category[objectName]": "Category"})
        if count_all:
            params["countAll"] = "true"
        reply = self._get("/Contact", "list_contacts", params)
        fetched = self._parse(reply, lambda o: [Contact.model_validate(c) for c in _many(o)])
        wanted = (name or "").casefold()

        def matches(contact: Contact) -> bool:
            return (
                (not wanted or wanted in contact.display_name.casefold())
                and (not customer_number or contact.customer_number == customer_number)
                and (
                    category_id is None
                    or (contact.category is not None and contact.category.id == str(category_id))
                )
            )

        return ContactPage(
            items=[c for c in fetched if matches(c)], total=_total(reply.body), fetched=len(fetched)
        )

    def get_contact(self, contact_id: str) -> Contact:
        reply = self._get(f"/Contact/{contact_id}", "get_contact")
        return self._parse(reply, lambda o: Contact.model_validate(_one(o)))

    def create_contact(
        self,
        *,
        customer_number: str,
        name: str | None = None,
        surename: str | None = None,
        familyname: str | None = None,
        vat_number: str | None = None,
        category_id: int = 3,  # customer
        buyer_reference: str | None = None,
        government_agency: bool | None = None,
    ) -> Contact:
        """An organisation (`name`) or a person (`surename`/`familyname`)."""
        if bool(name) == bool(surename or familyname):
            raise ValueError("give either name (organisation) or surename/familyname (person)")
        body: dict[str, Any] = {"category": ref("Category", category_id), "customerNumber": customer_number}
        if name:
            body["name"] = name
        else:
            body.update(surename=surename, familyname=familyname)
        if vat_number:
            body["vatNumber"] = vat_number
        if buyer_reference is not None:
            body["buyerReference"] = buyer_reference
        if government_agency is not None:
            body["governmentAgency"] = government_agency
        reply = self._write("POST", "/Contact", "create_contact", json=body)
        return self._parse(reply, lambda o: Contact.model_validate(_one(o)))

    def update_contact(
        self, contact_id: str, *, buyer_reference: str | None = None, government_agency: bool | None = None
    ) -> Contact:
        """PUT /Contact/{id} with absolute values (so a repeat changes nothing)."""
        body: dict[str, Any] = {}
        if buyer_reference is not None:
            body["buyerReference"] = buyer_reference
        if government_agency is not None:
            body["governmentAgency"] = government_agency
        reply = self.call(Request("PUT", f"/Contact/{contact_id}", "update_contact", safe=True, json=body))
        return self._parse(reply, lambda o: Contact.model_validate(_one(o)))

    def contacts_page(
        self, *, limit: int = MAX_PAGE, offset: int = 0, budget_class: BudgetClass = "default"
    ) -> list[Contact]:
        """One raw page of contacts, persons included (depth=1), for reading them all."""
        params = {"limit": max(1, min(limit, MAX_PAGE)), "offset": offset, "depth": 1}
        reply = self._get("/Contact", "list_contacts", params, budget_class)
        return self._parse(reply, lambda o: [Contact.model_validate(c) for c in _many(o)])

    def list_payment_methods(self) -> list[PaymentMethod]:
        reply = self._get("/PaymentMethod", "list_payment_methods", {"limit": MAX_PAGE})
        return self._parse(reply, lambda o: [PaymentMethod.model_validate(m) for m in _many(o)])

    def create_contact_address(
        self,
        contact_id: str,
        *,
        street: str | None,
        zip_code: str | None,
        city: str | None,
        country_id: int = 1,
        category_id: int = 47,  # as in the recorded create
        name: str | None = None,
    ) -> ContactAddress:
        body = {
            "contact": ref("Contact", contact_id),
            "street": street,
            "zip": zip_code,
            "city": city,
            "country": ref("StaticCountry", country_id),
            "category": ref("Category", category_id),
            "name": name,
        }
        reply = self._write("POST", "/ContactAddress", "create_contact_address", json=body)
        return self._parse(reply, lambda o: ContactAddress.model_validate(_one(o)))

    def create_communication_way(
        self, contact_id: str, value: str, *, kind: CommunicationType = "EMAIL", main: bool = True
    ) -> CommunicationWay:
        """An e-mail address (or phone number, ...) of the contact: a resource of its own in sevDesk."""
        body = {
            "contact": ref("Contact", contact_id),
            "type": kind,
            "value": value,
            "key": ref("CommunicationWayKey", 2),
            "main": main,
        }
        reply = self._write("POST", "/CommunicationWay", "create_communication_way", json=body)
        return self._parse(reply, lambda o: CommunicationWay.model_validate(_one(o)))

    # --- invoices: create, read, list -----------------------------------------------------

    def save_invoice(self, payload: InvoiceSavePayload) -> SavedInvoice:
        reply = self._write("POST", "/Invoice/Factory/saveInvoice", "save_invoice", json=payload.to_wire())
        return self._parse(reply, lambda o: SavedInvoice.model_validate(_one(o)))

    def get_invoice(self, invoice_id: str) -> Invoice:
        reply = self._get(f"/Invoice/{invoice_id}", "get_invoice")
        return self._parse(reply, lambda o: Invoice.model_validate(_one(o)))

    def list_invoices(
        self,
        *,
        status: int | None = None,
        update_after: datetime | None = None,
        customer_internal_note: str | None = None,
        invoice_number: str | None = None,
        invoice_type: str | None = None,
        contact_id: str | None = None,
        start: date | None = None,
        end: date | None = None,
        limit: int = MAX_PAGE,
        offset: int = 0,
        count_all: bool = False,
        budget_class: BudgetClass = "default",
        tolerant: bool = False,
    ) -> InvoicePage:
        """One page. Items are re-checked against the filters, because sevDesk silently
        ignores a filter it does not know and then returns everything; `fetched` is the
        unfiltered count, which paging needs. A naive `update_after` is taken as UTC.
        `tolerant`: an entry that does not parse goes to `unreadable` instead of failing the page."""
        wanted = _InvoiceFilter(
            status, update_after, customer_internal_note, invoice_number, invoice_type, contact_id, start, end
        )
        params = {"limit": max(1, min(limit, MAX_PAGE)), "offset": offset, **wanted.params()}
        if count_all:
            params["countAll"] = "true"
        reply = self._get("/Invoice", "list_invoices", params, budget_class)
        unreadable: list[Unreadable] = []
        if tolerant:
            fetched = self._parse(reply, lambda o: _each(o, Invoice, unreadable))
        else:
            fetched = self._parse(reply, lambda o: [Invoice.model_validate(i) for i in _many(o)])
        return InvoicePage(
            items=[i for i in fetched if wanted.matches(i)],
            total=_total(reply.body),
            fetched=len(fetched) + len(unreadable),
            unreadable=unreadable,
        )

    def iter_invoices(self, *, limit: int = MAX_PAGE, **filters: Any) -> Iterator[Invoice]:
        """All matching invoices, page by page until a short page."""
        limit = max(1, min(limit, MAX_PAGE))
        offset = 0
        while True:
            page = self.list_invoices(limit=limit, offset=offset, **filters)
            yield from page.items
            if page.fetched < limit:
                return
            offset += page.fetched

    def find_invoices_by_marker(self, marker: str) -> list[Invoice]:
        """Invoices carrying our marker; includes a cancellation (SR), which copies the note."""
        return list(self.iter_invoices(customer_internal_note=marker))

    def get_positions(self, invoice_id: str) -> list[InvoicePos]:
        reply = self._get(f"/Invoice/{invoice_id}/getPositions", "get_positions")
        return self._parse(reply, lambda o: [InvoicePos.model_validate(p) for p in _many(o)])

    def get_is_partially_paid(self, invoice_id: str) -> bool:
        reply = self._get(f"/Invoice/{invoice_id}/getIsPartiallyPaid", "get_is_partially_paid")
        return self._parse(reply, _as_bool)

    # --- bookings (payment sync) ------------------------------------------------------------

    def invoice_transaction_logs(self, invoice_id: str) -> list[TransactionLog]:
        """Every booking on one invoice, each with its check account (NOTES.md section 13)."""
        params = {"embed": BOOKING_EMBED, "limit": MAX_PAGE}
        path = f"/Invoice/{invoice_id}/getCheckAccountTransactionLogs"
        reply = self._get(path, "invoice_transaction_logs", params)
        return self._parse(reply, lambda o: [TransactionLog.model_validate(log) for log in _many(o)])

    def list_transaction_logs(self, *, limit: int = MAX_PAGE, offset: int = 0) -> TransactionLogPage:
        """One page of the whole tenant's bookings (filters by document are ignored by sevDesk,
        so there are none); entries that do not parse are left out, `fetched` counts them."""
        params = {"embed": BOOKING_EMBED, "limit": max(1, min(limit, MAX_PAGE)), "offset": offset}
        reply = self._get("/CheckAccountTransactionLog", "list_transaction_logs", params)
        unreadable: list[Unreadable] = []
        logs = self._parse(reply, lambda o: _each(o, TransactionLog, unreadable))
        return TransactionLogPage(items=logs, total=_total(reply.body), fetched=len(logs) + len(unreadable))

    def list_check_accounts(self) -> list[CheckAccount]:
        reply = self._get("/CheckAccount", "list_check_accounts", {"limit": MAX_PAGE})
        return self._parse(reply, lambda o: [CheckAccount.model_validate(a) for a in _many(o)])

    # --- invoices: lifecycle --------------------------------------------------------------

    def send_by(self, invoice_id: str, send_type: SendType = "VPDF", send_draft: bool = False) -> Invoice:
        """Finalize: draft -> open, assigns the number and enshrines (with send_draft False)."""
        body = {"sendType": send_type, "sendDraft": send_draft}
        reply = self._write("PUT", f"/Invoice/{invoice_id}/sendBy", "send_by", json=body)
        return self._parse(reply, lambda o: Invoice.model_validate(_one(o)))

    def send_via_email(
        self,
        invoice_id: str,
        to_email: str,
        subject: str,
        text: str,
        cc: list[str] | None = None,
        bcc: list[str] | None = None,
    ) -> EmailResult:
        body: dict[str, Any] = {"toEmail": to_email, "subject": subject, "text": text}
        if cc:
            body["ccEmail"] = ",".join(cc)
        if bcc:
            body["bccEmail"] = ",".join(bcc)
        reply = self._write("POST", f"/Invoice/{invoice_id}/sendViaEmail", "send_via_email", json=body)
        return self._parse(reply, lambda o: EmailResult.model_validate(_one(o)))

    def get_pdf(self, invoice_id: str) -> PdfDocument:
        """Always with preventSendBy=true: a plain getPdf would finalize a draft."""
        request = Request(
            "GET",
            f"/Invoice/{invoice_id}/getPdf",
            "get_pdf",
            safe=True,
            params={"preventSendBy": "true"},
            budget_class="pdf",
            allow_raw=True,
        )
        reply = self.call(request)
        if reply.body is None:
            content, filename = reply.response.content, f"{invoice_id}.pdf"
        else:
            wire = self._parse(reply, lambda o: PdfWire.model_validate(_one(o)))
            content = _decode_pdf(wire) if wire.base64_encoded else wire.content.encode("latin-1")
            filename = wire.filename if wire.filename and wire.filename != ".pdf" else f"{invoice_id}.pdf"
        if not content.startswith(b"%PDF"):
            raise SevdeskProtocolError(f"sevDesk's PDF for invoice {invoice_id} is not a PDF.")
        return PdfDocument(filename=filename, content=content)

    def get_xml(self, invoice_id: str) -> str:
        """The e-invoice's EN 16931 CII XML (only for finalized e-invoices; else 400)."""
        reply = self._get(f"/Invoice/{invoice_id}/getXml", "get_xml")
        return self._parse(reply, lambda o: _xml(_one(o)))

    def cancel_invoice(self, invoice_id: str) -> Invoice:
        """Returns the cancellation invoice (SR). Partly paid: HTTP 200 + code 390 -> refused."""
        reply = self._write("POST", f"/Invoice/{invoice_id}/cancelInvoice", "cancel_invoice")
        return self._parse(reply, lambda o: Invoice.model_validate(_one(o)))

    def change_parameter(self, invoice_id: str, key: str, value: str) -> None:
        """Set template/letterpaper/language; setting the same value twice is harmless."""
        body = {"key": key, "value": value}
        self.call(
            Request("PUT", f"/Invoice/{invoice_id}/changeParameter", "change_parameter", True, json=body)
        )

    def delete_invoice(self, invoice_id: str) -> None:
        """Drafts only; anything else is refused with 409 / code 159."""
        self._write("DELETE", f"/Invoice/{invoice_id}", "delete_invoice")

    def book_amount(
        self,
        invoice_id: str,
        amount: Decimal,
        date_: date | datetime,
        payment_type: PaymentType = "FULL_PAYMENT",
        *,
        check_account_id: str,
        check_account_transaction_id: str | None = None,
    ) -> InvoiceLog:
        body: dict[str, Any] = {
            "amount": format(amount, "f"),
            "date": _unix(date_),
            "type": payment_type,
            "checkAccount": ref("CheckAccount", check_account_id),
        }
        if check_account_transaction_id:
            body["checkAccountTransaction"] = ref("CheckAccountTransaction", check_account_transaction_id)
        reply = self._write("PUT", f"/Invoice/{invoice_id}/bookAmount", "book_amount", json=body)
        return self._parse(reply, lambda o: InvoiceLog.model_validate(_one(o)))

    # --- DATEV export -----------------------------------------------------------------------

    def update_export_config(
        self,
        sev_client_id: str,
        accounting_year_begin: date,
        accountant_number: str | None = None,
        accountant_client_number: str | None = None,
    ) -> None:
        body: dict[str, Any] = {"accountingYearBegin": _unix(accounting_year_begin)}
        if accountant_number is not None:
            body["accountantNumber"] = int(accountant_number)
        if accountant_client_number is not None:
            body["accountantClientNumber"] = int(accountant_client_number)
        path = f"/SevClient/{sev_client_id}/updateExportConfig"
        # Sets absolute values, so a repeat is harmless.
        self.call(Request("PUT", path, "update_export_config", safe=True, json=body))

    def create_datev_csv_zip_export_job(
        self,
        start: date,
        end: date,
        scope: str = "EXTCD",
        *,
        export_by_paydate: bool = False,
        include_enshrined: bool = True,
        enshrine_documents: bool = False,
        include_document_images: bool = True,
    ) -> str:
        """Starts a job. A GET on the wire but a write: never repeated blindly."""
        params = {
            **_export_period(start, end),
            "scope": scope,
            "exportByPaydate": _flag(export_by_paydate),
            "includeEnshrined": _flag(include_enshrined),
            "enshrineDocuments": _flag(enshrine_documents),
            "includeDocumentImages": _flag(include_document_images),
        }
        reply = self._write(
            "GET", "/Export/createDatevCsvZipExportJob", "create_datev_export_job", params=params
        )
        return self._parse(reply, _job_id)

    def create_datev_xml_zip_export_job(
        self,
        start: date,
        end: date,
        scope: str = "EX",
        *,
        export_by_paydate: bool = False,
        include_enshrined: bool = True,
        include_exported_documents: bool = True,
        include_document_xml: bool = True,
    ) -> str:
        """The XML variant (scope E and/or X); like the CSV job, a write sent once."""
        params = {
            **_export_period(start, end),
            "scope": scope,
            "exportByPaydate": _flag(export_by_paydate),
            "includeEnshrined": _flag(include_enshrined),
            "includeExportedDocuments": _flag(include_exported_documents),
            "includeDocumentXml": _flag(include_document_xml),
        }
        reply = self._write(
            "GET", "/Export/createDatevXmlZipExportJob", "create_datev_xml_export_job", params=params
        )
        return self._parse(reply, _job_id)

    def generate_download_hash(self, job_id: str) -> str:
        reply = self._get("/Progress/generateDownloadHash", "generate_download_hash", {"jobId": job_id})
        return self._parse(reply, lambda o: _string(_one(o), "hash"))

    def get_progress(self, progress_hash: str) -> Progress:
        reply = self._get("/Progress/getProgress", "get_progress", {"hash": progress_hash})
        return self._parse(reply, _progress)

    def job_download_info(self, job_id: str) -> DownloadInfo:
        reply = self._get("/ExportJob/jobDownloadInfo", "job_download_info", {"jobId": job_id})
        return self._parse(reply, lambda o: DownloadInfo.model_validate(_one(o)))

    # --- vouchers (incoming invoices) -------------------------------------------------------

    def upload_temp_file(self, filename: str, content: bytes, mime_type: str = "application/pdf") -> TempFile:
        files = {"file": (filename, content, mime_type)}
        reply = self._write("POST", "/Voucher/Factory/uploadTempFile", "upload_temp_file", files=files)
        return self._parse(reply, lambda o: TempFile.model_validate(_one(o)))

    def save_voucher(self, payload: VoucherSavePayload) -> SavedVoucher:
        reply = self._write("POST", "/Voucher/Factory/saveVoucher", "save_voucher", json=payload.to_wire())
        return self._parse(reply, lambda o: SavedVoucher.model_validate(_one(o)))

    def list_vouchers(
        self,
        *,
        status: int | None = None,
        credit_debit: str | None = None,
        start: date | None = None,
        end: date | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Voucher]:
        params: dict[str, Any] = {"limit": max(1, min(limit, MAX_PAGE)), "offset": offset}
        if status is not None:
            params["status"] = status
        if credit_debit is not None:
            params["creditDebit"] = credit_debit
        if start is not None:
            params["startDate"] = _unix(start)
        if end is not None:
            params["endDate"] = _unix(end + timedelta(days=1)) - 1
        reply = self._get("/Voucher", "list_vouchers", params)
        vouchers = self._parse(reply, lambda o: [Voucher.model_validate(v) for v in _many(o)])
        return [
            v
            for v in vouchers
            if (status is None or v.status == status)
            and (credit_debit is None or v.credit_debit == credit_debit)
        ]

    def voucher_page(
        self,
        *,
        status: int | None = None,
        credit_debit: str | None = None,
        description_like: str | None = None,
        start: date | None = None,
        end: date | None = None,
        limit: int = MAX_PAGE,
        offset: int = 0,
        count_all: bool = False,
    ) -> VoucherPage:
        """One page of vouchers, newest first, the filters re-checked (`start`/`end` on voucherDate;
        `description_like` is sevDesk's substring search, re-checked as such)."""
        params: dict[str, Any] = {"limit": max(1, min(limit, MAX_PAGE)), "offset": offset}
        if status is not None:
            params["status"] = status
        if credit_debit is not None:
            params["creditDebit"] = credit_debit
        if description_like:
            params["descriptionLike"] = description_like
        _period(params, start, end)
        if count_all:
            params["countAll"] = "true"
        reply = self._get("/Voucher", "list_vouchers", params)
        fetched = self._parse(reply, lambda o: [Voucher.model_validate(v) for v in _many(o)])
        like = (description_like or "").casefold()
        items = [
            v
            for v in fetched
            if (status is None or v.status == status)
            and (credit_debit is None or v.credit_debit == credit_debit)
            and (not like or like in (v.description or "").casefold())
            and _in_period(v.voucher_date, start, end)
        ]
        return VoucherPage(items=items, total=_total(reply.body), fetched=len(fetched))

    def iter_vouchers(self, **filters: Any) -> Iterator[Voucher]:
        """All matching vouchers, page by page until a short page."""
        offset = 0
        while True:
            page = self.voucher_page(limit=MAX_PAGE, offset=offset, **filters)
            yield from page.items
            if page.fetched < MAX_PAGE:
                return
            offset += page.fetched

    def get_voucher(self, voucher_id: str) -> Voucher:
        reply = self._get(f"/Voucher/{voucher_id}", "get_voucher")
        return self._parse(reply, lambda o: Voucher.model_validate(_one(o)))

    # --- credit notes and bookings (revenue figures) ----------------------------------------

    def credit_note_page(
        self, *, start: date | None = None, end: date | None = None, limit: int = MAX_PAGE, offset: int = 0
    ) -> CreditNotePage:
        """One page of credit notes, `start`/`end` on creditNoteDate (re-checked)."""
        params: dict[str, Any] = {"limit": max(1, min(limit, MAX_PAGE)), "offset": offset}
        _period(params, start, end)
        reply = self._get("/CreditNote", "list_credit_notes", params)
        fetched = self._parse(reply, lambda o: [CreditNote.model_validate(c) for c in _many(o)])
        items = [c for c in fetched if _in_period(c.credit_note_date, start, end)]
        return CreditNotePage(items=items, total=_total(reply.body), fetched=len(fetched))

    def get_credit_note(self, credit_note_id: str) -> CreditNote:
        reply = self._get(f"/CreditNote/{credit_note_id}", "get_credit_note")
        return self._parse(reply, lambda o: CreditNote.model_validate(_one(o)))


W = TypeVar("W", Invoice, TransactionLog)


def _each(objects: Any, model: type[W], unreadable: list[Unreadable]) -> list[W]:
    """Parse each entry on its own: one that does not parse is noted, not fatal for the rest."""
    if objects is not None and not isinstance(objects, list):
        raise ValueError("a list was expected")
    parsed: list[W] = []
    for entry in objects or []:
        try:
            parsed.append(model.model_validate(entry))
        except ValidationError as error:
            raw = entry if isinstance(entry, dict) else {}
            note = raw.get("customerInternalNote")
            unreadable.append(
                Unreadable(
                    id=str(raw["id"]) if raw.get("id") is not None else None,
                    customer_internal_note=note if isinstance(note, str) else None,
                    error=f"{error.error_count()} invalid field(s): "
                    + ", ".join(".".join(str(p) for p in e["loc"]) for e in error.errors()[:5]),
                )
            )
    return parsed


def _templates(objects: Any) -> list[DocTemplate]:
    # UNCONFIRMED inner shape: a list, or the spec's {result, templates: [...]}.
    if isinstance(objects, dict):
        objects = objects.get("templates") or []
    return [DocTemplate.model_validate(t) for t in _many(objects)]


_BOOL = TypeAdapter(WireBool)


def _as_bool(objects: Any) -> bool:
    return _BOOL.validate_python(_one(objects))


def _string(value: Any, key: str) -> str:
    if isinstance(value, dict):
        value = value.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"expected a non-empty string for {key}")
    return value


def _export_period(start: date, end: date) -> dict[str, int]:
    """The period's days in Europe/Berlin: from the start's midnight through the end's last second."""
    return {"startDate": _unix(start), "endDate": _unix(end + timedelta(days=1)) - 1}


def _progress(objects: Any) -> Progress:
    # Never captured live ([SPEC] types it as a list): an object, a list of one, or a bare percentage.
    value = _one(objects)
    if isinstance(value, int | float | str) and not isinstance(value, bool):
        return Progress(current=int(float(value)), total=100)
    return Progress.model_validate(value)


def _xml(value: Any) -> str:
    if not isinstance(value, str) or not value.lstrip().startswith("<"):
        raise ValueError("getXml did not answer with XML")
    return value


def _job_id(objects: Any) -> str:
    value = _one(objects)
    if isinstance(value, dict):
        value = value.get("jobId") or value.get("id")
    return _string(value, "jobId")


def _decode_pdf(wire: PdfWire) -> bytes:
    try:
        return base64.b64decode(wire.content, validate=False)
    except (binascii.Error, ValueError) as exc:
        raise SevdeskProtocolError("sevDesk's PDF content is not valid base64.") from exc
