"""The web console: pages for people, served by the app beside the API."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from smsledger.api.settings import Settings
from smsledger.api.web import (
    contacts,
    decisions,
    docs,
    inbox,
    inbox_stream,
    links,
    operations,
    signin,
    team,
    whatif,
)
from smsledger.api.web.sessions import Sessions


def install(app: FastAPI, settings: Settings) -> None:
    """Add the console's routes and assets to `app`, whose state has a ledger."""
    app.state.sessions = Sessions(settings.secret(), settings.public_base_url)
    for module in (
        signin,
        links,
        inbox_stream,  # before inbox: /inbox/alerts is not a message
        inbox,
        decisions,
        whatif,
        contacts,
        team,
        operations,
        docs,
    ):
        app.include_router(module.router)
    # The docs' assets first: a mount answers everything under its path.
    app.mount(
        "/static/docs",
        StaticFiles(packages=[("fastapi_offline", "static")]),
        name="docs-assets",
    )
    app.mount(
        "/static",
        StaticFiles(packages=[("smsledger.api.web", "static")]),
        name="static",
    )
