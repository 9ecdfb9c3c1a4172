"""What a team lead does in the console, in Chromium, on each database."""

from __future__ import annotations

import csv
import json
import re

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    Site,
    assert_accessible,
    assert_fits,
    sign_in,
)
from tests.browser.history import JANE, inbound, jane_case, new_number


def test_find_a_decision_by_filter_open_it_and_replay_it(page: Page, site: Site):
    acme = site.new_account("Acme")
    jane_case(acme)
    sign_in(page, site, acme)

    page.get_by_text("Filter", exact=True).click()
    page.get_by_label("Sender's phone").fill("(415) 555-0111")
    page.get_by_label("Why it went there").select_option(label="Last to text them")
    page.get_by_role("button", name="Show messages").click()

    expect(page).to_have_url(re.compile(r"sender=.*rule=previous_sms|rule=.*sender="))
    rows = page.locator("table.list tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("Jane Roe")
    expect(rows.first).to_contain_text("Ann Lee")

    rows.first.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Message from Jane Roe")
    lead = page.locator("p.lead")
    expect(lead).to_contain_text(
        "Routed to Ann Lee, who sent the last text to Jane Roe"
    )
    # 14:03 UTC, shown in the browser's zone (New York), UTC on hover.
    sent_at = lead.locator("time")
    expect(sent_at).to_have_text(re.compile(r"Nov 20, 2026,? 9:03\sAM"))
    expect(sent_at).to_have_attribute("title", "20 Nov 2026, 14:03 UTC")
    expect(page.locator("blockquote.sms")).to_have_text("See you then")  # the newest

    page.get_by_role("button", name="Replay").click()

    expect(page.get_by_role("status")).to_contain_text("Consistent.")
    assert "/replay" in page.url


def test_replay_shows_a_view_row_altered_by_hand(page: Page, site: Site):
    acme = site.new_account("Acme")
    jane_case(acme)
    (version,) = site.execute(
        "SELECT version FROM smsledger_views WHERE name = 'routing'"
    )[0]
    table = f"sl{version}_decisions"
    (document,) = site.execute(
        f"SELECT document FROM {table} WHERE account_id = %s AND message_id = %s",
        (acme.account_id, "SM-1"),
    )[0]
    altered = {
        **json.loads(document),
        "rule": "previous_call",
        "recipient": {"email": "bob@acme.test", "user_id": "bob"},
    }
    site.execute(
        f"UPDATE {table} SET document = %s WHERE account_id = %s AND message_id = %s",
        (json.dumps(altered), acme.account_id, "SM-1"),
    )
    sign_in(page, site, acme)

    page.goto(site.url + "/decisions/SM-1")
    expect(page.locator("p.lead")).to_contain_text("Routed to Bob Stone")
    page.get_by_role("button", name="Replay").click()

    expect(page.get_by_role("alert")).to_contain_text("Different.")
    differing = page.locator("table.compare tr.differs th")
    expect(differing).to_have_count(3)  # in words, reason, recipient
    expect(differing.nth(1)).to_contain_text("Reason")
    expect(differing.nth(2)).to_contain_text("Went to")
    went_to = page.locator("table.compare tr.differs").nth(2)
    expect(went_to.locator("td").nth(0)).to_contain_text("bob@acme.test")
    expect(went_to.locator("td").nth(1)).to_contain_text("ann@acme.test")
    status = page.locator("table.compare tr", has_text="Status")
    expect(status).not_to_have_class(re.compile("differs"))
    assert_accessible(page)


def test_what_if_counts_the_decisions_another_policy_would_change(
    page: Page, site: Site
):
    acme = site.new_account("Acme")
    jane_case(acme)
    sign_in(page, site, acme)

    page.get_by_role("link", name="What if").click()
    expect(page.locator("p.lead")).to_contain_text("Before you change")
    page.get_by_label("Try the policy").select_option(label="Most recent text or call")
    page.get_by_role("button", name="Compare").click()

    expect(page.locator("p.lead")).to_contain_text(
        "3 past messages of 4 would have gone to someone else"
    )
    bars = page.locator("table.chart tbody tr")
    expect(bars).to_have_count(1)
    expect(bars.first.locator("td").nth(0)).to_have_text("Last to text them")
    expect(bars.first.locator("td").nth(1)).to_have_text("Last to call them")
    expect(bars.first.locator("td").nth(2)).to_have_text("3")
    listed = page.locator("section", has_text="The messages").locator("tbody tr")
    expect(listed).to_have_count(3)
    expect(listed.first).to_contain_text("Bob Stone")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download the list as CSV").click()
    with open(download.value.path(), newline="") as file:
        rows = list(csv.DictReader(file))
    assert sorted(r["message_id"] for r in rows) == ["SM-0", "SM-1", "SM-2"]
    assert {(r["recorded_rule"], r["what_if_rule"]) for r in rows} == {
        ("previous_sms", "previous_call")
    }

    # Only messages received since a day: the first two are left out.
    page.get_by_label("On messages received since (optional)").fill("2026-11-23")
    page.get_by_role("button", name="Compare").click()
    expect(page.locator("p.lead")).to_contain_text("0 past messages of 0")


def test_a_contact_s_timeline_follows_what_happened(page: Page, site: Site):
    acme = site.new_account("Acme")
    jane_case(acme)
    acme.ok(
        "PUT",
        "/v1/contacts/c1",
        {"name": "Jane Roe", "phones": [JANE], "owner_user_id": "ann"},
    )
    sign_in(page, site, acme)
    page.goto(site.url + "/decisions/SM-0")

    page.get_by_role("link", name="Jane Roe").first.click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Jane Roe")
    expect(page.locator("p.lead")).to_contain_text("Owned by Ann Lee")
    entries = page.locator("ol.timeline > li")
    texts = entries.all_inner_texts()
    order = [
        "Added to smsledger as a contact",
        "Ann Lee texted them",
        "Bob Stone called them",
        "They texted",
        "Now owned by Ann Lee",
    ]
    found = [next(i for i, t in enumerate(texts) if step in t) for step in order]
    assert found == sorted(found), texts
    # Each message with the decision that routed it, in one entry.
    messages = [t for t in texts if "They texted" in t]
    assert len(messages) == 3
    assert all("Routed to Ann Lee, who sent the last text" in t for t in messages)

    # The evidence links to the note itself on the timeline.
    page.goto(site.url + "/decisions/SM-0")
    page.get_by_role("link", name="Ann Lee's text to Jane Roe").click()
    expect(page.locator("#note-i-ann")).to_contain_text("Does Tuesday work")


def test_a_new_account_adds_a_user_and_a_number_by_form(page: Page, site: Site):
    fresh = site.new_account("Fresh")
    sign_in(page, site, fresh)
    expect(page.locator("p.lead")).to_contain_text("No messages yet")
    expect(page.locator("ol.checklist")).to_contain_text("Add your team")
    assert_accessible(page)

    page.get_by_role("link", name="Team", exact=True).click()
    expect(page.locator("p.lead")).to_contain_text("No team members yet")
    page.get_by_label("Name").fill("Ann Lee")
    page.get_by_label("Email").fill("ann@fresh.test")
    page.get_by_label("User ID").fill("ann")
    page.get_by_role("button", name="Add to the team").click()
    expect(page.get_by_role("status")).to_have_text("Ann Lee was added to the team.")
    expect(page.locator("table.list tbody tr")).to_have_count(1)

    # The same ID again is refused, saying why, and nothing changes.
    page.get_by_label("Name").fill("Someone Else")
    page.get_by_label("Email").fill("else@fresh.test")
    page.get_by_label("User ID").fill("ann")
    page.get_by_role("button", name="Add to the team").click()
    expect(page.locator("#u-user_id-error")).to_contain_text("already on the team")
    assert fresh.ok("GET", "/v1/users/ann")["email"] == "ann@fresh.test"
    assert_accessible(page)

    page.get_by_role("button", name="Deactivate Ann Lee").click()
    expect(page.get_by_role("status")).to_contain_text("Ann Lee is inactive")
    assert fresh.ok("GET", "/v1/users/ann")["active"] is False

    page.get_by_role("link", name="Numbers", exact=True).click()
    number = new_number()
    page.get_by_label("Number", exact=True).fill(
        number.replace("+1", "(").replace("555", ") 555-", 1)
    )
    page.get_by_label("Backup email").fill("desk@fresh.test")
    page.get_by_label("Label").fill("Front desk")
    page.get_by_role("button", name="Set up the number").click()
    shown = f"+1 415-555-{number[-4:]}"
    expect(page.get_by_role("status")).to_contain_text(f"{shown} is set up")
    expect(page.locator("table.list")).to_contain_text("desk@fresh.test")
    assert_accessible(page)

    decision = inbound(fresh, JANE, "hello?", "SM-f1", "2026-11-22T10:00:00Z",
                       to=number)  # fmt: skip
    assert decision["status"] == "routed"
    assert decision["rule"] == "unknown_sender"
    assert decision["recipient"]["email"] == "desk@fresh.test"

    # Releasing asks first; dismissed, nothing is released.
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name=f"Release {shown}").click()
    page.wait_for_load_state("networkidle")
    expect(page.get_by_role("status")).to_contain_text("is set up")
    assert fresh.ok("GET", f"/v1/inbound-numbers/{number}")["number"] == number
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=f"Release {shown}").click()
    expect(page.get_by_role("status")).to_contain_text("was released")
    held = inbound(fresh, JANE, "still?", "SM-f2", "2026-11-22T11:00:00Z",
                   to=number)  # fmt: skip
    assert held["status"] == "held"


