"""Screenshots of every page on a realistic month of texting, at a desktop's
width and a phone's. With SCREENSHOTS_DIR set (scripts/screenshots sets it to
docs/screenshots) they are kept there; else in the test's own directory."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    TIME_ZONE,
    Site,
    assert_fits,
    sign_in,
    start,
)
from tests.browser.realistic import build

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


def shoot(page: Page, name: str, out: Path) -> Path:
    path = out / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
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


def test_screenshots_of_every_page(browser: Browser, realistic_site: Site, tmp_path):
    site = realistic_site
    out = Path(os.environ.get("SCREENSHOTS_DIR") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    acme = site.new_account("Acme Sales")
    build(acme, site.database_url)
    with acme.api() as api:
        items = api.get("/v1/routing-decisions", params={"limit": 200}).json()["items"]
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
