from pathlib import Path
from urllib.parse import urlsplit

import psycopg


def test_database_url_is_clean_and_empty(database_url: str) -> None:
    parts = urlsplit(database_url)
    if parts.scheme == "sqlite":
        db_file = Path(parts.path)  # sqlite:////abs/path -> /abs/path
        assert db_file.parent.is_dir()
        assert not db_file.exists()
        return

    assert parts.scheme == "postgresql"
    with psycopg.connect(database_url) as conn:
        name = conn.execute("SELECT current_database()").fetchone()
        tables = conn.execute(
            "SELECT count(*) FROM information_schema.tables"
            " WHERE table_schema = 'public'"
        ).fetchone()
    assert name == (parts.path.removeprefix("/"),)
    assert tables == (0,)
