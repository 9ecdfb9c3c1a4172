"""The mail a decision becomes, and the SMTP_URL forms, over loopback with TLS."""

import ssl
import subprocess
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy

import pytest
from aiosmtpd.smtp import AuthResult

from smsledger.domain.errors import InvalidInput
from smsledger.ledger.delivery import backoff
from smsledger.ledger.mail import (
    MaildirTransport,
    PermanentFailure,
    SmtpTransport,
    TransientFailure,
    compose,
    mail_id,
    maildir_name,
    transport,
)
from tests.delivery.conftest import SmtpServer, free_port

DECISION = {
    "account_id": "acct-1",
    "message_id": "SM1",
    "from": "+14155550111",
    "to": "+14155550100",
    "body": "Ça marche, à mardi ! 你好 👋",
    "received_at": "2026-11-26T15:04:05Z",
    "contact_ids": ["c1"],
    "recipient": {"email": "ann@acme.test", "user_id": "ann"},
    "explanation": "Routed to ann@acme.test: Ann sent the last SMS to Jane Roe.",
}
JANE = {"contact_id": "c1", "name": "Jane Roe"}
DECIDED_AT = datetime(2026, 11, 26, 15, 4, 6, tzinfo=UTC)


def mail(decision=DECISION, contacts=(JANE,)):
    return compose(
        decision, contacts, mail_from="routing@acme.test", decided_at=DECIDED_AT
    )


def test_mail_names_sender_and_number_in_subject_and_everything_in_body():
    composed = mail()
    text = composed.get_content()

    assert composed["Subject"] == "SMS from Jane Roe (+14155550111) to +14155550100"
    assert composed["To"] == "ann@acme.test"
    assert composed["Message-ID"] == mail_id("acct-1", "SM1")
    assert composed["Date"] == "Thu, 26 Nov 2026 15:04:06 +0000"
    for part in (
        DECISION["body"],
        "From: +14155550111",
        "Contact: Jane Roe (id c1)",
        "To: +14155550100",
        "Received: 2026-11-26 15:04:05 UTC",
        DECISION["explanation"],
    ):
        assert part in text


def test_mail_from_unknown_sender_names_the_number_alone():
    composed = mail({**DECISION, "contact_ids": []}, contacts=())
    assert composed["Subject"] == "SMS from +14155550111 to +14155550100"
    assert "Contact: none matches this number" in composed.get_content()


def test_line_break_in_a_contact_name_stays_out_of_the_headers():
    composed = mail(contacts=({"contact_id": "c1", "name": "Jane\r\nBcc: x@y.z"},))
    assert composed["Subject"] == (
        "SMS from Jane Bcc: x@y.z (+14155550111) to +14155550100"
    )
    assert composed["Bcc"] is None


def test_mail_survives_7bit_transport_with_any_language():
    raw = mail().as_bytes()
    assert raw.isascii()
    parsed = message_from_bytes(raw, policy=policy.default)
    assert DECISION["body"] in parsed.get_content()


def test_message_id_is_the_same_for_every_try_and_differs_per_decision():
    assert mail_id("acct-1", "SM1") == mail()["Message-ID"] == mail()["Message-ID"]
    assert mail_id("acct-1", "SM2") != mail_id("acct-1", "SM1")
    assert mail_id("acct-2", "SM1") != mail_id("acct-1", "SM1")


@pytest.mark.parametrize(
    ("attempt", "low", "high"),
    [(1, 1, 2), (2, 2, 4), (5, 16, 32), (30, 300, 600)],
    ids=["first", "second", "fifth", "capped"],
)
def test_backoff_doubles_with_jitter_up_to_a_cap(attempt, low, high):
    waits = {backoff(attempt, rand=iter([r]).__next__) for r in (0.0, 0.5, 0.999)}
    assert all(timedelta(seconds=low) <= w <= timedelta(seconds=high) for w in waits)
    assert len(waits) == 3


@pytest.mark.parametrize(
    "url", ["http://mail:25", "smtp://", "smtps:///"], ids=["scheme", "host", "path"]
)
def test_bad_smtp_url_is_refused_at_start(url):
    with pytest.raises(InvalidInput):
        SmtpTransport(url)


def test_without_smtp_url_the_transport_is_a_maildir(tmp_path):
    chosen = transport(None, tmp_path / "mail")
    assert isinstance(chosen, MaildirTransport)
    chosen.send(mail())
    assert len(list((tmp_path / "mail" / "new").iterdir())) == 1


