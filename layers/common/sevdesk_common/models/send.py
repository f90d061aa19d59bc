"""POST /api/sevdesk/invoices/{invoiceId}/send: the request body."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StrictBool

from sevdesk_common.models.base import StrictApiModel
from sevdesk_common.models.fields import EmailAddress, text

Subject = Annotated[str, *text(255)]
MailText = Annotated[str, *text(10_000)]


class SendRequest(StrictApiModel):
    """Everything is optional: by default the invoice goes to the recipient's e-mail from the
    handover, with a subject and text naming the invoice number."""

    email: EmailAddress | None = Field(
        default=None, description="Send here instead of the recipient's e-mail"
    )
    subject: Subject | None = None
    text: MailText | None = Field(default=None, description="Mail body (sevDesk accepts simple HTML)")
    cc: Annotated[list[EmailAddress], Field(max_length=10)] = Field(default_factory=list)
    bcc: Annotated[list[EmailAddress], Field(max_length=10)] = Field(default_factory=list)
    resend: StrictBool = Field(
        default=False,
        description="Send again although it was already sent (or its last send has an unknown outcome)",
    )
