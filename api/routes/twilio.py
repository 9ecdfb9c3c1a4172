"""Twilio's inbound SMS webhook.

The account is the one holding the `To` number, and the request must be signed
with that account's Twilio auth token. An unsigned request cannot be attributed
to any account, so it is refused (403) and nothing is recorded, not even a
held message.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.datastructures import ImmutableMultiDict

from smsledger.api.deps import LedgerDep, SettingsDep
from smsledger.api.errors import documented
from smsledger.api.idempotency import KeyHeader
from smsledger.api.schemas.decisions import TwilioSms
from smsledger.api.signatures import Form, signed_by
from smsledger.domain.errors import InvalidInput
from smsledger.domain.values import DEFAULT_REGION, parse_phone
from smsledger.ledger.application import AccountContext, Ledger

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])
TWIML_OK = "<Response/>"
FORM = "application/x-www-form-urlencoded"


async def form_fields(request: Request) -> Form:
    # Read here, on the event loop, so the route itself can be a plain `def`.
    body = (await request.body()).decode("utf-8", errors="replace")
    return ImmutableMultiDict(parse_qsl(body, keep_blank_values=True))


def signed_url(request: Request, public_base_url: str | None) -> str:
    """The URL Twilio requested, as it signed it."""
    if public_base_url is None:
        return str(request.url)
    url = public_base_url.rstrip("/") + request.url.path
    return f"{url}?{request.url.query}" if request.url.query else url


def signing_account(
    ledger: Ledger, fields: Form, url: str, given: str | None
) -> AccountContext:
    refused = HTTPException(
        403,
        "Not signed with the Twilio auth token of the account holding the `To` number.",
    )
    try:
        to = parse_phone(fields.get("To", ""), DEFAULT_REGION, "To")
    except InvalidInput:
        raise refused from None
    account_id = ledger.number_holder(to)
    token = ledger.twilio_auth_token(account_id) if account_id else None
    if account_id is None or token is None or given is None:
        raise refused
    if not signed_by(token, url, fields, given):
        raise refused
    return ledger.context(account_id)


@router.post(
    "/twilio/sms",
    response_class=Response,
    responses={
        200: {
            "description": "Recorded (or recorded before): TwiML with no reply.",
            "content": {"application/xml": {"schema": {"type": "string"}}},
        },
        **documented(403, 413, 422),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {FORM: {"schema": TwilioSms.model_json_schema()}},
        }
    },
)
def twilio_sms(
    request: Request,
    fields: Annotated[Form, Depends(form_fields)],
    ledger: LedgerDep,
    settings: SettingsDep,
    # Taken as on every POST; `MessageSid` already makes each retry exact.
    key: KeyHeader = None,
) -> Response:
    """Twilio's webhook for an inbound SMS, signed with `X-Twilio-Signature`.
    `MessageSid` is the message id, so Twilio's retries are routed once."""
    url = signed_url(request, settings.public_base_url)
    given = request.headers.get("X-Twilio-Signature")
    ctx = signing_account(ledger, fields, url, given)
    try:
        sms = TwilioSms.model_validate(dict(fields))
    except ValidationError as error:
        raise RequestValidationError(error.errors()) from None
    ledger.route_inbound_sms(ctx, sms.sender, sms.to, sms.body, sms.message_sid)
    return Response(TWIML_OK, media_type="application/xml")
