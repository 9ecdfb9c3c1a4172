"""Serve the API with uvicorn: `scripts/serve`, or `python -m api`."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import uvicorn

from api.settings import Settings
from domain.errors import InvalidInput
from ledger.storage import persistence_env

log = logging.getLogger("smsledger")


def where_data_lives(database_url: str) -> str:
    env = persistence_env(database_url)
    if "SQLITE_DBNAME" in env:
        return f"SQLite file {Path(env['SQLITE_DBNAME']).resolve()}"
    # Never the password: this goes to the log.
    return (
        f"PostgreSQL database {env['POSTGRES_DBNAME']!r} on "
        f"{env['POSTGRES_HOST']}:{env['POSTGRES_PORT']} as {env['POSTGRES_USER']}"
    )


def first_account_hint(settings: Settings) -> str:
    if settings.admin_token is None:
        return (
            "ADMIN_TOKEN is not set, so no account can be created; "
            "restart with ADMIN_TOKEN=<a long random secret> to enable it"
        )
    return (
        f"create a first account: curl -X POST "
        f"http://{settings.host}:{settings.port}/v1/accounts "
        '-H "Authorization: Bearer $ADMIN_TOKEN" '
        "-H 'Content-Type: application/json' -d '{\"name\": \"My team\"}'"
    )


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="smsledger: %(message)s")
    settings = Settings()
    try:
        log.info("data: %s", where_data_lives(settings.database_url))
    except InvalidInput as error:
        sys.exit(f"smsledger: {error}")
    log.info(
        "listening on http://%s:%s with %d worker%s; docs at /docs",
        settings.host,
        settings.port,
        settings.workers,
        "" if settings.workers == 1 else "s",
    )
    log.info("%s", first_account_hint(settings))
    # Each worker process builds its own app from the same environment.
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        access_log=settings.access_log,
    )


if __name__ == "__main__":
    main()
