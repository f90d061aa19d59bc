"""E-invoices: the 830 refusal and its missing-information list, the EN 16931 XML (validated offline),
the ZUGFeRD PDF carrying byte-identical XML, the read-back switch and payment methods."""

from __future__ import annotations

import base64

import facturx
import httpx
import pytest

from devtools.sevdesk_emulator import EmulatorServer, SevdeskEmulator
from tests.emulator.einvoice_rules import schematron_failures, xsd_valid
from tests.emulator.helpers import (
    E_INVOICE_FIELDS,
    create_contact,
    create_e_invoice,
    create_invoice,
    finalize,
    objects,
    position,
)

SEND = {"sendType": "VPDF", "sendDraft": False}
MAIL = {"toEmail": "kunde@example.com", "subject": "Rechnung", "text": "Anbei"}


def refusal(response: httpx.Response) -> list[str]:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["code"], error["message"]) == (
        830,
        "Could not generate ZUGFeRD Invoice since there are validations errors",
    )
    return list(error["data"]["missing information"])


def sent_xml(client: httpx.Client, **extra: object) -> tuple[str, str]:
    invoice = create_e_invoice(client, **extra)
    finalize(client, invoice["id"])
    return invoice["id"], objects(client.get(f"/Invoice/{invoice['id']}/getXml"))


def test_missing_buyer_data_is_refused_with_830_and_nothing_changes(
    client: httpx.Client, emu: SevdeskEmulator
) -> None:
    draft = create_invoice(client, propertyIsEInvoice=True)  # no address, payment method or e-mail

    missing = refusal(client.put(f"/Invoice/{draft['id']}/sendBy", json=SEND))

    assert missing == [
        "document_addressStreet",
        "document_addressZip",
        "document_addressCity",
        "document_addressCountry",
        "document_paymentMethod",
        "contact_email",
    ]
    assert refusal(client.post(f"/Invoice/{draft['id']}/sendViaEmail", json=MAIL)) == missing
    stored = emu.state.invoices[draft["id"]]
    assert (stored["status"], stored["invoiceNumber"], emu.state.emails) == ("100", None, [])
    assert objects(client.get("/Invoice/Factory/getNextInvoiceNumber")) == "RE-1000"  # no number used


def test_missing_seller_master_data_is_named(client: httpx.Client, emu: SevdeskEmulator) -> None:
    draft = create_e_invoice(client)
    emu.set_seller(bankIban=None, taxNumber=None, vatNumber=None, phone="")

    missing = refusal(client.put(f"/Invoice/{draft['id']}/sendBy", json=SEND))

    assert missing == ["sevClient_bankIban", "sevClient_phone", "sevClient_taxNumber"]


def test_seller_data_over_remote_control(
    emu: SevdeskEmulator, server: EmulatorServer, http: httpx.Client
) -> None:
    draft = create_e_invoice(http)
    seller = httpx.put(f"{server.control_url}/seller", json={"bankBic": None}).json()["objects"]
    assert "bankBic" not in seller
    assert refusal(http.put(f"/Invoice/{draft['id']}/sendBy", json=SEND)) == ["sevClient_bankBic"]


def test_a_public_buyer_needs_a_leitweg_id(client: httpx.Client) -> None:
    agency = create_contact(client, "B-1", governmentAgency=1)  # buyerReference defaults to "-"
    way = {"contact": {"id": int(agency["id"]), "objectName": "Contact"}, "type": "EMAIL", "value": "a@b.de"}
    objects(client.post("/CommunicationWay", json=way), 201)
    draft = create_e_invoice(client, agency["id"])
    assert refusal(client.put(f"/Invoice/{draft['id']}/sendBy", json=SEND)) == ["contact_buyerReference"]

    public = create_contact(client, "B-2", governmentAgency=1, buyerReference="991-12345-67")
    objects(client.post("/CommunicationWay", json=way | {"contact": {"id": int(public["id"])}}), 201)
    invoice = create_e_invoice(client, public["id"])
    finalize(client, invoice["id"])
    assert "<ram:BuyerReference>991-12345-67</ram:BuyerReference>" in objects(
        client.get(f"/Invoice/{invoice['id']}/getXml")
    )


def test_drafts_have_no_pdf_and_no_parameters(client: httpx.Client) -> None:
    draft = create_e_invoice(client)
    for response in (
        client.get(f"/Invoice/{draft['id']}/getPdf", params={"preventSendBy": "true"}),
        client.put(f"/Invoice/{draft['id']}/changeParameter", json={"key": "language", "value": "en_US"}),
    ):
        assert response.status_code == 503
        assert response.json()["error"]["message"] == "Invoice number is required"


