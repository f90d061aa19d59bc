"""E-invoices: whether an invoice is one, what it still lacks before anything goes to sevDesk,
sevDesk's 830 refusal in words, the seller-data canary, and the archived XML.

The buyer's side is checked from the hand-over. The seller's side (IBAN, tax number, ...) cannot
be read through sevDesk's API and is validated by sevDesk only when an e-invoice is finalized
(a trial finalize would use up an invoice number and lock the document for good). So the first
e-invoice finalized after a configuration change is the canary: its 830 list (or its success) is
kept in the settings, and later e-invoices are refused before anything is sent while the seller
data is known to be incomplete. Testing the connection again (after fixing sevDesk) re-arms it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sevdesk_common import document_store
from sevdesk_common.clients import sevdesk_client
from sevdesk_common.errors import AppError, Conflict, Unprocessable, UpstreamError
from sevdesk_common.models.config import SevdeskConfig
from sevdesk_common.models.einvoice import (
    PAYMENT_MEANS_CODES,
    PAYMENT_MEANS_NAMES,
    SMALL_AMOUNT_LIMIT,
    EInvoiceDecision,
    EInvoiceReadiness,
    MissingPiece,
    SellerCheck,
    from_sevdesk,
    leitweg_id_problem,
    vat_id_problem,
)
from sevdesk_common.models.invoice import CompanyRecipient, InvoiceHandover
from sevdesk_common.models.retention import retain_until
from sevdesk_common.observability import logger, metrics
from sevdesk_common.repository import get_config_item, put_config_item
from sevdesk_common.services.config import storable_config
from sevdesk_common.services.lease import load_or_404, require_published
from sevdesk_common.services.pdf import pdf_filename
from sevdesk_common.sevdesk.errors import SevdeskError

if TYPE_CHECKING:  # the client (and httpx) load at first use: see clients.client_for
    from sevdesk_common.models.record import InvoiceRecord
    from sevdesk_common.sevdesk.client import SevdeskClient
    from sevdesk_common.sevdesk.models import Invoice, PaymentMethod


INCOMPLETE_CODE = 830
# sevDesk's payment methods per account (ids differ per account, they do not change).
_payment_methods: dict[str, list[PaymentMethod]] = {}


class EInvoiceNotReady(Unprocessable):
    """Checked before anything was sent: the e-invoice lacks data (details list each piece)."""

    code = "einvoice_not_ready"


class EInvoiceIncomplete(Unprocessable):
    """sevDesk refused to finalize the e-invoice (its error 830), each missing field in words."""

    code = "einvoice_incomplete"


class EInvoiceNotCreated(UpstreamError):
    """An e-invoice was asked for and sevDesk made (or kept) a plain invoice: never accepted."""

    code = "einvoice_not_created"


def _pieces_message(pieces: list[MissingPiece]) -> str:
    return "; ".join(f"{p.message} ({p.field}): {p.fix}" for p in pieces)


def not_ready(invoice_id: str, pieces: list[MissingPiece]) -> EInvoiceNotReady:
    return EInvoiceNotReady(
        f"Invoice {invoice_id} cannot be published as an e-invoice yet; nothing was sent to sevDesk. "
        + _pieces_message(pieces),
        details=[p.model_dump(mode="json") for p in pieces],
    )


# ---------------------------------------------------------------- the decision


def decide(handover: InvoiceHandover, config: SevdeskConfig) -> EInvoiceDecision:
    if handover.e_invoice is not None:
        word = "requested" if handover.e_invoice else "declined"
        return EInvoiceDecision(e_invoice=handover.e_invoice, reason=f"{word} by the hand-over (eInvoice)")
    mode = config.e_invoice_mode
    if mode == "never":
        return EInvoiceDecision(e_invoice=False, reason="e-invoices are off (setting eInvoiceMode: never)")
    if mode == "always":
        return EInvoiceDecision(e_invoice=True, reason="every invoice (setting eInvoiceMode: always)")
    company = handover.company
    if company is None:
        return EInvoiceDecision(e_invoice=False, reason="not B2B: the recipient is a private person")
    if company.address.country != "DE":
        return EInvoiceDecision(e_invoice=False, reason="not domestic: the recipient is abroad")
    if handover.gross_amount <= SMALL_AMOUNT_LIMIT:
        return EInvoiceDecision(
            e_invoice=False, reason="a small-amount invoice (at most 250 EUR gross, § 33 UStDV)"
        )
    return EInvoiceDecision(e_invoice=True, reason="domestic B2B (setting eInvoiceMode: domestic_b2b)")


# ---------------------------------------------------------------- what it lacks


def buyer_pieces(handover: InvoiceHandover) -> list[MissingPiece]:
    """What the hand-over lacks for EN 16931 (the document and the buyer)."""
    pieces: list[MissingPiece] = []
    recipient = handover.company or handover.contact
    if recipient is None:
        pieces.append(
            MissingPiece(
                field="company",
                side="buyer",
                message="the buyer's name and address are missing (only contactId was handed over)",
                fix="Hand the invoice over with company (or contact) and its address.",
            )
        )
        return pieces
    prefix = "company" if handover.company else "contact"
    if not recipient.email:
        pieces.append(
            MissingPiece(
                field=f"{prefix}.email",
                side="buyer",
                message="the buyer's e-mail address is missing",
                fix="Hand the invoice over with the buyer's e-mail address.",
            )
        )
    if recipient.vat_id and (problem := vat_id_problem(recipient.vat_id)):
        pieces.append(
            MissingPiece(
                field=f"{prefix}.vatId",
                side="buyer",
                problem="invalid",
                message=f"the buyer's VAT ID {recipient.vat_id!r} {problem}",
                fix="Correct vatId in the hand-over (or leave it out).",
            )
        )
    public = isinstance(recipient, CompanyRecipient) and recipient.public_authority
    reference = handover.buyer_reference
    if public and not reference:
        pieces.append(
            MissingPiece(
                field="buyerReference",
                side="buyer",
                message="the Leitweg-ID of the public buyer is missing",
                fix="Hand the invoice over with buyerReference set to the authority's Leitweg-ID.",
            )
        )
    elif public and reference and (problem := leitweg_id_problem(reference)):
        pieces.append(
            MissingPiece(
                field="buyerReference",
                side="buyer",
                problem="invalid",
                message=f"the buyer reference {reference!r} {problem}",
                fix="Use the Leitweg-ID exactly as the authority gave it.",
            )
        )
    return pieces


def payment_means(handover: InvoiceHandover, config: SevdeskConfig) -> str:
    return handover.payment_method or config.e_invoice_payment_method


def payment_method_id(methods: list[PaymentMethod], means: str) -> str | None:
    code = PAYMENT_MEANS_CODES[means]
    found = [m.id for m in methods if m.electronic_invoice_id == code]
    return found[0] if found else None


def payment_method_piece(means: str) -> MissingPiece:
    name = PAYMENT_MEANS_NAMES[means]
    return MissingPiece(
        field="paymentMethod",
        side="seller",
        message=f"sevDesk has no payment method for {name} (e-invoice code {PAYMENT_MEANS_CODES[means]})",
        fix=f"Add a payment method for {name} in sevDesk, or choose another paymentMethod.",
    )


def payment_methods(client: SevdeskClient) -> list[PaymentMethod]:
    """The account's payment methods (one GET per process and account)."""
    if client.base_url not in _payment_methods:
        _payment_methods[client.base_url] = client.list_payment_methods()
    return _payment_methods[client.base_url]


