"""The mails of a batch of routed decisions, made from two reads of the view."""

from __future__ import annotations

import json

from smsledger.ledger.mail import PermanentFailure, Rendered
from smsledger.ledger.mail_bytes import render
from smsledger.projections.outbox import Claimed
from smsledger.projections.persistence import RoutingView


def compose_all(
    view: RoutingView, claimed: list[Claimed], mail_from: str, base_url: str | None
) -> dict[Claimed, Rendered | Exception]:
    """Each claimed mail, or why it cannot be made: the decisions in one
    read, their contacts in another."""
    _, found = view.read(
        [(view.SELECT_DECISION, (c.account_id, c.message_id)) for c in claimed]
    )
    decisions = {
        c: json.loads(rows[0]["document"]) if rows else None
        for c, rows in zip(claimed, found, strict=True)
    }
    wanted = sorted(
        {
            (c.account_id, contact_id)
            for c, decision in decisions.items()
            if decision is not None
            for contact_id in decision["contact_ids"]
        }
    )
    _, found = (
        view.read([(view.SELECT_CONTACT, key) for key in wanted])
        if wanted
        else ({}, [])
    )
    contacts = {
        key: dict(rows[0]) if rows else {"contact_id": key[1], "name": None}
        for key, rows in zip(wanted, found, strict=True)
    }
    mails: dict[Claimed, Rendered | Exception] = {}
    for item, decision in decisions.items():
        if decision is None:
            mails[item] = PermanentFailure("the decision is not in the routing view")
            continue
        named = [contacts[(item.account_id, c)] for c in decision["contact_ids"]]
        try:
            mails[item] = render(
                decision,
                named,
                mail_from=mail_from,
                decided_at=item.routed_at,
                base_url=base_url,
            )
        except Exception as error:
            # Made the same way on every try: no use trying for ever.
            mails[item] = PermanentFailure(
                f"cannot compose the mail: {type(error).__name__}: {error}"
            )
    return mails
