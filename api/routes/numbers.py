from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from smsledger.api.deps import CurrentAccount, LedgerDep
from smsledger.api.errors import documented
from smsledger.api.routes import answer
from smsledger.api.schemas.directory import InboundNumber, NumberPut
from smsledger.api.schemas.fields import Text

router = APIRouter(prefix="/v1/inbound-numbers", tags=["inbound numbers"])
Number = Annotated[
    Text,
    Path(
        description="The number; `+` as is or as `%2B`.",
        openapi_examples={"sales": {"value": "+14155550100"}},
    ),
]


def _plus(number: str) -> str:
    # Some clients send `+` unencoded and a decoder turns it into a space.
    return "+" + number[1:] if number.startswith(" ") else number


@router.put(
    "/{number}",
    response_model=InboundNumber,
    response_description="Updated",
    responses={
        201: {"model": InboundNumber, "description": "Configured"},
        **documented(400, 401, 409, 413, 422),
    },
)
def put_number(
    number: Number,
    body: NumberPut,
    ctx: CurrentAccount,
    ledger: LedgerDep,
    response: Response,
) -> dict[str, Any]:
    """Configure an inbound number (201) or change it (200); held messages to it
    are routed now. 409 if another account holds it."""
    saved = ledger.put_number(ctx, _plus(number), body.backup_email, body.label)
    return answer(saved, response)


@router.get(
    "/{number}", response_model=InboundNumber, responses=documented(401, 404, 422)
)
def get_number(
    number: Number, ctx: CurrentAccount, ledger: LedgerDep
) -> dict[str, Any]:
    """An inbound number of the account."""
    return ledger.get_number(ctx, _plus(number))


@router.delete("/{number}", status_code=204, responses=documented(401, 404, 422))
def delete_number(number: Number, ctx: CurrentAccount, ledger: LedgerDep) -> None:
    """Release the number; messages to it are held until it is configured again."""
    ledger.delete_number(ctx, _plus(number))
