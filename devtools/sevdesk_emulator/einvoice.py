"""E-invoices (ZUGFeRD / XRechnung, NOTES.md §6, §13): the 830 refusal, the CII XML and the hybrid PDF.

The XML is an EN 16931 Cross Industry Invoice (as sevDesk's, made by mustangproject), generated
once when the invoice is finalized and kept, so `getXml` and the XML embedded in the PDF are
byte-identical. The PDF is made PDF/A-3 with the XML attached as factur-x.xml by the `factur-x`
package (Akretion).
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING
from xml.etree import ElementTree as ET

from devtools.sevdesk_emulator.invoices import UNITIES, positions_of
from devtools.sevdesk_emulator.store import Record
from devtools.sevdesk_emulator.wire import ApiError

if TYPE_CHECKING:
    from devtools.sevdesk_emulator.emulator import SevdeskEmulator

NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
    "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100",
}
for _prefix, _uri in NS.items():
    ET.register_namespace(_prefix, _uri)
PEPPOL_PROCESS = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
# the EN 16931 profile id: what a ZUGFeRD PDF carrying factur-x.xml declares (sevDesk's own id is cut off
# in the recording after "urn:cen.eu:en16931:2017#comp", possibly its XRechnung variant)
EN16931_GUIDELINE = "urn:cen.eu:en16931:2017"
LEITWEG_ID = re.compile(r"\d{2,12}(-[A-Za-z0-9]{1,30})?-\d{2}")
# VAT category (UNTDID 5305) for a 0 % position by tax rule (NOTES.md §4 tax rules)
ZERO_RATE_CATEGORY = {"1": "Z", "2": "G", "3": "K", "4": "E", "5": "AE", "11": "E", "17": "O", "21": "AE"}
EXEMPTION_REASONS = {
    "G": "Steuerfreie Ausfuhr",
    "K": "Steuerfreie innergemeinschaftliche Lieferung",
    "E": "Steuerbefreit",
    "AE": "Steuerschuldnerschaft des Leistungsempfängers",
    "O": "Nicht im Inland steuerbar",
}
SELLER_FIELDS = ("addressStreet", "addressZip", "addressCity", "bankIban", "bankBic", "email", "phone")


def is_e_invoice(invoice: Record) -> bool:
    return invoice.get("propertyIsEInvoice") == "1"


# -- the 830 refusal --------------------------------------------------------------------------------


def buyer_address(invoice: Record) -> dict[str, str | None]:
    """Name/street/zip/city from the invoice's fields, else from its multiline `address`
    ("Name\\nStreet\\nZIP City"); sevDesk does not copy the contact's address (NOTES.md §3)."""
    found = {key: invoice.get(f"address{key}") for key in ("Name", "Street", "Zip", "City")}
    lines = [line.strip() for line in (invoice.get("address") or "").splitlines() if line.strip()]
    if lines:
        found["Name"] = found["Name"] or lines[0]
        town = re.fullmatch(r"(\d{4,5})\s+(.+)", lines[-1])
        if town:
            found["Zip"], found["City"] = found["Zip"] or town[1], found["City"] or town[2]
            if len(lines) >= 3:
                found["Street"] = found["Street"] or lines[-2]
    return found


def buyer_email(emu: SevdeskEmulator, contact_id: str) -> str | None:
    ways = emu.state.communication_ways.values()
    emails = [w for w in ways if w["contact"]["id"] == contact_id and w["type"] == "EMAIL"]
    emails.sort(key=lambda way: way["main"] != "1")
    return emails[0]["value"] if emails else None


