"""Where the sevDesk client is put together: the token from Secrets Manager (refreshed when
sevDesk refuses it), the shared DynamoDB budget, and one pooled client per process and token."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sevdesk_common.credentials import get_token, require_token
from sevdesk_common.repository import get_table
from sevdesk_common.settings import get_settings
from sevdesk_common.sevdesk.budget import OutboundBudget
from sevdesk_common.sevdesk.errors import SevdeskProtocolError

if TYPE_CHECKING:
    from sevdesk_common.sevdesk.client import SevdeskClient

# One client per process and token: warm invocations reuse its connection pool.
_clients: dict[str, SevdeskClient] = {}
_budgets: list[OutboundBudget] = []
# The first SevUser per account (the invoice's contactPerson); it does not change.
_contact_persons: dict[str, str] = {}


def client_for(token: str) -> SevdeskClient:
    """The process-wide client for `token`, drawing on the shared DynamoDB budget."""
    # The one place the client module (with httpx and tenacity) is imported, at first use: a
    # cold start that answers from DynamoDB, a cache or a validation error never pays for it.
    # Measured with scripts/benchmark.py --only coldstart: ~60 ms less cold import per function.
    from sevdesk_common.sevdesk.client import SevdeskClient
    from sevdesk_common.sevdesk.core import token_key

    settings = get_settings()
    key = token_key(settings.sevdesk_base_url, token)
    client = _clients.get(key)
    if client is None:
        _clients.clear()  # a rotated token replaces the old client
        client = _clients[key] = SevdeskClient(
            token,
            settings=settings,
            budget=shared_budget(),
            refresh_token=lambda: get_token(refresh=True),
        )
    return client


def shared_budget() -> OutboundBudget:
    """This process's view of the tenant's outbound budget (the buckets live in DynamoDB)."""
    if not _budgets:
        _budgets.append(OutboundBudget(get_table(), get_settings()))
    return _budgets[0]


def sevdesk_client() -> SevdeskClient:
    """The client for the configured token; TokenNotConfigured (409) when there is none."""
    return client_for(require_token())


def contact_person_id(client: SevdeskClient) -> str:
    """The account's first user, whom sevDesk names as an invoice's contact person."""
    if client.base_url not in _contact_persons:
        users = client.list_sev_users()
        if not users:
            raise SevdeskProtocolError("sevDesk lists no user to name as the invoice's contact person.")
        _contact_persons[client.base_url] = users[0].id
    return _contact_persons[client.base_url]


def needs_contact_person(client: SevdeskClient) -> bool:
    return client.base_url not in _contact_persons


def clear_client_cache() -> None:
    """Forget cached clients and close their pools (tests; what a fresh container has)."""
    _clients.clear()
    _budgets.clear()
    _contact_persons.clear()
    from sevdesk_common.sevdesk.core import close_pools

    close_pools()
