"""Turn a DATABASE_URL into the event store's settings."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from domain.errors import InvalidInput

DEFAULT_DATABASE_URL = "sqlite:///var/smsledger.db"


def persistence_env(database_url: str) -> dict[str, str]:
    url = urlsplit(database_url)
    if url.scheme == "sqlite":
        path = unquote(url.path.removeprefix("/"))
        if not path:
            raise InvalidInput("DATABASE_URL", "an SQLite URL needs a file path")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return {
            "PERSISTENCE_MODULE": "projections.sqlite:Factory",
            "SQLITE_DBNAME": path,
            "SQLITE_LOCK_TIMEOUT": "30",
        }
    if url.scheme in ("postgresql", "postgres"):
        query = parse_qs(url.query)
        # A unix socket directory may come as ?host=/path, as libpq allows.
        host = query.get("host", [url.hostname or "127.0.0.1"])[0]
        return {
            "PERSISTENCE_MODULE": "projections.postgres:Factory",
            "POSTGRES_DBNAME": unquote(url.path.removeprefix("/")) or "postgres",
            "POSTGRES_HOST": host,
            "POSTGRES_PORT": str(url.port or 5432),
            "POSTGRES_USER": unquote(url.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(url.password or ""),
            "POSTGRES_POOL_SIZE": query.get("pool_size", ["10"])[0],
            "POSTGRES_MAX_OVERFLOW": "10",
        }
    raise InvalidInput("DATABASE_URL", "must start with sqlite:/// or postgresql://")