def missing_information(emu: SevdeskEmulator, invoice: Record) -> list[str]:
    """What ZUGFeRD generation would miss, named like sevDesk's list ("document_addressCity", ...)."""
    missing = []
    address = buyer_address(invoice)
    missing += [f"document_address{key}" for key in ("Street", "Zip", "City") if not address[key]]
    if not invoice.get("addressCountry"):
        missing.append("document_addressCountry")
    if not invoice.get("paymentMethod"):
        missing.append("document_paymentMethod")
    contact = emu.state.contacts.get(invoice["contact"]["id"], {})
    reference = contact.get("buyerReference")
    if not reference or (contact.get("governmentAgency") == "1" and not LEITWEG_ID.fullmatch(reference)):
        missing.append("contact_buyerReference")  # public buyers need a Leitweg-ID
    if not buyer_email(emu, invoice["contact"]["id"]):
        missing.append("contact_email")
    seller = emu.state.sev_client
    missing += [f"sevClient_{key}" for key in SELLER_FIELDS if not seller.get(key)]
    if not (seller.get("taxNumber") or seller.get("vatNumber")):
        missing.append("sevClient_taxNumber")
    return missing


def refuse_if_incomplete(emu: SevdeskEmulator, invoice: Record) -> None:
    missing = missing_information(emu, invoice)
    if missing:
        raise ApiError(
            400,
            "Could not generate ZUGFeRD Invoice since there are validations errors",
            830,
            {"missing information": missing},
        )


# -- the CII XML -------------------------------------------------------------------------------------


def _el(parent: ET.Element, path: str, text: str | None = None, **attributes: str) -> ET.Element:
    """Append `a/b/c` (prefixed names) below parent; the text and attributes go on the last one."""
    node = parent
    for name in path.split("/"):
        prefix, local = name.split(":")
        node = ET.SubElement(node, f"{{{NS[prefix]}}}{local}")
    if text is not None:
        node.text = text
    node.attrib.update(attributes)
    return node


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _day(moment: str) -> str:
    return datetime.fromisoformat(moment).strftime("%Y%m%d")


def _date(parent: ET.Element, path: str, moment: str, prefix: str = "udt") -> None:
    _el(parent, f"{path}/{prefix}:DateTimeString", _day(moment), format="102")


def _category(rule_id: str, rate: Decimal) -> str:
    return "S" if rate > 0 else ZERO_RATE_CATEGORY.get(rule_id, "Z")


def _tax(
    parent: ET.Element, category: str, rate: Decimal, basis: Decimal | None, tax: Decimal | None
) -> None:
    node = _el(parent, "ram:ApplicableTradeTax")
    if tax is not None:
        _el(node, "ram:CalculatedAmount", _money(tax))
    _el(node, "ram:TypeCode", "VAT")
    if category in EXEMPTION_REASONS:
        _el(node, "ram:ExemptionReason", EXEMPTION_REASONS[category])
    if basis is not None:
        _el(node, "ram:BasisAmount", _money(basis))
    _el(node, "ram:CategoryCode", category)
    _el(node, "ram:RateApplicablePercent", _money(rate))


def _address(
    party: ET.Element, zip_code: str | None, street: str | None, city: str | None, country: str
) -> None:
    node = _el(party, "ram:PostalTradeAddress")
    if zip_code:
        _el(node, "ram:PostcodeCode", zip_code)
    if street:
        _el(node, "ram:LineOne", street)
    if city:
        _el(node, "ram:CityName", city)
    _el(node, "ram:CountryID", country)


