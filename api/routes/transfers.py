"""Import and export of an account's history as JSON Lines, over HTTP."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import IO, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from smsledger.api import lines
from smsledger.api.deps import CurrentAccount, LedgerDep, SettingsDep
from smsledger.api.errors import documented, problem
from smsledger.ledger.application import AccountContext, Ledger
from smsledger.ledger.exporter import export_chunks
from smsledger.ledger.importer import Importer

router = APIRouter(prefix="/v1", tags=["import and export"])
IMPORTS = "/v1/imports"
STREAMED = (IMPORTS,)  # their bodies are read as they come, to their own limit
LINES = {
    "type": "string",
    "examples": [
        '{"type": "user", "user_id": "u-ann", "email": "ann@example.com"}\n'
        '{"type": "contact", "contact_id": "c-42", "phones": ["+14155550111"]}\n'
        '{"type": "sms", "interaction_id": "i-9", "user_id": "u-ann",'
        ' "contact_id": "c-42", "to": "+14155550111", "from": "+14155550100",'
        ' "occurred_at": "2026-11-20T14:03:00Z"}\n'
    ],
}


class RejectedLine(BaseModel):
    line: int
    field: str = Field(description="The field at fault; empty for the line itself.")
    reason: str


class ImportResult(BaseModel):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "lines": 3,
                    "accepted": 1,
                    "duplicates": 1,
                    "derived": 0,
                    "rejected": [
                        {"line": 3, "field": "user_id", "reason": "no user 'zed'"}
                    ],
                    "redecided": [],
                }
            ]
        }
    }

    lines: int
    accepted: int = Field(description="Lines recorded by this request.")
    duplicates: int = Field(description="Lines recorded before, by any request.")
    derived: int = Field(
        description="Lines standing for events the import made from earlier lines."
    )
    rejected: list[RejectedLine]
    redecided: list[int] = Field(
        description="Inbound SMS lines routed otherwise than their `decision` says."
    )


@router.post(
    "/imports",
    response_model=ImportResult,
    responses=documented(401, 413, 422),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/x-ndjson": {"schema": LINES}},
        }
    },
)
async def import_lines(
    request: Request,
    ctx: CurrentAccount,
    ledger: LedgerDep,
    settings: SettingsDep,
    dry_run: bool = Query(False, description="Check the lines, record nothing."),
) -> Any:
    """Import JSON Lines (docs/IMPORT-EXPORT.md) into the account, as a stream.
    Bad lines are reported with their numbers and the rest recorded."""
    limit = settings.max_import_bytes
    with tempfile.TemporaryFile() as spool:
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                return problem(
                    413,
                    f"The body is over the limit of {limit} bytes.",
                    slug="too-large",
                    headers={"Connection": "close"},
                )
            spool.write(chunk)
        spool.seek(0)
        return await run_in_threadpool(_import, ledger, ctx, spool, dry_run)


def _import(
    ledger: Ledger, ctx: AccountContext, spool: IO[bytes], dry_run: bool
) -> dict[str, Any]:
    importer = Importer(ledger, ctx, dry_run=dry_run)
    text = lines.read_bytes(iter(lambda: spool.read(1 << 16), b""))
    return importer.run(lines.read_jsonl(text)).as_dict()


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "The account's events as JSON Lines, in ledger order.",
            "content": {"application/x-ndjson": {"schema": LINES}},
        },
        **documented(401),
    },
)
def export(ctx: CurrentAccount, ledger: LedgerDep) -> StreamingResponse:
    """The account's whole history, one event a line, as `import` reads it."""
    body: Iterator[bytes] = export_chunks(ledger, ctx.account_id)
    return StreamingResponse(body, media_type="application/x-ndjson")
