"""Events stored under an older schema still load, fold and replay."""

import json
from datetime import UTC, datetime
from typing import Any

from eventsourcing.persistence import StoredEvent

from smsledger.domain.contacts import Contact
from smsledger.ledger import audit
from tests.integration.test_routing import JANE, NUMBER


def store_v1_contact(ledger, account_id: str, contact_id: str, phone: str) -> None:
    """Append a Contact.Registered exactly as version 1 of the schema wrote it."""
    contact = Contact(account_id, contact_id, None, [phone], "ann")
    stored = ledger.mapper.to_stored_event(contact.collect_events()[0])
    state: dict[str, Any] = json.loads(stored.state)
    state.pop("phones")
    state["phone"] = phone
    del state["class_version"]
    v1 = StoredEvent(
        originator_id=stored.originator_id,
        originator_version=stored.originator_version,
        topic=stored.topic,
        state=json.dumps(state).encode(),
    )
    # Decoding it for the view's fold already goes through the upcaster.
    ledger.recorder.insert_events(
        [v1], events_to_fold=[ledger.mapper.to_domain_event(v1)]
    )


def test_version_1_contact_loads_with_its_phone_as_a_list(ledger, account):
    ledger.put_user(account, "ann", "ann@example.org")
    store_v1_contact(ledger, account.account_id, "old", JANE)

    assert ledger.get_contact(account, "old")["phones"] == [JANE]


def test_version_1_contact_is_folded_by_rebuild_and_routes(ledger, account):
    ledger.put_number(account, NUMBER, "desk@example.org")
    ledger.put_user(account, "ann", "ann@example.org")
    store_v1_contact(ledger, account.account_id, "old", JANE)
    ledger.rebuild_views()  # and a fold from the ledger alone reads it too

    decision = ledger.route_inbound_sms(account, JANE, NUMBER, "hi").value

    assert (decision["rule"], decision["contact_ids"]) == ("contact_owner", ["old"])
    assert audit.verify(ledger).inconsistent == []
    assert ledger.replay_decision(account, decision["message_id"])["consistent"]
    assert datetime.now(UTC) > datetime.fromisoformat(decision["received_at"])
