"""The inbox in Chromium, on each database: a team member signs in from the
mailed link, a text pops in their open inbox within a second, they hand it to
a colleague whose inbox pops it, and the colleague's reply goes out through
Twilio (a stand-in on loopback) and makes the contact's next text theirs."""

from __future__ import annotations

import re
import time
from email import message_from_bytes, policy
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import (
    DESKTOP,
    TIME_ZONE,
    Account,
    Site,
    assert_accessible,
)
from tests.browser.history import JANE, new_number
from tests.browser.twilio import AUTH_TOKEN, TwilioStandIn
from tests.delivery.conftest import wait_until

LINK = re.compile(r"https?://\S+/sign-in/link/\S+")
# The pop must show within this of the text being posted to the API.
POP_SECONDS = 1.0


def team(site: Site, twilio: TwilioStandIn) -> tuple[Account, str, str, dict[str, str]]:
    """An account with enhanced inbound and Twilio (its SID is returned), Ann
    and Bob, and Jane Roe, whom Ann texted last; its emails are its own, as
    the Maildir is shared."""
    acme = site.new_account("Acme", enhanced_inbound=True)
    sid = twilio.new_account_sid()
    acme.ok(
        "PATCH",
        "/v1/account",
        {"twilio_account_sid": sid, "twilio_auth_token": AUTH_TOKEN},
    )
    tag = acme.account_id[:12]
    emails = {u: f"{u}-{tag}@acme.test" for u in ("ann", "bob")}
    number = new_number()
    acme.ok("PUT", f"/v1/inbound-numbers/{number}", {"backup_email": "desk@acme.test"})
    acme.ok("PUT", "/v1/users/ann", {"email": emails["ann"], "name": "Ann Lee"})
    acme.ok("PUT", "/v1/users/bob", {"email": emails["bob"], "name": "Bob Stone"})
    acme.ok("PUT", "/v1/contacts/c1", {"name": "Jane Roe", "phones": [JANE]})
    acme.ok(
        "POST",
        "/v1/interactions/sms",
        {
            "user_id": "ann",
            "contact_id": "c1",
            "to": JANE,
            "from": number,
            "occurred_at": "2026-11-20T14:03:00Z",
            "body": "Does Tuesday work for the demo?",
        },
    )
    return acme, sid, number, emails


def mailed(maildir: Path, to: str, pattern: re.Pattern[str]) -> str:
    """What `pattern` finds in a mail to `to`, once that mail is there."""

    def found() -> str | None:
        for path in (maildir / "new").glob("*"):
            mail = message_from_bytes(path.read_bytes(), policy=policy.default)
            if str(mail["To"]) == to:
                body = mail.get_body(preferencelist=("plain",))
                match = pattern.search(body.get_content()) if body else None
                if match:
                    return match.group(0)
        return None

    link: str = wait_until(found, timeout=15)
    return link


def open_inbox(browser: Browser) -> tuple[BrowserContext, Page]:
    context = browser.new_context(
        viewport=DESKTOP, timezone_id=TIME_ZONE, locale="en-US", bypass_csp=True
    )
    context.set_default_timeout(10_000)
    return context, context.new_page()


def text_in(acme: Account, number: str, body: str, message_id: str) -> float:
    """Jane texts the number; when the request was sent, by this clock."""
    began = time.time()
    acme.ok(
        "POST",
        "/v1/inbound-sms",
        {"from": JANE, "to": number, "body": body, "message_id": message_id},
    )
    return began


def popped_within(page: Page, message_id: str, began: float) -> float:
    toast = page.locator(f".toast[data-message-id='{message_id}']")
    expect(toast).to_be_visible(timeout=5_000)
    shown_at = int(toast.get_attribute("data-shown-at") or 0) / 1000
    delay = shown_at - began
    assert delay < POP_SECONDS, f"popped {delay:.3f} s after the text was posted"
    return delay