def test_maildir_is_made_with_its_parents_and_the_mail_named_by_its_id(tmp_path):
    folder = tmp_path / "fresh-checkout" / "var" / "mail"
    accepted = []
    MaildirTransport(folder).send(mail(), lambda: accepted.append(True))

    (written,) = (folder / "new").iterdir()
    assert written.name == maildir_name(mail_id("acct-1", "SM1"))
    assert message_from_bytes(written.read_bytes())["Message-ID"] == mail_id(
        "acct-1", "SM1"
    )
    assert accepted == [True]
    assert list((folder / "tmp").iterdir()) == []


def test_writing_the_same_mail_again_is_a_no_op_even_once_read(tmp_path):
    maildir = MaildirTransport(tmp_path / "mail")
    maildir.send(mail())
    maildir.send(mail())
    assert len(list((tmp_path / "mail" / "new").iterdir())) == 1

    # A mail client moves what it has shown to cur/, flagged as seen.
    (unread,) = (tmp_path / "mail" / "new").iterdir()
    unread.rename(tmp_path / "mail" / "cur" / f"{unread.name}:2,S")
    accepted = []
    maildir.send(mail(), lambda: accepted.append(True))

    assert list((tmp_path / "mail" / "new").iterdir()) == []
    assert len(list((tmp_path / "mail" / "cur").iterdir())) == 1
    assert accepted == [True]  # already delivered is delivered
    other = mail({**DECISION, "message_id": "SM2"})
    maildir.send(other)
    assert len(list((tmp_path / "mail" / "new").iterdir())) == 1


@pytest.mark.parametrize(
    ("message_id", "name"),
    [
        ("<0f3a@smsledger>", "0f3a@smsledger"),
        ("<a/b:c@x>", "a_b_c@x"),
    ],
    ids=["ours", "path-and-colon"],
)
def test_maildir_names_hold_no_path_or_info_separator(message_id, name):
    assert maildir_name(message_id) == name


@pytest.mark.parametrize(
    "message_id", [None, "", "<..>"], ids=["none", "empty", "dots"]
)
def test_maildir_refuses_a_mail_it_cannot_name(message_id):
    with pytest.raises(ValueError, match="Message-ID"):
        maildir_name(message_id)


# TLS and login, against a server with a self-signed certificate.


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def server_tls(certificate):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


def client_tls(certificate):
    return ssl.create_default_context(cafile=str(certificate[0]))


def authenticate(server, session, envelope, mechanism, auth_data):
    ok = (auth_data.login, auth_data.password) == (b"relay", b"s3cret/pw")
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def starttls_server(certificate):
    server = SmtpServer(
        free_port(),
        tls_context=server_tls(certificate),
        require_starttls=True,
        authenticator=authenticate,
        auth_required=True,
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def smtps_server(certificate):
    server = SmtpServer(
        free_port(),
        ssl_context=server_tls(certificate),
        authenticator=authenticate,
        auth_required=True,
        # The session is TLS from the start, which aiosmtpd does not notice.
        auth_require_tls=False,
    )
    server.start()
    yield server
    server.stop()


def test_starttls_with_login_delivers(starttls_server, certificate):
    url = f"smtp+starttls://relay:s3cret%2Fpw@127.0.0.1:{starttls_server.port}"
    SmtpTransport(url, tls=client_tls(certificate)).send(mail())
    ((to, received),) = starttls_server.inbox.mails
    assert to == ["ann@acme.test"]
    assert DECISION["body"] in received.get_content()


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_implicit_tls_with_login_delivers(smtps_server, certificate):
    url = f"smtps://relay:s3cret%2Fpw@127.0.0.1:{smtps_server.port}"
    SmtpTransport(url, tls=client_tls(certificate)).send(mail())
    assert len(smtps_server.inbox.mails) == 1


def test_wrong_password_is_a_transient_failure(starttls_server, certificate):
    url = f"smtp+starttls://relay:wrong@127.0.0.1:{starttls_server.port}"
    with pytest.raises(TransientFailure, match="Authentication"):
        SmtpTransport(url, tls=client_tls(certificate)).send(mail())


def test_untrusted_certificate_is_a_transient_failure(starttls_server):
    url = f"smtp+starttls://relay:s3cret%2Fpw@127.0.0.1:{starttls_server.port}"
    with pytest.raises(TransientFailure, match="SSL"):
        SmtpTransport(url).send(mail())


def test_refused_recipient_is_a_permanent_failure(smtp):
    smtp.inbox.refuse["ann@acme.test"] = "550 5.1.1 No such mailbox"
    with pytest.raises(PermanentFailure, match="550"):
        SmtpTransport(smtp.url).send(mail())
