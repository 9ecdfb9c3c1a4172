"""The service's one secret key: from SECRET_KEY, else made once and kept in a file.

It signs web sessions and sign-in links and encrypts stored provider secrets, so
every process of one deployment must use the same key: set SECRET_KEY, or let
them share the file under `./var/`.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

DEFAULT_SECRET_KEY_FILE = "var/secret_key"


def load_secret_key(
    given: str | None, path: str | Path = DEFAULT_SECRET_KEY_FILE, create: bool = True
) -> str:
    """`given` if set; else the key kept at `path`, made there on first use
    (unless `create` is false: then a missing file is FileNotFoundError)."""
    if given:
        return given
    path = Path(path)
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        if not create:
            raise
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    try:
        # O_EXCL: of two processes starting at once, one writes and both read it.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as file:
        file.write(key + "\n")
    return key
