"""The console's team and numbers: who messages can go to, and the numbers
they arrive on, with forms to change both."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from smsledger.api.web.pages import (
    Form,
    SignedIn,
    Visitor,
    WebRoute,
    check_csrf,
    ledger_of,
    render,
    see_other,
)
from smsledger.api.web.words import field_label, phone, query
from smsledger.domain.errors import Conflict, InvalidInput
from smsledger.domain.values import parse_phone
from smsledger.ledger import browse

router = APIRouter(route_class=WebRoute, include_in_schema=False)
PAGE = 50


@router.get("/users")
def users(request: Request, who: SignedIn) -> HTMLResponse:
    return _users_page(request, who)


def _users_page(
    request: Request,
    who: Visitor,
    errors: dict[str, str] | None = None,
    entered: dict[str, str] | None = None,
) -> HTMLResponse:
    ledger = ledger_of(request)
    show = request.query_params.get("show", "")
    active = {"active": True, "inactive": False}.get(show)
    after = request.query_params.get("after") or None
    items = browse.list_users(ledger, who.ctx, active, after, PAGE)
    return render(
        request,
        "users.html",
        who,
        422 if errors else 200,
        title="Team",
        items=items,
        show=show,
        after=after,
        next_after=items[-1]["user_id"] if len(items) == PAGE else None,
        errors=errors or {},
        entered=entered or {},
        done=_user_done(request, who),
    )


USER_DONE = {
    "added": "{} was added to the team.",
    "active": "{} is active again: messages can go to them.",
    "inactive": "{} is inactive: no new message goes to them.",
}


def _user_done(request: Request, who: Visitor) -> str:
    """What the last form did, said again from the ledger, not from the link."""
    kind, user_id = request.query_params.get("done"), request.query_params.get("id")
    if kind not in USER_DONE or not user_id:
        return ""
    user = ledger_of(request).find_user(who.ctx.account_id, user_id)
    return USER_DONE[kind].format(user["name"] or user_id) if user else ""


@router.post("/users")
def add_user(request: Request, who: SignedIn, form: Form) -> Response:
    check_csrf(who, form)
    ledger = ledger_of(request)
    entered = {k: form.get(k, "").strip() for k in ("user_id", "name", "email")}
    errors = {}
    if not entered["user_id"]:
        errors["user_id"] = "Give the ID your CRM uses for this person."
    elif "/" in entered["user_id"]:
        errors["user_id"] = "An ID cannot contain a slash."
    if not entered["email"]:
        errors["email"] = "Give the address their messages are mailed to."
    if not errors and _user_exists(request, who, entered["user_id"]):
        errors["user_id"] = f"{entered['user_id']} is already on the team."
    if not errors:
        try:
            ledger.put_user(
                who.ctx,
                entered["user_id"],
                entered["email"],
                entered["name"] or None,
                True,
            )
        except InvalidInput as error:
            errors[error.field] = f"{field_label(error.field)}: {error.message}."
    if errors:
        return _users_page(request, who, errors, entered)
    return see_other("/users?" + query({}, done="added", id=entered["user_id"]))


def _user_exists(request: Request, who: Visitor, user_id: str) -> bool:
    return ledger_of(request).find_user(who.ctx.account_id, user_id) is not None


@router.post("/users/{user_id}/active")
def set_active(user_id: str, request: Request, who: SignedIn, form: Form) -> Response:
    check_csrf(who, form)
    ledger = ledger_of(request)
    user = ledger.get_user(who.ctx, user_id)
    active = form.get("active") == "true"
    ledger.put_user(who.ctx, user_id, user["email"], user["name"], active)
    done = "active" if active else "inactive"
    return see_other("/users?" + query({}, done=done, id=user_id))


@router.get("/numbers")
def numbers(request: Request, who: SignedIn) -> HTMLResponse:
    return _numbers_page(request, who)


def _numbers_page(
    request: Request,
    who: Visitor,
    errors: dict[str, str] | None = None,
    entered: dict[str, str] | None = None,
) -> HTMLResponse:
    ledger = ledger_of(request)
    after = request.query_params.get("after") or None
    items = browse.list_numbers(ledger, who.ctx, after, PAGE)
    return render(
        request,
        "numbers.html",
        who,
        422 if errors else 200,
        title="Numbers",
        items=items,
        after=after,
        next_after=items[-1]["number"] if len(items) == PAGE else None,
        errors=errors or {},
        entered=entered or {},
        done=_number_done(request),
    )


NUMBER_DONE = {
    "added": "{} is set up: its messages are routed from now on.",
    "changed": "{} was updated.",
    "released": "{} was released: its messages are held until it is set up again.",
}


def _number_done(request: Request) -> str:
    kind, number = request.query_params.get("done"), request.query_params.get("id")
    if kind not in NUMBER_DONE or not number or not number.startswith("+"):
        return ""
    shown = phone(number)
    return NUMBER_DONE[kind].format(shown) if shown != number else ""


@router.post("/numbers")
def configure_number(request: Request, who: SignedIn, form: Form) -> Response:
    check_csrf(who, form)
    ledger = ledger_of(request)
    entered = {k: form.get(k, "").strip() for k in ("number", "backup_email", "label")}
    errors = {}
    for field in ("number", "backup_email"):
        if not entered[field]:
            errors[field] = f"{field_label(field)} is needed."
    if not errors:
        try:
            saved = ledger.put_number(
                who.ctx,
                entered["number"],
                entered["backup_email"],
                entered["label"] or None,
            )
        except InvalidInput as error:
            errors[error.field] = f"{field_label(error.field)}: {error.message}."
        except Conflict:
            errors["number"] = "Another account holds this number."
    if errors:
        return _numbers_page(request, who, errors, entered)
    done = "added" if saved.created else "changed"
    return see_other("/numbers?" + query({}, done=done, id=saved.value["number"]))


@router.post("/numbers/{number}/release")
def release_number(
    number: str, request: Request, who: SignedIn, form: Form
) -> Response:
    check_csrf(who, form)
    number = parse_phone(number, who.ctx.default_region, "number")
    ledger_of(request).delete_number(who.ctx, number)
    return see_other("/numbers?" + query({}, done="released", id=number))