def test_signing_out_ends_the_session(page: Page, site: Site):
    acme = site.new_account("Acme")
    sign_in(page, site, acme)

    page.get_by_role("button", name="Sign out").click()

    expect(page).to_have_url(re.compile(r"/sign-in$"))
    page.goto(site.url + "/decisions")
    expect(page).to_have_url(re.compile(r"/sign-in\?next=%2Fdecisions$"))
    expect(page.get_by_label("API key")).to_be_visible()


def test_a_wrong_key_is_refused_and_signs_nobody_in(page: Page, site: Site):
    page.goto(site.url + "/sign-in")
    page.get_by_label("API key").fill("sl_not-a-key")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("alert")).to_contain_text("not valid")
    page.goto(site.url + "/decisions")
    expect(page).to_have_url(re.compile(r"/sign-in"))


def test_the_console_works_with_the_keyboard_alone(page: Page, site: Site):
    acme = site.new_account("Acme")
    jane_case(acme)
    page.goto(site.url + "/sign-in")

    focus_on(page, "input#api_key")
    page.keyboard.type(acme.api_key)
    page.keyboard.press("Enter")
    page.wait_for_url("**/decisions")
    focus_on(page, "table.list a")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Message from")
    focus_on(page, "button:has-text('Replay')")
    page.keyboard.press("Enter")

    expect(page.get_by_role("status")).to_contain_text("Consistent.")


