"""The mail written straight to bytes reads back as the mail `compose` makes."""

from email import message_from_bytes, policy

import pytest

from smsledger.ledger.mail import Rendered, compose, subject_of
from smsledger.ledger.mail_bytes import render
from tests.delivery.test_mail import DECIDED_AT, DECISION, JANE

HANDOFF = {
    "handoff_id": "h1",
    "at": "2026-11-27T09:30:00+00:00",
    "to_email": "bob@acme.test",
    "by_user_id": "ann",
    "note": "Bob knows this customer — über alles.",
}
LONG_NAME = {"contact_id": "c2", "name": "Maximilian " * 12}
CASES = {
    "ascii": ({**DECISION, "body": "See you Tuesday."}, (JANE,), {}),
    "any language": (DECISION, (JANE,), {}),
    "non-ascii name": (DECISION, ({"contact_id": "c1", "name": "Zoë Ærø 王"},), {}),
    "long subject": (DECISION, (JANE, LONG_NAME), {}),
    "one long word": (DECISION, ({"contact_id": "c1", "name": "x" * 120},), {}),
    "long ascii line": ({**DECISION, "body": "word " * 60}, (JANE,), {}),
    "line breaks and dots": (
        {**DECISION, "body": "one\r\ntwo\rthree\n.\nFrom here\n\n"},
        (JANE,),
        {},
    ),
    "line break in a name": (
        DECISION,
        ({"contact_id": "c1", "name": "Jane\r\nBcc: x@y.z"},),
        {},
    ),
    "no contact": ({**DECISION, "contact_ids": []}, (), {}),
    "nameless contact": (DECISION, ({"contact_id": "c1", "name": None},), {}),
    "inbox link": (DECISION, (JANE,), {"base_url": "https://acme.test/"}),
    "hand-off": (DECISION, (JANE,), {"handoff": HANDOFF}),
    "empty body": ({**DECISION, "body": ""}, (JANE,), {}),
}


def both(decision, contacts, extra):
    given = {"mail_from": "routing@acme.test", "decided_at": DECIDED_AT, **extra}
    return compose(decision, contacts, **given), render(decision, contacts, **given)


def headers(mail):
    """Each header as read back, but the transfer encoding (checked below)."""
    return [(k, str(v)) for k, v in mail.items() if k != "Content-Transfer-Encoding"]


@pytest.mark.parametrize(("decision", "contacts", "extra"), CASES.values(), ids=CASES)
def test_rendered_mail_reads_back_as_the_composed_one(decision, contacts, extra):
    composed, rendered = both(decision, contacts, extra)
    old = message_from_bytes(composed.as_bytes(), policy=policy.default)
    new = message_from_bytes(rendered.data, policy=policy.default)

    assert rendered.data.isascii()
    assert max(map(len, rendered.data.split(b"\n"))) <= 998
    assert headers(new) == headers(old)
    assert new.get_content() == old.get_content()
    assert new.defects == old.defects == []
    assert rendered.message_id == composed["Message-ID"]
    assert rendered.mail_from == "routing@acme.test"
    assert rendered.to == composed["To"]


def test_long_non_ascii_subject_keeps_every_space():
    """The header policy drops a space where it folds such a subject; the
    rendered mail does not."""
    contacts = ({"contact_id": "c1", "name": "Ünïcödé " * 20},)
    _, rendered = both(DECISION, contacts, {})
    read = message_from_bytes(rendered.data, policy=policy.default)
    assert read["Subject"] == subject_of(DECISION, contacts, None)
    assert max(map(len, rendered.data.split(b"\n"))) <= 78


def test_ascii_body_goes_as_7bit_and_any_other_as_quoted_printable():
    _, ascii_mail = both({**DECISION, "body": "See you Tuesday."}, (JANE,), {})
    _, other = both(DECISION, (JANE,), {})
    read = message_from_bytes(ascii_mail.data, policy=policy.default)
    assert read["Content-Transfer-Encoding"] == "7bit"
    read = message_from_bytes(other.data, policy=policy.default)
    assert read["Content-Transfer-Encoding"] == "quoted-printable"


def test_an_address_out_of_the_ordinary_is_written_by_the_full_machinery():
    handoff = {**HANDOFF, "to_email": "bö@acme.test"}
    composed = compose(DECISION, (JANE,), mail_from="routing@acme.test",
                       decided_at=DECIDED_AT, handoff=handoff)  # fmt: skip
    rendered = render(DECISION, (JANE,), mail_from="routing@acme.test",
                      decided_at=DECIDED_AT, handoff=handoff)  # fmt: skip
    assert rendered == Rendered(
        composed["Message-ID"], "routing@acme.test", "bö@acme.test", composed.as_bytes()
    )
