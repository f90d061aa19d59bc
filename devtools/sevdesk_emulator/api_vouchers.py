"""Vouchers (Belege): saveVoucher in the recorded shape, list and read."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from decimal import Decimal
from email.parser import BytesParser
from email.policy import default as email_policy
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from devtools.sevdesk_emulator.listing import exact_filters_match, newest_first, page, time_filters_match
from devtools.sevdesk_emulator.routing import Request, Response, ok, route
from devtools.sevdesk_emulator.store import Record, public
from devtools.sevdesk_emulator.wire import (
    amount,
    bad_request,
    cents,
    iso,
    not_found,
    parse_moment,
    ref,
    to_bool,
    to_decimal,
)

if TYPE_CHECKING:
    from devtools.sevdesk_emulator.emulator import SevdeskEmulator

REQUIRED = ("voucherDate", "status", "creditDebit", "voucherType", "taxRule")
VOUCHER_NULLS = (
    "recurringIntervall",
    "recurringInterval",
    "recurringStartDate",
    "recurringNextVoucher",
    "recurringLastVoucher",
    "recurringEndDate",
    "enshrined",
    "sendType",
    "inSource",
    "iban",
    "accountingSpecialCase",
    "paymentDeadline",
)
ZERO_FIELDS = (
    "sumDiscountNet",
    "sumDiscountGross",
    "sumNetForeignCurrency",
    "sumTaxForeignCurrency",
    "sumGrossForeignCurrency",
    "sumDiscountNetForeignCurrency",
    "sumDiscountGrossForeignCurrency",
)
POS_NULLS = tuple(f"specialAccountingField{n}" for n in range(1, 6))


def _position(emu: SevdeskEmulator, data: Any, voucher_id: str, now: str) -> Record:
    if (
        not isinstance(data, dict)
        or data.get("objectName") != "VoucherPos"
        or not to_bool(data.get("mapAll"))
    ):
        raise bad_request("every position needs objectName 'VoucherPos' and mapAll true")
    rate = to_decimal(data.get("taxRate") or 0, "taxRate")
    is_net = to_bool(data.get("net", True))
    if is_net:
        net = cents(to_decimal(data.get("sumNet"), "sumNet"))
        gross = net + cents(net * rate / 100)
    else:
        gross = cents(to_decimal(data.get("sumGross"), "sumGross"))
        net = cents(gross / (1 + rate / 100))
    sums = {"sumNet": amount(net), "sumTax": amount(gross - net), "sumGross": amount(gross)}
    return {
        "id": emu.state.new_id("VoucherPos"),
        "objectName": "VoucherPos",
        "additionalInformation": None,
        "create": now,
        "update": now,
        "sevClient": emu.state.sev_client_ref(),
        "voucher": {"id": voucher_id, "objectName": "Voucher"},
        "taxRate": amount(rate),
        "sum": None,
        "net": "1" if is_net else "0",
        "isAsset": "0",
        "assetMemoValue": "0",
        **sums,
        **{f"{key}Accounting": value for key, value in sums.items()},
        "comment": data.get("comment"),
        "isGwg": "0",
        "cateringTaxRate": None,
        "cateringTip": None,
        **dict.fromkeys(POS_NULLS),
        "accountDatev": ref(data.get("accountDatev"), "AccountDatev"),
        "isPercentage": "1",
        "discountedValue": "0",
        **dict.fromkeys(
            (
                "sumNetForeignCurrency",
                "sumTaxForeignCurrency",
                "sumGrossForeignCurrency",
                "sumDiscountForeignCurrency",
            ),
            "0",
        ),
        "createNextPart": None,
    }


@route("POST", "/Voucher/Factory/saveVoucher")
def save_voucher(emu: SevdeskEmulator, req: Request, _: dict[str, str]) -> Response:
    voucher, positions = create_voucher(emu, req.data())
    saved = {
        "voucher": public(voucher),
        "voucherPos": [public(p) for p in positions],
        "vatdrop": "not relevant",
    }
    return ok(saved, 201)


def create_voucher(emu: SevdeskEmulator, body: dict[str, Any]) -> tuple[Record, list[Record]]:
    """saveVoucher's work: the voucher and its positions, stored (also used for seeding)."""
    data = body.get("voucher")
    if not isinstance(data, dict) or data.get("objectName") != "Voucher" or not to_bool(data.get("mapAll")):
        raise bad_request("voucher needs objectName 'Voucher' and mapAll true")
    missing = [key for key in REQUIRED if data.get(key) in (None, "")]
    if missing:
        raise bad_request(f"Missing required voucher fields: {', '.join(missing)}")
    store, now = emu.state, iso(emu.now())
    filename = body.get("filename")
    if filename not in (None, "") and filename not in store.temp_files:
        raise bad_request(f"File {filename} was not uploaded (uploadTempFile)")
    voucher_id = store.new_id("Voucher")
    entries = body.get("voucherPosSave") or []
    positions = [_position(emu, entry, voucher_id, now) for entry in entries]
    voucher_date = iso(parse_moment(data["voucherDate"], "voucherDate"))
    delivery = data.get("deliveryDate")
    totals = {
        key: amount(sum((Decimal(pos[key]) for pos in positions), Decimal(0)))
        for key in ("sumNet", "sumTax", "sumGross")
    }
    voucher: Record = {
        "id": voucher_id,
        "objectName": "Voucher",
        "additionalInformation": None,
        "propertyCreationOrigin": None,
        "create": now,
        "update": now,
        "sevClient": store.sev_client_ref(),
        "createUser": store.user_ref(),
        "voucherDate": voucher_date,
        "supplierName": data.get("supplierName"),
        "description": data.get("description"),
        "resultDisdar": None,
        "payDate": None,
        "status": str(data["status"]),
        "currency": str(data.get("currency") or "EUR"),
        **totals,
        **{f"{key}Accounting": value for key, value in totals.items()},
        "showNet": "1",
        "paidAmount": 0,
        "taxType": data.get("taxType"),
        "creditDebit": str(data["creditDebit"]),
        "hidden": "0",
        "voucherType": str(data["voucherType"]),
        **dict.fromkeys(VOUCHER_NULLS),
        "tip": "0",
        "mileageRate": "0",
        "selectedForPaymentFile": "0",
        "supplierNameAtSave": None,
        "taxmaroStockAccount": None,
        "vatNumber": None,
        "deliveryDate": iso(parse_moment(delivery, "deliveryDate")) if delivery else voucher_date,
        "deliveryDateUntil": None,
        **dict.fromkeys(ZERO_FIELDS, "0"),
        "taxRule": ref(data["taxRule"], "TaxRule"),
    }
    if filename:
        voucher["document"] = {"id": store.new_id("Document"), "objectName": "Document"}
        voucher["_attachment"] = filename
    store.vouchers[voucher_id] = voucher
    for position in positions:
        store.voucher_positions[position["id"]] = position
    return voucher, positions