def focus_on(page: Page, selector: str, presses: int = 40) -> None:
    """Tab until `selector` has the focus, as a keyboard user would."""
    target = page.locator(selector).first
    for _ in range(presses):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"{selector} never got the focus by Tab")


PAGES = [
    "/sign-in",
    "/decisions",
    "/decisions?rule=previous_sms&sender=%2B14155550111",
    "/decisions/SM-0",
    "/decisions/SM-0/replay",
    "/decisions/SM-9",
    "/what-if",
    "/what-if?policy=most_recent_interaction",
    "/contacts",
    "/contacts?q=jan",
    "/contacts/c1",
    "/users",
    "/numbers",
    "/operations",
    "/decisions?delivery=failed",
    "/decisions/no-such-message",
]


def test_every_page_is_accessible_and_fits_a_phone(page: Page, site: Site):
    acme = site.new_account("Acme")
    jane_case(acme)
    page.goto(site.url + "/sign-in")
    assert_accessible(page)
    sign_in(page, site, acme)
    for path in PAGES[1:]:
        page.set_viewport_size(DESKTOP)
        page.goto(site.url + path)
        assert_accessible(page)
        page.set_viewport_size(PHONE)
        assert_fits(page)


def test_api_docs_render_from_the_app_s_own_assets(browser: Browser, site: Site):
    """Nothing comes from elsewhere (the pages' own policy blocks what their
    bundles would fetch, such as ReDoc's maker's logo), and they render."""
    context = browser.new_context()  # not bypassing the pages' policy
    page = context.new_page()
    fetched: list[str] = []
    page.on("requestfinished", lambda request: fetched.append(request.url))

    page.goto(site.url + "/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("smsledger")
    page.goto(site.url + "/redoc")
    expect(page.locator("h1").first).to_contain_text("smsledger")
    context.close()

    assert fetched
    # blob: is the search worker ReDoc makes from its own script.
    own = (site.url, f"blob:{site.url}")
    assert [url for url in fetched if not url.startswith(own)] == []
