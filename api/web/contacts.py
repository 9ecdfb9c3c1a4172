"""The console's contacts: a searchable list, and one contact's timeline."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.web.pages import SignedIn, WebRoute, ledger_of, render
from ledger import browse

router = APIRouter(route_class=WebRoute, include_in_schema=False)
PAGE = 50


@router.get("/contacts")
def contacts(request: Request, who: SignedIn) -> HTMLResponse:
    ledger = ledger_of(request)
    q = request.query_params.get("q", "").strip()
    after = request.query_params.get("after") or None
    # One box for both: a phone is what has digits and no letters.
    digits = sum(ch.isdigit() for ch in q)
    is_phone = digits >= 3 and not any(ch.isalpha() for ch in q)
    items = browse.list_contacts(
        ledger,
        who.ctx,
        phone=q if is_phone else None,
        name_prefix=None if is_phone else q,
        after=after,
        limit=PAGE,
    )
    owners = {c["owner_user_id"] for c in items if c["owner_user_id"]}
    users, _ = browse.names(ledger, who.ctx, owners, set())
    return render(
        request,
        "contacts.html",
        who,
        title="Contacts",
        items=items,
        users=users,
        q=q,
        after=after,
        next_after=items[-1]["contact_id"] if len(items) == PAGE else None,
    )


@router.get("/contacts/{contact_id}")
def contact(contact_id: str, request: Request, who: SignedIn) -> HTMLResponse:
    ledger = ledger_of(request)
    found = ledger.get_contact(who.ctx, contact_id)
    history = ledger.contact_history(who.ctx, contact_id)
    user_ids = {found["owner_user_id"]} if found["owner_user_id"] else set()
    contact_ids = {contact_id}
    for entry in history:
        data: dict[str, Any] = entry["data"]
        user_ids.update(
            u for u in (data.get("user_id"), data.get("owner_user_id")) if u
        )
        decision = data.get("decision") or {}
        user_id = (decision.get("recipient") or {}).get("user_id")
        if user_id:
            user_ids.add(user_id)
        evidence = decision.get("evidence") or {}
        if evidence.get("user_id"):
            user_ids.add(evidence["user_id"])
        contact_ids.update(decision.get("contact_ids") or [])
    users, contacts = browse.names(ledger, who.ctx, user_ids, contact_ids)
    decisions = [e for e in history if e["type"] == "InboundSms.Routed"]
    return render(
        request,
        "contact.html",
        who,
        title=found["name"] or contact_id,
        c=found,
        history=history,
        users=users,
        contacts=contacts,
        last=decisions[-1]["data"]["decision"] if decisions else None,
    )
