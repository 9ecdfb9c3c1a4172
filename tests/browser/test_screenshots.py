"""Screenshots of every page on a realistic month of texting, at a desktop's
width and a phone's: the console's, then the inbox as Ann Lee sees it (her
inbox, a text popping in, one conversation and the hand-off dialog). With
SCREENSHOTS_DIR set (scripts/screenshots sets it to docs/screenshots) they are
kept there; else in the test's own directory."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    TIME_ZONE,
    Account,
    Site,
    assert_fits,
    sign_in,
    start,
)
from tests.browser.realistic import SALES, build, phone

PAGES = [
    ("messages", "/decisions"),
    ("messages-filtered", "/decisions?rule=previous_call&delivery=sent"),
    ("message", "/decisions/{routed}"),
    ("message-replayed", "/decisions/{routed}/replay"),
    ("message-failed-mail", "/decisions/{failed}"),
    ("message-replay-differs", "/decisions/{altered}/replay"),
    ("what-if", "/what-if?policy=most_recent_interaction"),
    ("contacts", "/contacts"),
    ("contact", "/contacts/c100"),
    ("team", "/users"),
    ("numbers", "/numbers"),
    ("operations", "/operations"),
]


@pytest.fixture(scope="module")
def realistic_site(tmp_path_factory) -> Iterator[Site]:
    workdir = tmp_path_factory.mktemp("screenshots-site")
    # Mail outcomes are recorded by the history itself, not by a worker.
    yield from start(f"sqlite:///{workdir}/ledger.db", workdir, DELIVERY_WORKER="false")


def shoot(page: Page, name: str, out: Path, full_page: bool = True) -> Path:
    """The whole page; or what the screen shows, for what floats over it."""
    path = out / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def alter_by_hand(site: Site, account_id: str, items: list[dict[str, Any]]) -> str:
    """A decision whose view row someone changed: its replay shows it."""
    decision = next(d for d in items if d["rule"] == "previous_call")
    (version,) = site.execute(
        "SELECT version FROM smsledger_views WHERE name = 'routing'"
    )[0]
    changed = {**decision, "account_id": account_id, "rule": "contact_owner"}
    changed["recipient"] = {"email": "eve@acme.example", "user_id": "eve"}
    site.execute(
        f"UPDATE sl{version}_decisions SET document = %s"
        " WHERE account_id = %s AND message_id = %s",
        (json.dumps(changed), account_id, decision["message_id"]),
    )
    return str(decision["message_id"])


@pytest.fixture(scope="module")
def acme_sales(realistic_site: Site) -> tuple[Account, list[dict[str, Any]]]:
    """The month's account (its numbers are fixed: one per site) and its
    decisions, newest first."""
    acme = realistic_site.new_account("Acme Sales")
    build(acme, realistic_site.database_url)
    with acme.api() as api:
        items = api.get("/v1/routing-decisions", params={"limit": 200}).json()["items"]
    return acme, items


def screenshots_dir(tmp_path: Path) -> Path:
    out = Path(os.environ.get("SCREENSHOTS_DIR") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    return out


def test_screenshots_of_every_page(
    browser: Browser, realistic_site: Site, acme_sales, tmp_path
):
    site = realistic_site
    out = screenshots_dir(tmp_path)
    acme, items = acme_sales
    routed = next(d for d in items if d["rule"] == "previous_sms")["message_id"]
    failed = next(d for d in items if (d["delivery"] or {}).get("email") == "failed")[
        "message_id"
    ]
    altered = alter_by_hand(site, acme.account_id, items)
    fresh = site.new_account("New Team")
    taken = []
    for width, suffix in ((DESKTOP, ""), (PHONE, "-phone")):
        context = browser.new_context(
            viewport=width, timezone_id=TIME_ZONE, locale="en-US"
        )
        page = context.new_page()
        page.goto(site.url + "/sign-in")
        taken.append(shoot(page, "sign-in" + suffix, out))
        sign_in(page, site, fresh)
        taken.append(shoot(page, "messages-new-account" + suffix, out))
        page.get_by_role("button", name="Sign out").click()
        sign_in(page, site, acme)
        for name, path in PAGES:
            page.goto(
                site.url + path.format(routed=routed, failed=failed, altered=altered)
            )
            if width == PHONE:
                assert_fits(page)
            taken.append(shoot(page, name + suffix, out))
        context.close()

    assert len(taken) == 2 * (len(PAGES) + 2)
    for shot in taken:
        assert shot.stat().st_size > 5_000, shot


ANN = "ann"
POPS = {
    "": "Yes! Call me at 4, I'm at my desk until 6.",
    "-phone": "Just landed. Call me in 10?",
}


def ann_s_month(acme: Account, items: list[dict[str, Any]]) -> str:
    """Enhanced inbound and Twilio on; Bob hands Ann a text of his, which
    she answers: the conversation to show."""
    acme.ok(
        "PATCH",
        "/v1/account",
        {
            "enhanced_inbound": True,
            "twilio_account_sid": "AC" + "5" * 32,
            "twilio_auth_token": "screenshots",
        },
    )
    bob_s = next(d for d in items if (d["recipient"] or {}).get("user_id") == "bob")
    acme.ok(
        "POST",
        f"/v1/routing-decisions/{bob_s['message_id']}/handoffs",
        {
            "to_user_id": ANN,
            "by_user_id": "bob",
            "note": "Yours: I only covered for you last week",
        },
    )
    shown = bob_s["message_id"]
    acme.ok(
        "POST",
        f"/v1/routing-decisions/{shown}/replies",
        {"user_id": ANN, "body": "No problem, see you in a bit!"},
    )
    return str(shown)


def sign_in_as_ann(page: Page, acme: Account, base: str) -> None:
    link = acme.ok("POST", f"/v1/users/{ANN}/sign-in-links", {})["url"]
    page.goto(link)
    page.get_by_role("button", name="Open my inbox").click()
    page.wait_for_url(base + "/inbox")


def pop(page: Page, acme: Account, message_id: str, body: str) -> None:
    """Jane Roe, whom Ann has just texted, answers: it pops."""
    acme.ok(
        "POST",
        "/v1/interactions/sms",
        {
            "user_id": ANN,
            "contact_id": "c100",
            "to": phone(111),
            "from": SALES,
            "body": "Are you free for a call today?",
        },
    )
    acme.ok(
        "POST",
        "/v1/inbound-sms",
        {
            "from": phone(111),
            "to": SALES,
            "body": body,
            "message_id": message_id,
            "received_at": datetime.now(UTC).isoformat(),
        },
    )
    expect(page.locator(f".toast[data-message-id='{message_id}']")).to_be_visible()


def test_screenshots_of_the_inbox(
    browser: Browser, realistic_site, acme_sales, tmp_path
):
    site = realistic_site
    out = screenshots_dir(tmp_path)
    acme, items = acme_sales
    shown = ann_s_month(acme, items)
    older = [
        d["message_id"] for d in items if (d["recipient"] or {}).get("user_id") == ANN
    ][3:]
    taken: list[Path] = []
    for width, suffix in ((DESKTOP, ""), (PHONE, "-phone")):
        context = browser.new_context(
            viewport=width, timezone_id=TIME_ZONE, locale="en-US"
        )
        page = context.new_page()
        sign_in_as_ann(page, acme, site.url)
        for message_id in older:  # read long ago: only the newest are unread
            page.goto(f"{site.url}/inbox/{message_id}")
        page.goto(site.url + "/inbox")
        taken.append(shoot(page, "inbox" + suffix, out))
        pop(page, acme, f"SM-pop{suffix}", POPS[suffix])
        taken.append(shoot(page, "inbox-pop" + suffix, out, full_page=False))
        page.goto(f"{site.url}/inbox/{shown}")
        if width == PHONE:
            assert_fits(page)
        taken.append(shoot(page, "conversation" + suffix, out))
        page.get_by_role("link", name="Not mine: hand off").click()
        page.get_by_label("Find a colleague").fill("d")
        expect(page.get_by_role("dialog")).to_be_visible()
        taken.append(shoot(page, "hand-off" + suffix, out, full_page=False))
        context.close()

    assert len(taken) == 8
    for shot in taken:
        assert shot.stat().st_size > 5_000, shot
