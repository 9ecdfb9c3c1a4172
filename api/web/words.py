"""The console's words: rules, policies and decisions said plainly, and times
as `<time>` elements the page shows in the browser's time zone."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

import phonenumbers
from markupsafe import Markup

RULES = {
    "previous_sms": "Last to text them",
    "campaign_reply": "Reply to a campaign",
    "previous_call": "Last to call them",
    "contact_owner": "Owns the contact",
    "unknown_sender": "Unknown sender",
    "no_owner": "No owner: backup address",
    "number_not_configured": "Held: number not set up",
    "handoff": "Handed over",
}
POLICIES = {
    "sms_then_call": "Texts first, then calls",
    "most_recent_interaction": "Most recent text or call",
}
POLICY_HINTS = {
    "sms_then_call": (
        "whoever last texted the contact, else whoever last called them, "
        "else the contact's owner"
    ),
    "most_recent_interaction": (
        "whoever last texted or called the contact, whichever was later, "
        "else the contact's owner"
    ),
}
DELIVERIES = {"pending": "Mail waiting", "sent": "Mailed", "failed": "Mail failed"}
STATUSES = {"routed": "Routed", "held": "Held"}
FIELDS = {
    "api_key": "API key",
    "backup_email": "Backup email",
    "email": "Email",
    "number": "Number",
    "phone": "Phone",
    "sender": "Sender's phone",
    "since": "From",
    "until": "To",
    "user_id": "User ID",
    "name": "Name",
    "label": "Label",
    "policy": "Policy",
}


def field_label(field: str) -> str:
    return FIELDS.get(field, field.replace("_", " ").capitalize())


def moment(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        found = value
    else:
        found = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def utc_text(value: Any) -> str:
    found = moment(value)
    return found.astimezone(UTC).strftime("%-d %b %Y, %H:%M UTC") if found else ""


def when(value: Any) -> Markup:
    """A time: UTC in the page, turned into the browser's own zone by the
    page's script, with UTC kept on hover."""
    found = moment(value)
    if found is None:
        return Markup("")
    iso = found.astimezone(UTC).isoformat().replace("+00:00", "Z")
    text = utc_text(found)
    return Markup('<time datetime="{}" title="{}">{}</time>').format(iso, text, text)


def phone(value: Any) -> str:
    """A number as people write it, with its country code."""
    if not value:
        return ""
    try:
        parsed = phonenumbers.parse(str(value), None)
    except phonenumbers.NumberParseException:
        return str(value)
    return str(
        phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    )


def explain(
    decision: Mapping[str, Any],
    users: Mapping[str, str],
    contacts: Mapping[str, str],
) -> Markup:
    """Why a message went where it went, in one plain sentence."""
    recipient = decision.get("recipient") or {}
    evidence = decision.get("evidence") or {}
    email = recipient.get("email", "")
    who = users.get(recipient.get("user_id", ""), email)
    contact = contacts.get(evidence.get("contact_id", ""), "")
    if not contact and decision.get("contact_ids"):
        contact = contacts.get(decision["contact_ids"][0], decision["contact_ids"][0])
    at = when(evidence.get("occurred_at"))
    rule = decision.get("rule")
    sentence: Markup
    if rule == "previous_sms":
        sentence = Markup("Routed to {}, who sent the last text to {} on {}.").format(
            who, contact, at
        )
    elif rule == "previous_call":
        sentence = Markup("Routed to {}, who last called {} on {}.").format(
            who, contact, at
        )
    elif rule == "campaign_reply":
        sentence = Markup(
            "Routed to {}, the reply address of the campaign that last texted {} on {}."
        ).format(email, contact, at)
    elif rule == "contact_owner":
        sentence = Markup(
            "Routed to {}, who owns {}: nobody active on the team had texted or"
            " called them."
        ).format(who, contact)
    elif rule == "unknown_sender":
        sentence = Markup(
            "Routed to the backup address {}: no contact has the number {}."
        ).format(email, phone_html(decision.get("from")))
    elif rule == "no_owner":
        sentence = Markup(
            "Routed to the backup address {}: {} has no active owner, and nobody"
            " active on the team had texted or called them."
        ).format(email, contact)
    elif rule == "handoff":
        by_id = evidence.get("handed_off_by") or ""
        by = users.get(by_id, by_id) or "a colleague"
        sentence = Markup(
            "Routed to {}, to whom {} handed {}'s earlier text on {}."
        ).format(who, by, contact, at)
    elif rule == "number_not_configured":
        sentence = Markup(
            "Held: {} is not set up as an inbound number. Set it up and the"
            " message is routed at once."
        ).format(phone_html(decision.get("to")))
    else:
        sentence = Markup("Routed to {}.").format(who or email)
    skipped = sorted({s["user_id"] for s in decision.get("skipped") or []})
    if skipped:
        names = ", ".join(users.get(u, u) for u in skipped)
        verb = "was" if len(skipped) == 1 else "were"
        sentence += Markup(" {} {} passed over: no longer active.").format(names, verb)
    return sentence


def why_mine(
    decision: Mapping[str, Any],
    user_id: str,
    users: Mapping[str, str],
    contacts: Mapping[str, str],
) -> Markup:
    """Why a text is in this user's inbox: the last hand-off to them, with
    its note, else the routing decision's own reason."""
    mine = [h for h in decision.get("handoffs") or [] if h.get("to_user_id") == user_id]
    if not mine:
        return explain(decision, users, contacts)
    last = mine[-1]
    by = users.get(last.get("by_user_id") or "", "A colleague")
    sentence = Markup("{} handed it to you on {}").format(by, when(last.get("at")))
    if last.get("note"):
        sentence += Markup(": <q>{}</q>").format(last["note"])
    return sentence + Markup(". Before that: {}").format(
        explain(decision, users, contacts)
    )


def delivery_label(decision: Mapping[str, Any]) -> str:
    if decision.get("status") == "held":
        return "Held"
    state = str((decision.get("delivery") or {}).get("email", "pending"))
    return DELIVERIES.get(state, state)


def snippet(text: str | None, size: int = 60) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= size else text[: size - 1].rstrip() + "…"


def segment(value: Any) -> str:
    """A value as one path segment of a link."""
    return quote(str(value), safe="")


def query(base: Mapping[str, Any], **changes: Any) -> str:
    """`base`'s query with `changes`, empty values left out: the filters of a
    list kept in its links."""
    merged = {**base, **changes}
    return urlencode({k: v for k, v in merged.items() if v not in (None, "")})


def count(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def phone_html(value: Any) -> Markup:
    """A number as people write it, never broken across lines."""
    return Markup('<span class="tel">{}</span>').format(phone(value))


FILTERS = {
    "when": when,
    "utc": utc_text,
    "phone": phone_html,
    "rule": lambda r: RULES.get(r, r),
    "policy": lambda p: POLICIES.get(p, p),
    "delivery": delivery_label,
    "snippet": snippet,
    "seg": segment,
}
GLOBALS = {
    "explain": explain,
    "query": query,
    "count": count,
    "RULES": RULES,
    "POLICIES": POLICIES,
    "POLICY_HINTS": POLICY_HINTS,
    "DELIVERIES": DELIVERIES,
    "STATUSES": STATUSES,
}