def test_xml_is_valid_en16931_with_seller_buyer_lines_taxes_and_terms(client: httpx.Client) -> None:
    lines = [position(2, "100.00"), position(1, "50.00", tax_rate="7.00", text="ermäßigt")]
    _, xml = sent_xml(client, positions=lines, timeToPay=30)

    assert xml.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<rsm:CrossIndustryInvoice')
    assert xsd_valid(xml)
    assert schematron_failures(xml) == []
    for fragment in (
        "<ram:ID>RE-1000</ram:ID>",
        "<ram:IBANID>DE02120300000000202051</ram:IBANID>",
        '<ram:ID schemeID="VA">DE123456789</ram:ID>',
        "<ram:CityName>Berlin</ram:CityName>",
        '<ram:URIID schemeID="EM">rechnung@acme.example</ram:URIID>',
        "<ram:BuyerReference>-</ram:BuyerReference>",
        "<ram:TypeCode>58</ram:TypeCode>",  # SEPA transfer, from the payment method
        "<ram:RateApplicablePercent>7.00</ram:RateApplicablePercent>",
        "<ram:CalculatedAmount>38.00</ram:CalculatedAmount>",
        "<ram:CalculatedAmount>3.50</ram:CalculatedAmount>",
        "<ram:GrandTotalAmount>291.50</ram:GrandTotalAmount>",
        "Zahlbar innerhalb von 30 Tagen",
        '<udt:DateTimeString format="102">20261031</udt:DateTimeString>',  # due date
    ):
        assert fragment in xml, fragment


def test_the_validator_does_catch_broken_totals(client: httpx.Client) -> None:
    _, xml = sent_xml(client)
    broken = xml.replace("<ram:GrandTotalAmount>65.45<", "<ram:GrandTotalAmount>65.46<")
    assert any(failure.startswith("BR-CO-15") for failure in schematron_failures(broken))


def test_cancellation_of_an_e_invoice_has_xml_too(client: httpx.Client) -> None:
    invoice_id, _ = sent_xml(client)
    sr = objects(client.post(f"/Invoice/{invoice_id}/cancelInvoice"), 201)

    xml = objects(client.get(f"/Invoice/{sr['id']}/getXml"))

    assert "<ram:TypeCode>384</ram:TypeCode>" in xml and "<ram:IssuerAssignedID>RE-1000<" in xml
    assert xsd_valid(xml)
    assert schematron_failures(xml) == []


@pytest.mark.parametrize("pdf_mode", ["json", "raw"])
def test_pdf_carries_the_same_xml_bytes(client: httpx.Client, emu: SevdeskEmulator, pdf_mode: str) -> None:
    invoice_id, xml = sent_xml(client)
    emu.pdf_mode = pdf_mode  # type: ignore[assignment]

    response = client.get(f"/Invoice/{invoice_id}/getPdf", params={"preventSendBy": "true"})

    pdf = response.content if pdf_mode == "raw" else base64.b64decode(response.json()["objects"]["content"])
    assert pdf.startswith(b"%PDF-")
    name, embedded = facturx.get_xml_from_pdf(pdf, check_xsd=False)
    assert name == "factur-x.xml" and embedded == xml.encode("utf-8")
    assert objects(client.get(f"/Invoice/{invoice_id}/getXml")) == xml  # stable across reads


def test_switch_omits_the_flag_from_read_backs(client: httpx.Client, emu: SevdeskEmulator) -> None:
    invoice_id, xml = sent_xml(client)
    assert objects(client.get(f"/Invoice/{invoice_id}"))[0]["propertyIsEInvoice"] == "1"

    emu.omit_e_invoice_flag = True

    assert "propertyIsEInvoice" not in objects(client.get(f"/Invoice/{invoice_id}"))[0]
    assert all("propertyIsEInvoice" not in inv for inv in objects(client.get("/Invoice")))
    assert objects(client.get(f"/Invoice/{invoice_id}/getXml")) == xml  # the XML still exists


def test_payment_methods(client: httpx.Client) -> None:
    methods = objects(client.get("/PaymentMethod"))

    assert {m["objectName"] for m in methods} == {"PaymentMethod"}
    by_id = {m["id"]: m for m in methods}
    assert by_id[str(E_INVOICE_FIELDS["paymentMethod"]["id"])]["electronicInvoiceId"] == "58"  # type: ignore[index]
    assert all(set(m) >= {"id", "name", "text", "electronicInvoiceId", "translationCode"} for m in methods)