def knows_payment_methods(client: SevdeskClient) -> bool:
    return client.base_url in _payment_methods


def check_before_sending(
    invoice_id: str, handover: InvoiceHandover, config: SevdeskConfig, client: SevdeskClient
) -> str:
    """Everything known to be missing, refused before anything is sent; else the sevDesk id of
    the payment method the e-invoice names."""
    pieces = buyer_pieces(handover)
    means = payment_means(handover, config)
    method_id = payment_method_id(payment_methods(client), means)
    if method_id is None:
        pieces.append(payment_method_piece(means))
    if config.e_invoice_seller.status == "incomplete":
        pieces += config.e_invoice_seller.missing
    if pieces:
        metrics.add_metric(name="EInvoicesRefusedBeforeSending", unit="Count", value=1)
        raise not_ready(invoice_id, pieces)
    assert method_id is not None
    return method_id


# ---------------------------------------------------------------- sevDesk's verdict


def incomplete(invoice_id: str, error: SevdeskError, config: SevdeskConfig) -> EInvoiceIncomplete | None:
    """sevDesk's 830 ("Could not generate ZUGFeRD Invoice ...") with each missing field in words,
    and the seller's part remembered for the next e-invoices; None for any other refusal."""
    if error.sevdesk_code != INCOMPLETE_CODE:
        return None
    data = (error.details or {}).get("data") if isinstance(error.details, dict) else None
    names = data.get("missing information") if isinstance(data, dict) else None
    pieces = [from_sevdesk(str(name)) for name in names or []]
    seller = [p for p in pieces if p.side == "seller"]
    if seller:
        _remember_seller(SellerCheck(status="incomplete", missing=seller), invoice_id, config)
    metrics.add_metric(name="EInvoicesRefusedBySevdesk", unit="Count", value=1)
    message = (
        f"sevDesk refused to finalize invoice {invoice_id} as an e-invoice: "
        + (_pieces_message(pieces) if pieces else "it did not say what is missing")
        + ". The draft stays in sevDesk; publish again once this is fixed."
    )
    return EInvoiceIncomplete(message, details=[p.model_dump(mode="json") for p in pieces])


def seller_passed(config: SevdeskConfig, invoice_id: str) -> None:
    """An e-invoice was finalized: the seller's master data is complete (until the next change)."""
    if config.e_invoice_seller.status != "ok":
        _remember_seller(SellerCheck(status="ok"), invoice_id, config)


