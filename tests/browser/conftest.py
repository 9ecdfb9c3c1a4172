"""The console in a real browser: Debian's Chromium driven by Playwright,
against `scripts/serve` run as a person runs it, once per database.

One browser and one server per database serve the whole session; each test
opens its own account on them, so tests share nothing but the process.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    ViewportSize,
    sync_playwright,
)

from tests.api.test_serve import free_port
from tests.browser.twilio import TwilioStandIn
from tests.conftest import new_postgres_database, small_pool

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
AXE = Path(__file__).parent / "axe" / "axe.min.js"
ADMIN_TOKEN = "browser-admin"
DEADLINE = 90  # seconds for the server to answer: a first run may install
DESKTOP = ViewportSize(width=1280, height=900)
PHONE = ViewportSize(width=375, height=740)
# Not UTC, so that a time shown in the browser's zone can be told apart.
TIME_ZONE = "America/New_York"


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists() and not shutil.which(CHROMIUM):
        pytest.fail(
            f"No Chromium at {CHROMIUM}: the browser tests need Debian's "
            "(apt-get install -y chromium; scripts/test installs it when it can).",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM)
        yield launched
        launched.close()


@dataclass
class Site:
    """A running server and what a test needs to reach it."""

    url: str
    database_url: str
    maildir: Path

    def admin(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            timeout=30,
        )

    def new_account(self, name: str, **settings: Any) -> Account:
        with self.admin() as client:
            response = client.post("/v1/accounts", json={"name": name, **settings})
        assert response.status_code == 201, response.text
        body = response.json()
        return Account(self, body["account_id"], body["api_key"])

    def execute(self, statement: str, params: tuple[Any, ...] = ()) -> list[Any]:
        """Run SQL on the server's database, as an operator at a prompt would."""
        if self.database_url.startswith("sqlite:///"):
            db = sqlite3.connect(self.database_url.removeprefix("sqlite:///"))
            try:
                with db:  # commits
                    return db.execute(statement.replace("%s", "?"), params).fetchall()
            finally:
                db.close()
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            cursor = conn.execute(statement, params)
            return cursor.fetchall() if cursor.description else []


@dataclass
class Account:
    site: Site
    account_id: str
    api_key: str

    def api(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.site.url,
            headers={"Authorization": f"Bearer {self.api_key}"},
            timeout=30,
        )

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        with self.api() as client:
            response = client.request(method, path, json=body)
        assert response.status_code < 300, response.text
        return response.json() if response.content else None


def start(database_url: str, workdir: Path, **extra_env: str) -> Iterator[Site]:
    """Run `scripts/serve` until the generator is closed."""
    port = free_port()
    log = workdir / "serve.log"
    maildir = workdir / "mail"
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        # The links in mails need it: the delivery worker has no request.
        "PUBLIC_BASE_URL": url,
        "DATABASE_URL": small_pool(database_url),
        "ADMIN_TOKEN": ADMIN_TOKEN,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "SECRET_KEY": "browser-tests-secret-key-0123456789",
        "MAILDIR": str(maildir),
        "ACCESS_LOG": "false",
        **extra_env,
    }
    for name in ("WORKERS", "WEB_CONCURRENCY", "SMTP_URL"):
        env.pop(name, None)
    with log.open("w") as out:
        process = subprocess.Popen(
            [ROOT / "scripts" / "serve"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + DEADLINE
        while True:
            if process.poll() is not None:
                pytest.fail(f"scripts/serve exited early:\n{log.read_text()}")
            try:
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"scripts/serve not healthy:\n{log.read_text()}")
            time.sleep(0.1)  # polling interval, not synchronisation
        yield Site(url, database_url, maildir)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="session")
def twilio() -> Iterator[TwilioStandIn]:
    """Twilio's Messages API, as the servers' replies reach it."""
    with TwilioStandIn() as standin:
        yield standin


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def site(request, tmp_path_factory, twilio: TwilioStandIn) -> Iterator[Site]:
    """`scripts/serve` on a database of its own, for the whole session."""
    workdir = tmp_path_factory.mktemp(f"site-{request.param}")
    env = {"TWILIO_API_URL": twilio.url}
    if request.param == "sqlite":
        yield from start(f"sqlite:///{workdir}/ledger.db", workdir, **env)
        return
    admin_url = request.getfixturevalue("postgres_admin_url")
    with new_postgres_database(admin_url) as url:
        yield from start(url, workdir, **env)


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    # bypass_csp: the page's policy allows only its own script; axe is ours.
    opened = browser.new_context(
        viewport=DESKTOP, timezone_id=TIME_ZONE, locale="en-US", bypass_csp=True
    )
    opened.set_default_timeout(10_000)
    yield opened
    opened.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def sign_in(page: Page, site: Site, account: Account) -> None:
    page.goto(site.url + "/")
    page.get_by_label("API key").fill(account.api_key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/decisions")


SERIOUS = ("serious", "critical")


def assert_accessible(page: Page) -> None:
    """axe-core finds no serious or critical violation on the page as shown."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document)")
    serious = [v for v in result["violations"] if v["impact"] in SERIOUS]
    assert not serious, json.dumps(
        [
            {
                "id": v["id"],
                "impact": v["impact"],
                "help": v["help"],
                "nodes": [n["html"][:200] for n in v["nodes"][:5]],
            }
            for v in serious
        ],
        indent=1,
    )


def assert_fits(page: Page, width: int = PHONE["width"]) -> None:
    """Nothing is wider than the screen: no sideways scrolling, nothing cut."""
    widest = page.evaluate("document.documentElement.scrollWidth")
    assert widest <= width, f"{page.url} is {widest}px wide at {width}px"