@route("GET", "/Voucher")
def list_vouchers(emu: SevdeskEmulator, req: Request, _: dict[str, str]) -> Response:
    query = req.query
    like = (query.get("descriptionLike") or "").lower()  # [SPEC]: part of the description
    found = (
        voucher
        for voucher in newest_first(emu.state.vouchers)
        if exact_filters_match(voucher, query, VOUCHER_FILTERS)
        and time_filters_match(voucher, query, VOUCHER_TIME_FILTERS)
        and (not like or like in (voucher.get("description") or "").lower())
    )
    return page(found, query)


VOUCHER_FILTERS: dict[str, Callable[[Record], object]] = {
    "status": lambda voucher: voucher["status"],
    "creditDebit": lambda voucher: voucher["creditDebit"],
    "voucherType": lambda voucher: voucher["voucherType"],
}
VOUCHER_TIME_FILTERS = {
    "startDate": ("voucherDate", True),
    "endDate": ("voucherDate", False),
    "startPayDate": ("payDate", True),
    "endPayDate": ("payDate", False),
    "createAfter": ("create", True),
    "updateAfter": ("update", True),
}


@route("GET", "/Voucher/{voucher_id}")
def get_voucher(emu: SevdeskEmulator, _req: Request, params: dict[str, str]) -> Response:
    voucher = emu.state.vouchers.get(params["voucher_id"])
    if voucher is None:
        raise not_found("Voucher", params["voucher_id"])
    return ok([public(voucher)])


@route("POST", "/Voucher/Factory/uploadTempFile")
def upload_temp_file(emu: SevdeskEmulator, req: Request, _: dict[str, str]) -> Response:
    # multipart/form-data with one part `file`; sevDesk answers with a server-chosen hash name
    message = BytesParser(policy=email_policy).parsebytes(
        b"Content-Type: " + req.headers.get("content-type", "").encode() + b"\r\n\r\n" + req.body
    )
    part = next(
        (p for p in message.iter_parts() if p.get_param("name", header="content-disposition") == "file"), None
    )
    if part is None:
        raise bad_request("a multipart part named file is required")
    content = part.get_payload(decode=True) or b""
    suffix = PurePosixPath(part.get_filename() or "upload.pdf").suffix
    uploaded = {
        "pages": 1,
        "mimeType": "image/jpg",  # sic, recorded for a PDF upload
        "originMimeType": part.get_content_type(),
        "filename": hashlib.md5(content).hexdigest() + suffix,
        "contentHash": hashlib.sha256(content).hexdigest(),
        "content": [],
        "isEInvoice": False,
    }
    emu.state.temp_files[uploaded["filename"]] = {
        "contentHash": uploaded["contentHash"],
        "size": len(content),
    }
    return ok(uploaded, 201)