def _remember_seller(check: SellerCheck, invoice_id: str, config: SevdeskConfig) -> None:
    """Into the settings as read with the invoice (one conditional write). The finding is a
    cache: when the settings changed meanwhile, it is dropped and the next e-invoice checks again."""
    checked = check.model_copy(update={"checked_at": datetime.now(UTC), "canary_invoice_id": invoice_id})
    updated = config.model_copy(update={"e_invoice_seller": checked})
    if not put_config_item(storable_config(updated), expected_version=config.version):
        logger.info("e-invoice seller check not stored (settings changed)", extra={"invoice_id": invoice_id})


def require_flag(invoice: Invoice, invoice_id: str) -> None:
    """sevDesk said outright that the invoice is not an e-invoice (a missing flag is unknown and
    settled later by getXml)."""
    if invoice.property_is_e_invoice is False:
        raise EInvoiceNotCreated(
            f"sevDesk made invoice {invoice_id} (sevDesk id {invoice.id}) a plain invoice although an "
            "e-invoice was requested; it is not finalized. Delete the draft in sevDesk and publish again.",
            details={"externalId": invoice.id},
        )


# ---------------------------------------------------------------- the XML


def archive_xml(client: SevdeskClient, record: InvoiceRecord, external_id: str) -> dict[str, Any]:
    """getXml (which also settles an e-invoice flag the read-back left out) into our bucket, once.
    Returns the changes and event details for the invoice."""
    try:
        xml = client.get_xml(external_id)
    except SevdeskError as error:
        if error.http_status == 400:  # "This invoice is not an electronic invoice"
            metrics.add_metric(name="EInvoicesNotCreated", unit="Count", value=1)
            raise EInvoiceNotCreated(
                f"sevDesk finalized invoice {record.invoice_id} ({record.external_invoice_number}) as a "
                "plain invoice although an e-invoice was requested: it has no e-invoice XML. Cancel it "
                "and hand over a new invoice.",
                details={"externalId": external_id},
            ) from error
        raise
    body = xml.encode("utf-8")
    key = f"einvoices/{record.invoice_id}/{external_id}.xml"
    until = retain_until("voucher", record.invoice.invoice_date)
    stored = document_store.put_once(key, body, content_type="application/xml", retain_until=until)
    return {
        "changes": {
            "xml_sha256": stored.sha256,
            "xml_key": key,
            "xml_stored_at": datetime.now(UTC),
            "e_invoice": True,
        },
        "details": {"sha256": stored.sha256, "size": stored.size, "key": key, "retainUntil": until},
    }


# ---------------------------------------------------------------- the readiness route


def readiness(invoice_id: str) -> EInvoiceReadiness:
    record = load_or_404(invoice_id)
    config = SevdeskConfig.model_validate(get_config_item() or {})
    handover = record.invoice
    if record.e_invoice is not None and record.external_id is not None:
        decision = EInvoiceDecision(e_invoice=record.e_invoice, reason="decided when it was published")
    else:
        decision = decide(handover, config)
    pieces: list[MissingPiece] = []
    if decision.e_invoice and record.external_id is None:
        pieces = buyer_pieces(handover)
        client = sevdesk_client()
        client.reserve(0 if knows_payment_methods(client) else 1)
        means = payment_means(handover, config)
        if payment_method_id(payment_methods(client), means) is None:
            pieces.append(payment_method_piece(means))
        if config.e_invoice_seller.status == "incomplete":
            pieces += config.e_invoice_seller.missing
    return EInvoiceReadiness(
        invoice_id=invoice_id,
        e_invoice=decision.e_invoice,
        reason=decision.reason,
        ready=not pieces,
        missing=pieces,
        seller=config.e_invoice_seller,
    )


def clear_cache() -> None:
    _payment_methods.clear()


# ---------------------------------------------------------------- the XML route


def archived_xml(invoice_id: str) -> tuple[str, bytes, str]:
    """(file name, the XML as archived, its sha256) of a published e-invoice. The bytes are
    checked against the sha256 recorded when they were stored."""
    record = load_or_404(invoice_id)
    if not record.e_invoice:
        require_published(record, "download the e-invoice XML of")
        raise Conflict(
            f"Invoice {invoice_id} was published as a plain invoice; it has no e-invoice XML.",
            code="not_an_einvoice",
        )
    if record.xml_key is None or record.xml_sha256 is None:
        require_published(record, "download the e-invoice XML of")
        raise Conflict(
            f"The e-invoice XML of invoice {invoice_id} is not archived yet: publish it again "
            "(POST /api/sevdesk/invoices/{invoiceId}/publish fetches and stores it, nothing else).",
            code="einvoice_xml_missing",
        )
    body, _ = document_store.read(record.xml_key)
    if document_store.sha256_hex(body) != record.xml_sha256:
        metrics.add_metric(name="DocumentIntegrityErrors", unit="Count", value=1)
        logger.error("archived document does not match its sha256", extra={"key": record.xml_key})
        raise AppError(
            f"The archived e-invoice XML of invoice {invoice_id} does not match the sha256 recorded "
            "when it was stored; it is not served. Operations have been alerted.",
            code="document_integrity_error",
        )
    assert record.external_invoice_number is not None
    filename = pdf_filename(record.external_invoice_number).removesuffix(".pdf") + ".xml"
    return filename, body, record.xml_sha256
