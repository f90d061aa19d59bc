"""Contacts, their addresses and communication ways (NOTES.md §3)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from devtools.sevdesk_emulator.listing import exact_filters_match, newest_first, page, time_filters_match
from devtools.sevdesk_emulator.routing import Request, Response, ok, route
from devtools.sevdesk_emulator.store import Record, public, touch
from devtools.sevdesk_emulator.wire import ApiError, bad_request, flag, iso, not_found, ref, to_bool

if TYPE_CHECKING:
    from devtools.sevdesk_emulator.emulator import SevdeskEmulator

COMMUNICATION_TYPES = frozenset({"EMAIL", "PHONE", "WEB", "MOBILE"})
CONTACT_TEXT_FIELDS = ("description", "academicTitle", "gender")
CONTACT_NULL_FIELDS = (
    "name2",
    "birthday",
    "vatNumber",
    "bankAccount",
    "bankNumber",
    "mandateReference",
    "defaultCashbackTime",
    "defaultCashbackPercent",
    "defaultTimeToPay",
    "taxNumber",
    "taxOffice",
)


def _text(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    return None if value in (None, "") else str(value)


def get_contact(emu: SevdeskEmulator, contact_id: str) -> Record:
    contact = emu.state.contacts.get(contact_id)
    if contact is None:
        raise not_found("Contact", contact_id)
    return contact


def _display_name(contact: Record) -> str:
    parts = (contact["name"], contact["surename"], contact["familyname"])
    return " ".join(part for part in parts if part).lower()


def is_person(contact: Record) -> bool:
    return contact["name"] is None


@route("POST", "/Contact")
def create_contact(emu: SevdeskEmulator, req: Request, _: dict[str, str]) -> Response:
    return ok(public(build_contact(emu, req.data())), 201)


def build_contact(emu: SevdeskEmulator, data: dict[str, Any]) -> Record:
    """A new organisation (`name`) or person (`surename`/`familyname`), stored; NOTES.md §3."""
    person = not data.get("name")
    if person and not (data.get("surename") or data.get("familyname")):
        raise bad_request("name (organisation) or surename/familyname (person) is required")
    if not data.get("category"):
        raise bad_request("category is required")
    store, now = emu.state, iso(emu.now())
    number = _text(data, "customerNumber")
    if number is None:
        number = str(store.next_customer_number)
        store.next_customer_number += 1
    contact: Record = {
        "id": store.new_id("Contact"),
        "objectName": "Contact",
        "additionalInformation": None,
        "create": now,
        "update": now,
        "name": None if person else str(data["name"]),
        "status": str(data.get("status") or "1000"),
        "customerNumber": number,
        "surename": _text(data, "surename"),
        "familyname": _text(data, "familyname"),
        "titel": _text(data, "titel"),
        "category": ref(data["category"], "Category"),
        **{key: _text(data, key) for key in CONTACT_TEXT_FIELDS},
        "sevClient": store.sev_client_ref(),
        **{key: _text(data, key) for key in CONTACT_NULL_FIELDS},
        "exemptVat": flag(data.get("exemptVat")),
        "taxType": _text(data, "taxType"),
        "defaultDiscountAmount": None,
        "defaultDiscountPercentage": "1",
        # measured "-" for an organisation; a person created without one read back null
        "buyerReference": _text(data, "buyerReference") or (None if person else "-"),
        "governmentAgency": flag(data.get("governmentAgency")),
        "defaultShowVat": "1",
    }
    store.contacts[contact["id"]] = contact
    return contact


@route("GET", "/Contact")
def list_contacts(emu: SevdeskEmulator, req: Request, _: dict[str, str]) -> Response:
    query = req.query
    with_persons = query.get("depth") == "1"  # default: organisations only
    name = (query.get("name") or "").lower()  # [SPEC] prose: matches name, surename or familyname
    found = (
        contact
        for contact in newest_first(emu.state.contacts)
        if (with_persons or not is_person(contact))
        and (not name or name in _display_name(contact))
        and exact_filters_match(contact, query, CONTACT_FILTERS)
        and time_filters_match(contact, query, CONTACT_TIME_FILTERS)
    )
    return page(found, query)


CONTACT_FILTERS: dict[str, Callable[[Record], object]] = {
    "customerNumber": lambda contact: contact["customerNumber"],  # exact ([RS])
    "category[id]": lambda contact: contact["category"]["id"],
}
CONTACT_TIME_FILTERS = {
    "createAfter": ("create", True),
    "createBefore": ("create", False),
    "updateAfter": ("update", True),
    "updateBefore": ("update", False),
}


@route("GET", "/Contact/{contact_id}")
def get_one(emu: SevdeskEmulator, _req: Request, params: dict[str, str]) -> Response:
    return ok([public(get_contact(emu, params["contact_id"]))])


# What PUT /Contact/{id} changes ([SPEC] updateContact); everything else keeps its value.
CONTACT_UPDATABLE = (
    "name",
    "surename",
    "familyname",
    "vatNumber",
    "taxNumber",
    "description",
    "buyerReference",
)


@route("PUT", "/Contact/{contact_id}")
def update_contact(emu: SevdeskEmulator, req: Request, params: dict[str, str]) -> Response:
    contact = get_contact(emu, params["contact_id"])
    data = req.data()
    for key in CONTACT_UPDATABLE:
        if key in data:
            contact[key] = _text(data, key)
    if "governmentAgency" in data:
        contact["governmentAgency"] = flag(data["governmentAgency"])
    touch(contact, emu.now())
    return ok(public(contact))


@route("GET", "/Contact/Factory/getNextCustomerNumber")
def next_customer_number(emu: SevdeskEmulator, _req: Request, _: dict[str, str]) -> Response:
    return ok(str(emu.state.next_customer_number))


@route("GET", "/Contact/Mapper/checkCustomerNumberAvailability")
def customer_number_available(emu: SevdeskEmulator, req: Request, _: dict[str, str]) -> Response:
    number = req.query.get("customerNumber")
    if not number:
        raise ApiError(500, "customerNumber is required")  # [CC]: a 500 in practice
    return ok(all(c["customerNumber"] != number for c in emu.state.contacts.values()))


def _address_out(emu: SevdeskEmulator, address: Record) -> Record:
    # the answer embeds the whole contact (write_contact_address_create.json)
    return public(address) | {"contact": public(get_contact(emu, address["contact"]["id"]))}


@route("POST", "/ContactAddress")
def create_address(emu: SevdeskEmulator, req: Request, _: dict[str, str]) -> Response:
    data = req.data()
    contact = get_contact(emu, ref(data.get("contact"), "Contact")["id"])
    now = iso(emu.now())
    address = {
        "id": emu.state.new_id("ContactAddress"),
        "objectName": "ContactAddress",
        "additionalInformation": None,
        "create": now,
        "update": now,
        "contact": {"id": contact["id"], "objectName": "Contact"},
        "street": _text(data, "street"),
        "zip": _text(data, "zip"),
        "city": _text(data, "city"),
        "country": ref(data.get("country") or {"id": 1}, "StaticCountry"),
        "category": ref(data["category"], "Category") if data.get("category") else None,
        "name": _text(data, "name"),
        "sevClient": emu.state.sev_client_ref(),
    }
    emu.state.contact_addresses[address["id"]] = address
    return ok(_address_out(emu, address), 201)


@route("GET", "/ContactAddress")
def list_addresses(emu: SevdeskEmulator, req: Request, _: dict[str, str]) -> Response:
    contact_id = req.query.get("contact[id]")
    found = (
        a
        for a in newest_first(emu.state.contact_addresses)
        if not contact_id or a["contact"]["id"] == contact_id
    )
    return page(found, req.query, lambda address: _address_out(emu, address))


@route("POST", "/CommunicationWay")
def create_communication_way(emu: SevdeskEmulator, req: Request, _: dict[str, str]) -> Response:
    data = req.data()
    contact = get_contact(emu, ref(data.get("contact"), "Contact")["id"])
    if data.get("type") not in COMMUNICATION_TYPES or not data.get("value"):
        raise bad_request(f"type must be one of {sorted(COMMUNICATION_TYPES)} and value is required")
    now = iso(emu.now())
    way = {
        "id": emu.state.new_id("CommunicationWay"),
        "objectName": "CommunicationWay",
        "additionalInformation": None,
        "create": now,
        "update": now,
        "contact": {"id": contact["id"], "objectName": "Contact"},
        "type": data["type"],
        "value": str(data["value"]),
        "key": ref(data.get("key") or {"id": 2}, "CommunicationWayKey"),
        "main": "1" if to_bool(data.get("main")) else "0",
        "sevClient": emu.state.sev_client_ref(),
    }
    emu.state.communication_ways[way["id"]] = way
    return ok(public(way), 201)


@route("GET", "/CommunicationWay")
def list_communication_ways(emu: SevdeskEmulator, req: Request, _: dict[str, str]) -> Response:
    query = req.query
    found = (
        way
        for way in newest_first(emu.state.communication_ways)
        if (not query.get("contact[id]") or way["contact"]["id"] == query["contact[id]"])
        and (not query.get("type") or way["type"] == query["type"])
    )
    return page(found, query)
