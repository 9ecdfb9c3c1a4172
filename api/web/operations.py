"""The console's operations page: can the service route, is the routing view
caught up with the ledger, and is the account's mail going out."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from smsledger.api.web.pages import SignedIn, WebRoute, ledger_of, render
from smsledger.api.web.words import moment
from smsledger.ledger import browse

router = APIRouter(route_class=WebRoute, include_in_schema=False)


@router.get("/operations")
def operations(request: Request, who: SignedIn) -> HTMLResponse:
    ledger = ledger_of(request)
    state = browse.operations(ledger, who.ctx)
    oldest = moment(state["mail"]["oldest_pending"])
    waited = (datetime.now(UTC) - oldest).total_seconds() if oldest else None
    users, contacts = browse.names(
        ledger,
        who.ctx,
        {
            (d.get("recipient") or {}).get("user_id") or ""
            for d in state["mail"]["errors"]
        }
        - {""},
        {c for d in state["mail"]["errors"] for c in d.get("contact_ids") or []},
    )
    return render(
        request,
        "operations.html",
        who,
        title="Operations",
        s=state,
        waited=_duration(waited) if waited is not None else None,
        users=users,
        contacts=contacts,
    )


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    if seconds < 36 * 3600:
        return f"{round(seconds / 3600)} h"
    return f"{round(seconds / 86400)} days"
