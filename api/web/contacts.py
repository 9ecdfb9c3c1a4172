"""The console's contacts: a searchable list, and one contact's timeline."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from smsledger.api.web.pages import SignedIn, WebRoute, ledger_of, render
from smsledger.ledger import browse

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
    entries = timeline(history)
    messages = [e for e in entries if e["decision"]]
    return render(
        request,
        "contact.html",
        who,
        title=found["name"] or contact_id,
        c=found,
        entries=entries,
        users=users,
        contacts=contacts,
        last=messages[-1]["decision"] if messages else None,
    )


def timeline(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per thing that happened, in the order the ledger recorded
    them (the order routing saw them in), each with its own time: a note's
    when it was made, a message's when it arrived (with the decision routing
    it), any other change's when it was recorded."""
    entries: list[dict[str, Any]] = []
    messages: dict[str, dict[str, Any]] = {}
    for event in history:
        kind, data = event["type"], event["data"]
        if kind == "InboundSms.Received":
            entry = {**_entry(event, data["received_at"]), "decision": None}
            messages[data["message_id"]] = entry
        elif kind == "InboundSms.Routed":
            decision = data["decision"]
            entry = messages.get(decision["message_id"]) or {}
            if entry:
                entry["decision"] = decision
                continue
            # Its message, as the decision tells it.
            entry = {**_entry(event, decision["received_at"]), "decision": decision}
            entry["type"], entry["data"] = "InboundSms.Received", decision
        elif kind.startswith("Interaction."):
            entry = _entry(event, data["occurred_at"])
        else:
            entry = _entry(event, event["recorded_at"])
        entries.append(entry)
    return entries


def _entry(event: dict[str, Any], at: Any) -> dict[str, Any]:
    return {
        "type": event["type"],
        "data": event["data"],
        "position": event["position"],
        "at": at,
        "decision": None,
    }
