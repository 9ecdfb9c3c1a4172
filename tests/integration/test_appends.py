"""An append and its fold are one transaction: all of it lands, or none."""

import pytest

from smsledger.ledger.application import AccountContext, Ledger
from tests.integration.test_rebuild import PHONES, build_history
from tests.integration.test_routing import NUMBER


def rename_live_table(ledger: Ledger, old: str, new: str) -> None:
    with ledger.view.snapshot() as tx:
        version = tx.version
    with ledger.view.datastore.transaction(commit=True) as curs:
        curs.execute(ledger.view.sql(f"ALTER TABLE {old} RENAME TO {new}", version), ())


def test_an_append_whose_fold_fails_leaves_nothing_behind(
    ledger: Ledger, account: AccountContext
):
    build_history(ledger, account)
    head = ledger.head()
    rename_live_table(ledger, "{outbox}", "{outbox}_away")  # the fold's last write

    with pytest.raises(Exception, match="outbox"):
        ledger.route_inbound_sms(account, PHONES[0], NUMBER, "hi", message_id="m1")

    assert ledger.head() == head
    assert ledger.list_decisions(account) == []
    rename_live_table(ledger, "{outbox}_away", "{outbox}")
    again = ledger.route_inbound_sms(account, PHONES[0], NUMBER, "hi", message_id="m1")
    assert again.created
    # Its two events, received and routed, and no others (positions may skip
    # the numbers the failed append took).
    appended = ledger.recorder.select_notifications(head + 1, 10)
    assert [n.topic.rsplit(".", 1)[1] for n in appended] == ["Received", "Routed"]
    assert [d["message_id"] for d in ledger.list_decisions(account)] == ["m1"]
