"""Incoming invoices (Belege) in sevDesk: list them, and create one via the voucher factory (with
an optional PDF upload), never twice for one request.

sevDesk has no idempotency key, so each request has a journal item of its own (voucher_store),
keyed by the client's Idempotency-Key or, without one, by the hash of the body: the same body
sent again is the same request. The journal is write-once's journal for saveVoucher: its lease
lets one caller at a time work on the request, the create is announced there before it is sent,
an unknown outcome is settled by reading sevDesk's vouchers of that day (same document number,
supplier and gross amount), and once the voucher exists its answer is kept there, so a repeat is
answered without any sevDesk call. The same key with another body is refused (409).
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from sevdesk_common import cache_store, deadline, voucher_store
from sevdesk_common.clients import sevdesk_client
from sevdesk_common.errors import AppError, Conflict, InvoiceBusy
from sevdesk_common.models.invoice import cents
from sevdesk_common.models.record import PendingWrite
from sevdesk_common.models.voucher import (
    VOUCHER_STATUS,
    VOUCHER_STATUS_NAMES,
    VoucherAttachment,
    VoucherCreate,
    VoucherCreated,
    VoucherList,
    VoucherStatusName,
    VoucherView,
)
from sevdesk_common.observability import logger
from sevdesk_common.repository import StaleItem
from sevdesk_common.settings import get_settings
from sevdesk_common.sevdesk.errors import SevdeskAmbiguousWrite, SevdeskUnavailable
from sevdesk_common.sevdesk.payloads import VoucherPositionPayload, VoucherSavePayload, berlin_date
from sevdesk_common.writes import WriteOnce

if TYPE_CHECKING:  # the client (and httpx) load at first use: see clients.client_for
    from sevdesk_common.auth import Caller
    from sevdesk_common.sevdesk.client import SevdeskClient
    from sevdesk_common.sevdesk.models import Voucher


LEASE_SECONDS = 60
WAIT_SECONDS = 8.0
_POLL_SECONDS = 0.2
EXPENSE = "C"  # creditDebit of an incoming invoice


def list_vouchers(
    *, status: VoucherStatusName | None, date_from: date | None, date_to: date | None, limit: int, offset: int
) -> VoucherList:
    page = sevdesk_client().voucher_page(
        status=VOUCHER_STATUS[status] if status else None,
        start=date_from,
        end=date_to,
        limit=limit,
        offset=offset,
        count_all=True,
    )
    return VoucherList(
        vouchers=[voucher_view(v) for v in page.items],
        limit=limit,
        offset=offset,
        next_offset=offset + page.fetched if page.fetched >= limit else None,
        total=page.total,
    )


def voucher_view(voucher: Voucher) -> VoucherView:
    return VoucherView(
        id=voucher.id,
        voucher_date=berlin_date(voucher.voucher_date) if voucher.voucher_date else None,
        supplier_name=voucher.supplier_name,
        description=voucher.description,
        status=VOUCHER_STATUS_NAMES.get(voucher.status),
        status_code=voucher.status,
        credit_debit=voucher.credit_debit,
        currency=voucher.currency,
        sum_net=_cents(voucher.sum_net),
        sum_tax=_cents(voucher.sum_tax),
        sum_gross=_cents(voucher.sum_gross),
        paid_amount=_cents(voucher.paid_amount),
        pay_date=voucher.pay_date,
        created_at=voucher.create,
    )


def _cents(amount: Decimal | None) -> Decimal | None:
    return None if amount is None else cents(amount)


def create_voucher(request: VoucherCreate, idempotency_key: str | None, caller: Caller) -> VoucherCreated:
    body_hash = request.body_hash()
    key = idempotency_key or f"sha256:{body_hash[:48]}"
    return VoucherCreation(request, key, body_hash, caller).run()


class VoucherCreation:
    """One voucher request; the write-once journal of its saveVoucher (Journal protocol)."""

    def __init__(self, request: VoucherCreate, key: str, body_hash: str, caller: Caller) -> None:
        self.request = request
        self.body_hash = body_hash
        self.caller = caller
        self.owner = f"voucher:{uuid.uuid4().hex[:12]}"
        self.journal = voucher_store.load(key, body_hash)
        self.announced = False  # the claim stored this attempt's announcement (not sent yet)
        self.filename: str | None = None

    # -- write-once journal ---------------------------------------------------------------------
    def pending(self) -> PendingWrite | None:
        return self.journal.pending_write

    def announce(self, intent: PendingWrite) -> None:
        self.journal = voucher_store.save(self.journal.changed(pending_write=intent))

    # -- the request ----------------------------------------------------------------------------
    def run(self) -> VoucherCreated:
        self._check_same_body()
        if self.journal.result is None:
            self._claim()
        if self.journal.result is not None:  # done before (or by the caller we waited for)
            return VoucherCreated.model_validate({**self.journal.result, "created": False})
        client = sevdesk_client()
        writes = WriteOnce(self, announced_unsent=self.announced)
        try:
            voucher = self._create(client, writes)
        except AppError:
            self._release(keep_pending=not writes.settled)
            raise
        result = VoucherCreated(
            voucher=voucher_view(voucher),
            created=True,
            idempotency_key=self.journal.key,
            attachment=self.filename,
        )
        self._finish(voucher.id, result)
        try:
            cache_store.invalidate(cache_store.KPIS_MARKER)  # the expenses changed
        except Exception:
            logger.exception("KPI cache not invalidated; it expires by itself")
        return result

    def _check_same_body(self) -> None:
        if self.journal.body_hash != self.body_hash:
            raise Conflict(
                f"Idempotency-Key {self.journal.key} was used for another voucher; use a new key "
                "for a new voucher.",
                code="idempotency_key_reused",
            )

    def _claim(self) -> None:
        """Take the request's lease (storing the create's announcement with it), waiting while an
        identical request holds it; its result, if it finishes meanwhile, is ours."""
        give_up = time.monotonic() + deadline.within(WAIT_SECONDS)
        while self.journal.result is None:
            now = datetime.now(UTC)
            journal = self.journal
            if not journal.held_by_other(self.owner, now):
                fresh = journal.pending_write is None
                claimed = journal.changed(
                    lock_owner=self.owner,
                    lock_expires_at=now + timedelta(seconds=LEASE_SECONDS),
                    pending_write=journal.pending_write or _intent(now),
                    requested_by=journal.requested_by or self.caller.user_id,
                    created_at=journal.created_at or now,
                )
                try:
                    self.journal = voucher_store.save(claimed)
                    self.announced = fresh
                    return
                except StaleItem:
                    pass
            if time.monotonic() >= give_up:
                raise InvoiceBusy(
                    "This voucher is being created by an identical request right now; try again.",
                    retry_after=5,
                    code="voucher_busy",
                )
            time.sleep(_POLL_SECONDS)
            self.journal = voucher_store.load(self.journal.key, self.body_hash)
            self._check_same_body()

    def _create(self, client: SevdeskClient, writes: WriteOnce) -> Voucher:
        request = self.request
        pending = self.journal.pending_write
        client.reserve(1 + bool(request.attachment) + (0 if self.announced or pending is None else 1))

        def send() -> Voucher:
            if request.attachment is not None:
                self.filename = _upload(client, request.attachment)
            return client.save_voucher(payload(request, self.filename)).voucher

        assert pending is not None
        written = writes.run(
            pending if self.announced else _intent(datetime.now(UTC)),
            send=send,
            find=lambda: find_voucher(client, request),
            policy="grace",
            describe=f"creating voucher {request.description} of {request.supplier_name} in sevDesk",
            grace_seconds=get_settings().ambiguous_write_grace_seconds,
            announced=self.announced,
        )
        if written.reconciled:
            logger.info("voucher create reconciled by reading", extra={"voucher_id": written.value.id})
        return written.value

    def _finish(self, voucher_id: str, result: VoucherCreated) -> None:
        done = self.journal.changed(
            voucher_id=voucher_id,
            result=result.model_dump(mode="json", by_alias=True),
            pending_write=None,
            lock_owner=None,
            lock_expires_at=None,
        )
        try:
            self.journal = voucher_store.save(done)
        except StaleItem:  # our lease ran out and another caller holds it: it will find the voucher
            logger.warning(
                "voucher journal not finished (changed meanwhile)", extra={"key": self.journal.key}
            )

    def _release(self, *, keep_pending: bool) -> None:
        released = self.journal.changed(
            lock_owner=None,
            lock_expires_at=None,
            pending_write=self.journal.pending_write if keep_pending else None,
        )
        try:
            self.journal = voucher_store.save(released)
        except StaleItem:
            logger.warning(
                "voucher lease not released; it expires by itself", extra={"key": self.journal.key}
            )


def _intent(now: datetime) -> PendingWrite:
    return PendingWrite(action="voucher", operation="saveVoucher", at=now)


def _upload(client: SevdeskClient, attachment: VoucherAttachment) -> str:
    """The PDF as a sevDesk temp file. Uploading again only leaves an unused temp file, so an
    upload with an unknown outcome is simply a failure: nothing was booked yet."""
    try:
        return client.upload_temp_file(attachment.filename, attachment.content).filename
    except SevdeskAmbiguousWrite as error:
        raise SevdeskUnavailable(
            "The PDF upload to sevDesk did not complete; no voucher was created. Try again.", unreachable=True
        ) from error


def payload(request: VoucherCreate, filename: str | None) -> VoucherSavePayload:
    return VoucherSavePayload(
        voucher_date=request.voucher_date,
        delivery_date=request.delivery_date,
        supplier_name=request.supplier_name,
        description=request.description,
        credit_debit=EXPENSE,
        tax_rule_id=request.tax_rule,
        status=VOUCHER_STATUS[request.status],
        currency=request.currency,
        filename=filename,
        positions=[
            VoucherPositionPayload(
                account_datev_id=position.account_datev_id,
                tax_rate=position.tax_rate,
                sum_net=position.net_amount,
                sum_gross=position.gross_amount,
                net=position.net_amount is not None,
                comment=position.comment,
            )
            for position in request.positions
        ],
    )


def find_voucher(client: SevdeskClient, request: VoucherCreate) -> Voucher | None:
    """The voucher this request made, if an unanswered create was applied: that day's expense
    vouchers with the same document number, supplier and gross amount (a second one would be the
    same document booked twice anyway)."""
    day = request.voucher_date
    found = client.voucher_page(
        credit_debit=EXPENSE, description_like=request.description, start=day, end=day, limit=100
    ).items
    gross = request.gross_amount
    matches = [
        v
        for v in found
        if v.description == request.description
        and v.supplier_name == request.supplier_name
        and v.sum_gross == gross
    ]
    return max(matches, key=lambda v: int(v.id) if v.id.isdigit() else 0) if matches else None
