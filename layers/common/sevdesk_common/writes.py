"""Write once: the one way this package sends a sevDesk write whose answer may be lost.

sevDesk has no idempotency keys, and a timeout, a 5xx or a reset connection after sending says
nothing about whether the write was applied. So every such write goes the same way:

1. Announce it: a `PendingWrite` is stored (in the journal: the invoice, the contact link, the
   export job) before the request is sent.
2. Send it. A definite answer settles it: success, or a refusal (nothing was applied).
3. An unknown outcome is settled by a read the caller supplies (`find`), never by sending again:
   found -> adopt what sevDesk made; not found -> the pending write stays, and the caller's
   `policy` decides when sending again is safe:
   - "retry": at once (a second attempt cannot duplicate: sevDesk refuses it, or it is a state
     change the read shows);
   - "grace": only after `grace_seconds` from the first attempt (sevDesk may still apply it);
   - "confirm": only when a person asks for it (an e-mail cannot be recalled).
A later call that finds the pending write starts at step 3.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Generic, Literal, Protocol, TypeVar

from sevdesk_common.errors import AppError, OutcomeUnknown
from sevdesk_common.observability import logger
from sevdesk_common.sevdesk.errors import SevdeskAmbiguousWrite, SevdeskError

if TYPE_CHECKING:
    from sevdesk_common.models.record import PendingWrite

T = TypeVar("T")
Policy = Literal["retry", "grace", "confirm"]
# How soon a "retry" write is worth repeating: the read that settles it is immediate.
RETRY_SOON_SECONDS = 5


class Journal(Protocol):
    """Where a write's announcement is kept until its outcome is known."""

    def pending(self) -> PendingWrite | None: ...

    def announce(self, intent: PendingWrite) -> None: ...


@dataclass(frozen=True)
class Written(Generic[T]):
    value: T
    reconciled: bool  # True: found by a read after an unknown outcome, not from sevDesk's answer


class WriteOnce:
    """The writes of one operation on one journal. `settled` tells the failure recorder that the
    announced write was definitely not applied (refused, or never sent), so its announcement may
    be dropped."""

    def __init__(self, journal: Journal, *, announced_unsent: bool = False) -> None:
        self.journal = journal
        self.refused = False
        # The journal's pending write is this call's own announcement, not sent yet (it was
        # stored with another write); a failure before it is sent leaves nothing to settle.
        self.unsent = announced_unsent

    @property
    def settled(self) -> bool:
        return self.refused or self.unsent

    def run(
        self,
        intent: PendingWrite,
        *,
        send: Callable[[], T],
        find: Callable[[], T | None],
        policy: Policy,
        describe: str,
        grace_seconds: float = 0,
        confirmed: bool = False,
        unconfirmed: Callable[[PendingWrite], AppError] | None = None,
        announced: bool = False,
    ) -> Written[T]:
        """Send `intent`'s write once. `describe` names it for a billing clerk ("creating the
        invoice in sevDesk"); `unconfirmed` builds the refusal of the "confirm" policy;
        `announced`: the caller stored `intent` already (merged into another write)."""
        self.refused = False
        earlier = None if announced else self.journal.pending()
        explicit = policy == "confirm" and confirmed  # a person asked to do it again: no read
        if earlier is not None and earlier.operation == intent.operation and not explicit:
            found = find()
            if found is not None:
                logger.info("unknown write outcome settled by reading", extra={"operation": intent.operation})
                return Written(found, reconciled=True)
            self._hold_back(earlier, policy, describe, grace_seconds, confirmed, unconfirmed)
        if not announced:
            self.journal.announce(intent)
        self.unsent = False
        try:
            value = send()
        except SevdeskAmbiguousWrite as error:
            found = _find_quietly(find)
            if found is not None:
                return Written(found, reconciled=True)
            raise self._unknown(intent, policy, describe, grace_seconds, unconfirmed) from error
        except (SevdeskError, AppError):
            self.refused = True  # a definite answer: nothing was applied
            raise
        return Written(value, reconciled=False)

    @staticmethod
    def _hold_back(
        earlier: PendingWrite,
        policy: Policy,
        describe: str,
        grace_seconds: float,
        confirmed: bool,
        unconfirmed: Callable[[PendingWrite], AppError] | None,
    ) -> None:
        """The read did not find the earlier attempt: may it be sent again now?"""
        if policy == "grace":
            wait = grace_seconds - (datetime.now(UTC) - earlier.at).total_seconds()
            if wait > 0:
                raise OutcomeUnknown(_unknown_message(describe, wait), retry_after=wait)
        elif policy == "confirm" and not confirmed:
            assert unconfirmed is not None
            raise unconfirmed(earlier)

    @staticmethod
    def _unknown(
        intent: PendingWrite,
        policy: Policy,
        describe: str,
        grace_seconds: float,
        unconfirmed: Callable[[PendingWrite], AppError] | None,
    ) -> AppError:
        if policy == "confirm":
            assert unconfirmed is not None
            return unconfirmed(intent)
        wait = grace_seconds if policy == "grace" else RETRY_SOON_SECONDS
        return OutcomeUnknown(_unknown_message(describe, wait), retry_after=wait)


def _unknown_message(describe: str, wait: float) -> str:
    seconds = max(1, round(wait))
    return (
        f"sevDesk did not confirm {describe}, so it is not known yet whether it was done. "
        f"Nothing is done twice: try again in {seconds} s; sevDesk is checked first and the job "
        "is finished either way."
    )


def _find_quietly(find: Callable[[], T | None]) -> T | None:
    """A read right after an unknown outcome: a failure here just leaves it unknown."""
    try:
        return find()
    except SevdeskError as error:
        logger.warning("could not read back an unknown write outcome", extra={"error": error.code})
        return None
