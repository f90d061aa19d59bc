"""Contact links in DynamoDB: persistence only (the rules are in services/contacts.py).

A link that holds a contact id is also in the sparse index gsi1 under LINKS_PARTITION, sorted by
when it was linked: "was any customer linked since T" is one Query reading at most one item
(the contact list's cache asks it, so creating a contact costs no extra write)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sevdesk_common.models.contact_link import ContactLink
from sevdesk_common.repository import StaleItem, TransactItem, get_table, plain, put_conditionally, to_dynamo

LINKS_PARTITION = "CONTACTLINKS"
_INDEX_ATTRIBUTES = frozenset({"gsi1pk", "gsi1sk"})


def _key(recipient_key: str) -> dict[str, str]:
    return {"pk": f"CONTACTLINK#{recipient_key}", "sk": "CONTACTLINK"}


def load(recipient_key: str) -> ContactLink:
    """The link as stored, or a fresh one (version 0) when there is none yet."""
    item = get_table().get_item(Key=_key(recipient_key), ConsistentRead=True).get("Item")
    if not item:
        return ContactLink(key=recipient_key)
    fields = {k: v for k, v in plain(item).items() if k not in _INDEX_ATTRIBUTES}
    return ContactLink.model_validate({**fields, "key": recipient_key})


def get_contact_link(recipient_key: str) -> str | None:
    return load(recipient_key).sevdesk_contact_id


def write_item(link: ContactLink) -> TransactItem:
    """`link` as version + 1, if the stored version is still `link.version` (0: none stored)."""
    item = {**to_dynamo(link.model_dump(mode="python", by_alias=True, exclude={"key"})), **_key(link.key)}
    item["version"] = link.version + 1
    if link.sevdesk_contact_id and link.linked_at:
        item["gsi1pk"] = LINKS_PARTITION
        item["gsi1sk"] = _moment(link.linked_at) + "#" + link.key
    put: dict[str, object] = {"TableName": get_table().name, "Item": item}
    if link.version == 0:
        put["ConditionExpression"] = "attribute_not_exists(pk)"
    else:
        put["ConditionExpression"] = "version = :v"
        put["ExpressionAttributeValues"] = {":v": link.version}
    return {"Put": put}


def put_contact_link(recipient_key: str, sevdesk_contact_id: str) -> str:
    """Link a recipient to a sevDesk contact once; returns the id that is linked (the existing
    one if another caller linked first)."""
    current = load(recipient_key)
    if current.sevdesk_contact_id:
        return current.sevdesk_contact_id
    linked = current.changed(
        sevdesk_contact_id=sevdesk_contact_id,
        linked_at=datetime.now(UTC),
        lock_owner=None,
        lock_expires_at=None,
        pending_write=None,
    )
    try:
        save(linked)
    except StaleItem:
        return put_contact_link(recipient_key, sevdesk_contact_id)
    return sevdesk_contact_id


def save(link: ContactLink) -> ContactLink:
    """Store `link` on its own; StaleItem when the stored version moved. Returns the stored one."""
    put_conditionally(write_item(link))
    return stored(link)


def stored(link: ContactLink) -> ContactLink:
    """`link` as it reads back after write_item(link) was written."""
    return link.model_copy(update={"version": link.version + 1})


def linked_since(moment: datetime) -> bool:
    """Whether any customer was linked to a sevDesk contact after `moment` (a contact created by
    a publish or a sync, or an existing one adopted)."""
    query: dict[str, Any] = {
        "IndexName": "gsi1",
        "KeyConditionExpression": "gsi1pk = :pk AND gsi1sk > :since",
        "ExpressionAttributeValues": {":pk": LINKS_PARTITION, ":since": _moment(moment)},
        "Limit": 1,
    }
    return bool(get_table().query(**query).get("Items"))


def _moment(moment: datetime) -> str:
    # One fixed width, so that the index orders the strings like the moments.
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
