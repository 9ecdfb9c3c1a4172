"""What if: how many past decisions another policy would have sent elsewhere,
as a chart, a list and a CSV file."""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from smsledger.api.web.pages import (
    SignedIn,
    Visitor,
    WebRoute,
    day_start,
    ledger_of,
    render,
)
from smsledger.domain.accounts import POLICIES
from smsledger.domain.errors import InvalidInput
from smsledger.ledger import browse
from smsledger.ledger.application import Ledger
from smsledger.ledger.audit import WhatIfReport

router = APIRouter(route_class=WebRoute, include_in_schema=False)
LISTED = 200
CSV_COLUMNS = (
    "message_id",
    "position",
    "recorded_rule",
    "recorded_recipient",
    "what_if_rule",
    "what_if_recipient",
)


@router.get("/what-if")
def what_if(request: Request, who: SignedIn) -> HTMLResponse:
    ledger = ledger_of(request)
    policy = request.query_params.get("policy", "")
    since = request.query_params.get("since", "")
    zone = request.query_params.get("tz", "")
    report = _report(ledger, who, policy, since, zone) if policy else None
    chart: list[dict[str, Any]] = []
    if report is not None:
        top = max(report.changes.values(), default=1)
        for change, n in sorted(report.changes.items(), key=lambda c: (-c[1], c[0])):
            before, after = change.split(" -> ")
            chart.append(
                {"before": before, "after": after, "n": n, "share": 100 * n / top}
            )
    other = next(p for p in POLICIES if p != who.ctx.routing_policy)
    listed = report.changed[:LISTED] if report else []
    decisions = ledger.browse.decisions_by_id(
        who.ctx.account_id, [c["message_id"] for c in listed]
    )
    team = browse.list_users(ledger, who.ctx, limit=200)
    by_email = {u["email"]: u["name"] or u["user_id"] for u in team}
    contact_ids = {c for d in decisions.values() for c in d["contact_ids"]}
    _, contacts = browse.names(ledger, who.ctx, set(), contact_ids)
    return render(
        request,
        "what_if.html",
        who,
        title="What if",
        policy=policy,
        since=since,
        tz=zone,
        other=other,
        policies=POLICIES,
        report=report,
        chart=chart,
        listed=listed,
        decisions=decisions,
        by_email=by_email,
        contacts=contacts,
        LISTED=LISTED,
    )


@router.get("/what-if.csv")
def what_if_csv(request: Request, who: SignedIn) -> Response:
    ledger = ledger_of(request)
    policy = request.query_params.get("policy", "")
    report = _report(
        ledger,
        who,
        policy,
        request.query_params.get("since", ""),
        request.query_params.get("tz", ""),
    )
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(report.changed)
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="what-if-{policy}.csv"',
            "Cache-Control": "no-store",
        },
    )


def _report(
    ledger: Ledger, who: Visitor, policy: str, since: str, zone: str
) -> WhatIfReport:
    if policy not in POLICIES:
        raise InvalidInput("policy", f"must be one of {', '.join(POLICIES)}")
    moment = day_start(since, zone, "since")
    start = browse.first_position_since(ledger, who.ctx, moment) if moment else 0
    return ledger.what_if(who.ctx, policy, start)