def test_sign_in_pop_hand_off_and_reply(
    browser: Browser, site: Site, twilio: TwilioStandIn
):
    acme, sid, number, emails = team(site, twilio)
    ann_context, ann = open_inbox(browser)
    bob_context, bob = open_inbox(browser)
    try:
        # Ann asks for a link on the sign-in page and opens it from her mail.
        ann.goto(site.url + "/inbox")
        expect(ann).to_have_url(re.compile(r"/sign-in\?next="))
        ann.get_by_label("Your work email").fill(emails["ann"])
        ann.get_by_role("button", name="Email me a sign-in link").click()
        expect(ann.get_by_role("status")).to_contain_text("on its way")
        ann.goto(mailed(site.maildir, emails["ann"], LINK))
        ann.get_by_role("button", name="Open my inbox").click()
        expect(ann).to_have_url(re.compile(r"/inbox$"))
        expect(ann.locator("#inbox-empty")).to_contain_text("No texts for you yet")
        assert_accessible(ann)

        bob_link = acme.ok("POST", "/v1/users/bob/sign-in-links", {})["url"]
        bob.goto(bob_link)
        bob.get_by_role("button", name="Open my inbox").click()
        expect(bob).to_have_url(re.compile(r"/inbox$"))
        # The pages listen once their script has run.
        ann.wait_for_load_state("load")
        bob.wait_for_load_state("load")

        # Jane texts: it pops in Ann's open inbox.
        began = text_in(acme, number, "Yes, Tuesday works", "SM-1")
        popped_within(ann, "SM-1", began)
        expect(ann).to_have_title(re.compile(r"^\(1\) Inbox"))
        expect(ann.locator("#inbox-list li").first).to_contain_text("Jane Roe")

        # Not hers: she hands it to Bob, found by name.
        ann.locator("#inbox-list li").first.get_by_role("link").click()
        expect(ann.locator("p.lead")).to_contain_text(
            "Routed to Ann Lee, who sent the last text to Jane Roe"
        )
        expect(ann.locator(".side")).to_contain_text("+1 415-555-0111")
        ann.get_by_role("link", name="Not mine: hand off").click()
        dialog = ann.get_by_role("dialog")
        expect(dialog).to_be_visible()
        dialog.get_by_label("Find a colleague").fill("bo")
        dialog.get_by_label(re.compile("Bob Stone")).check()
        dialog.get_by_label("Note for them").fill("Jane is your client now")
        assert_accessible(ann)
        began = time.time()
        dialog.get_by_role("button", name="Hand off").click()
        expect(ann.locator("p.notice")).to_contain_text(
            "You handed this text to Bob Stone"
        )

        popped_within(bob, "SM-1", began)
        expect(bob.locator(".toast")).to_contain_text("Ann Lee handed you a text")

        # Jane's next text goes to Bob, who now expects it.
        decision = acme.ok(
            "POST",
            "/v1/inbound-sms",
            {"from": JANE, "to": number, "body": "Is 10 ok?", "message_id": "SM-2"},
        )
        assert decision["rule"] == "handoff"
        assert decision["recipient"]["user_id"] == "bob"
        expect(bob.locator(".toast[data-message-id='SM-2']")).to_be_visible()

        # Bob replies; Twilio gets exactly one correct request.
        bob.goto(site.url + "/inbox/SM-2")
        bob.get_by_label("Your text to Jane Roe").fill("10 is fine, see you then")
        bob.get_by_role("button", name="Send reply").click()
        sent = wait_until(lambda: twilio.requests_for(sid), timeout=15)
        wait_until(
            lambda: (
                acme.ok("GET", "/v1/routing-decisions/SM-2/replies")["items"][0][
                    "status"
                ]
                == "sent"
            ),
            timeout=15,
        )
        assert len(sent) == 1
        assert sent[0].form == {
            "To": JANE,
            "From": number,
            "Body": "10 is fine, see you then",
        }
        bob.reload()
        expect(bob.locator("ul.replies")).to_contain_text("Sent")
        assert_accessible(bob)

        # Jane's following text goes to Bob, who texted her last.
        following = acme.ok(
            "POST",
            "/v1/inbound-sms",
            {"from": JANE, "to": number, "body": "Great", "message_id": "SM-3"},
        )
        assert following["rule"] == "previous_sms"
        assert following["recipient"]["user_id"] == "bob"
        assert len(twilio.requests_for(sid)) == 1

        # Its mail links to it in the inbox: signed out, Bob is asked to sign
        # in, and comes back to it.
        mail_link = mailed(
            site.maildir, emails["bob"], re.compile(r"https?://\S+/inbox/SM-3")
        )
        elsewhere = browser.new_context(viewport=DESKTOP, timezone_id=TIME_ZONE)
        away = elsewhere.new_page()
        away.goto(mail_link)
        expect(away).to_have_url(re.compile(r"/sign-in\?next=%2Finbox%2FSM-3"))
        away.get_by_label("Your work email").fill(emails["bob"])
        away.get_by_role("button", name="Email me a sign-in link").click()
        expect(away.get_by_role("status")).to_contain_text("on its way")
        away.goto(mailed(site.maildir, emails["bob"], LINK))
        away.get_by_role("button", name="Open my inbox").click()
        expect(away).to_have_url(re.compile(r"/inbox/SM-3$"))
        expect(away.locator("li.current")).to_contain_text("Great")
        elsewhere.close()
    finally:
        ann_context.close()
        bob_context.close()