def cii_xml(emu: SevdeskEmulator, invoice: Record) -> str:
    """The EN 16931 CII document for a finalized invoice (seller, buyer, lines, taxes, totals, terms)."""
    store = emu.state
    seller, contact = store.sev_client, store.contacts.get(invoice["contact"]["id"], {})
    positions = positions_of(store, invoice["id"])
    rule = invoice["taxRule"]["id"]
    root = ET.Element(f"{{{NS['rsm']}}}CrossIndustryInvoice")
    context = _el(root, "rsm:ExchangedDocumentContext")
    _el(context, "ram:BusinessProcessSpecifiedDocumentContextParameter/ram:ID", PEPPOL_PROCESS)
    _el(context, "ram:GuidelineSpecifiedDocumentContextParameter/ram:ID", EN16931_GUIDELINE)

    document = _el(root, "rsm:ExchangedDocument")
    _el(document, "ram:ID", invoice["invoiceNumber"] or "")
    _el(document, "ram:TypeCode", "384" if invoice["invoiceType"] == "SR" else "380")
    _date(document, "ram:IssueDateTime", invoice["invoiceDate"])
    if invoice.get("headText"):
        _el(document, "ram:IncludedNote/ram:Content", invoice["headText"])

    transaction = _el(root, "rsm:SupplyChainTradeTransaction")
    groups: dict[tuple[str, Decimal], list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for number, position in enumerate(positions, start=1):
        rate = Decimal(position["taxRate"])
        category = _category(rule, rate)
        groups[(category, rate)][0] += Decimal(position["sumNet"])
        groups[(category, rate)][1] += Decimal(position["sumTax"])
        line = _el(transaction, "ram:IncludedSupplyChainTradeLineItem")
        _el(line, "ram:AssociatedDocumentLineDocument/ram:LineID", str(number))
        product = _el(line, "ram:SpecifiedTradeProduct")
        _el(product, "ram:Name", position["name"] or "Position")
        if position.get("text"):
            _el(product, "ram:Description", position["text"])
        price = _money(abs(Decimal(position["priceNet"])))
        _el(line, "ram:SpecifiedLineTradeAgreement/ram:NetPriceProductTradePrice/ram:ChargeAmount", price)
        unit = _unit_code(position)
        _el(line, "ram:SpecifiedLineTradeDelivery/ram:BilledQuantity", position["quantity"], unitCode=unit)
        settlement = _el(line, "ram:SpecifiedLineTradeSettlement")
        _tax(settlement, category, rate, None, None)
        summation = "ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount"
        _el(settlement, summation, _money(Decimal(position["sumNet"])))

    agreement = _el(transaction, "ram:ApplicableHeaderTradeAgreement")
    _el(agreement, "ram:BuyerReference", contact.get("buyerReference") or "-")
    seller_party = _el(agreement, "ram:SellerTradeParty")
    _el(seller_party, "ram:Name", seller.get("name") or "")
    trade_contact = _el(seller_party, "ram:DefinedTradeContact")
    _el(trade_contact, "ram:PersonName", seller.get("contactPerson") or seller.get("name") or "")
    _el(trade_contact, "ram:TelephoneUniversalCommunication/ram:CompleteNumber", seller.get("phone") or "")
    _el(trade_contact, "ram:EmailURIUniversalCommunication/ram:URIID", seller.get("email") or "")
    _address(
        seller_party,
        seller.get("addressZip"),
        seller.get("addressStreet"),
        seller.get("addressCity"),
        seller.get("addressCountry") or "DE",
    )
    _el(seller_party, "ram:URIUniversalCommunication/ram:URIID", seller.get("email") or "", schemeID="EM")
    if seller.get("vatNumber"):
        _el(seller_party, "ram:SpecifiedTaxRegistration/ram:ID", seller["vatNumber"], schemeID="VA")
    if seller.get("taxNumber"):
        _el(seller_party, "ram:SpecifiedTaxRegistration/ram:ID", seller["taxNumber"], schemeID="FC")
    address = buyer_address(invoice)
    buyer = _el(agreement, "ram:BuyerTradeParty")
    _el(buyer, "ram:Name", address["Name"] or contact.get("name") or _person_name(contact))
    _address(buyer, address["Zip"], address["Street"], address["City"], "DE")
    email = buyer_email(emu, invoice["contact"]["id"])
    if email:
        _el(buyer, "ram:URIUniversalCommunication/ram:URIID", email, schemeID="EM")

    delivery = _el(transaction, "ram:ApplicableHeaderTradeDelivery")
    _date(delivery, "ram:ActualDeliverySupplyChainEvent/ram:OccurrenceDateTime", invoice["deliveryDate"])

    settlement = _el(transaction, "ram:ApplicableHeaderTradeSettlement")
    _el(settlement, "ram:PaymentReference", invoice["invoiceNumber"] or "")
    _el(settlement, "ram:InvoiceCurrencyCode", invoice["currency"])
    means = _el(settlement, "ram:SpecifiedTradeSettlementPaymentMeans")
    _el(means, "ram:TypeCode", _payment_code(emu, invoice))
    _el(means, "ram:PayeePartyCreditorFinancialAccount/ram:IBANID", seller.get("bankIban") or "")
    if seller.get("bankBic"):
        _el(means, "ram:PayeeSpecifiedCreditorFinancialInstitution/ram:BICID", seller["bankBic"])
    for (category, rate), (basis, tax) in sorted(groups.items()):
        _tax(settlement, category, rate, basis, tax)
    if invoice.get("deliveryDateUntil"):
        period = _el(settlement, "ram:BillingSpecifiedPeriod")
        _date(period, "ram:StartDateTime", invoice["deliveryDate"])
        _date(period, "ram:EndDateTime", invoice["deliveryDateUntil"])
    days = int(invoice.get("timeToPay") or 0)
    due = (datetime.fromisoformat(invoice["invoiceDate"]) + timedelta(days=days)).isoformat()
    terms = _el(settlement, "ram:SpecifiedTradePaymentTerms")
    _el(terms, "ram:Description", f"Zahlbar innerhalb von {days} Tagen ohne Abzug.")
    _date(terms, "ram:DueDateDateTime", due)
    net, tax, gross = (Decimal(invoice[key]) for key in ("sumNet", "sumTax", "sumGross"))
    paid = Decimal(0)  # the XML describes the document; bookings never change it
    totals = _el(settlement, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    _el(totals, "ram:LineTotalAmount", _money(net))
    _el(totals, "ram:TaxBasisTotalAmount", _money(net))
    _el(totals, "ram:TaxTotalAmount", _money(tax), currencyID=invoice["currency"])
    _el(totals, "ram:GrandTotalAmount", _money(gross))
    _el(totals, "ram:DuePayableAmount", _money(gross - paid))
    if invoice.get("origin"):
        original = store.invoices.get(invoice["origin"]["id"])
        if original is not None:
            referenced = _el(settlement, "ram:InvoiceReferencedDocument")
            _el(referenced, "ram:IssuerAssignedID", original["invoiceNumber"] or "")
            _date(referenced, "ram:FormattedIssueDateTime", original["invoiceDate"], "qdt")
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body


def _person_name(contact: Record) -> str:
    return " ".join(part for part in (contact.get("surename"), contact.get("familyname")) if part) or "-"


def _unit_code(position: Record) -> str:
    return str(UNITIES.get(position["unity"]["id"], {}).get("uneceTradeUnitCode", "C62"))


def _payment_code(emu: SevdeskEmulator, invoice: Record) -> str:
    method_id = (invoice.get("paymentMethod") or {}).get("id")
    for method in emu.state.payment_methods:
        if method["id"] == method_id:
            return str(method["electronicInvoiceId"])
    return "58"  # SEPA credit transfer


def e_invoice_xml(emu: SevdeskEmulator, invoice: Record) -> str:
    """The invoice's XML, generated once (at finalization) so every later read is the same bytes."""
    if "_xml" not in invoice:
        invoice["_xml"] = cii_xml(emu, invoice)
    return str(invoice["_xml"])


def hybrid_pdf(pdf: bytes, xml: str, invoice: Record) -> bytes:
    """A PDF/A-3 with the XML attached as factur-x.xml (factur-x adds the XMP and /AF entries)."""
    from facturx import generate_from_binary  # dev tooling: imported only when an e-invoice PDF is asked for

    metadata = {
        "author": "sevdesk emulator",
        "keywords": "Factur-X, ZUGFeRD, XRechnung",
        "title": f"Rechnung {invoice['invoiceNumber']}",
        "subject": f"Rechnung {invoice['invoiceNumber']}",
    }
    hybrid: bytes = generate_from_binary(
        pdf, xml.encode("utf-8"), flavor="factur-x", level="en16931", check_xsd=False, pdf_metadata=metadata
    )
    return hybrid
