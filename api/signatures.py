"""Twilio's request signatures, as its documentation defines them.

Written out here rather than taken from Twilio's SDK, so that the service does
not need the SDK; the tests check it against the SDK's own validator.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import urlsplit, urlunsplit

from starlette.datastructures import ImmutableMultiDict

Form = ImmutableMultiDict[str, str]


def signature(token: str, url: str, fields: Form) -> str:
    """Twilio's `X-Twilio-Signature`: HMAC-SHA1 of the URL and the sorted fields."""
    signed = url + "".join(
        name + value
        for name in sorted(set(fields.keys()))
        for value in sorted(set(fields.getlist(name)))
    )
    mac = hmac.new(token.encode(), signed.encode(), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()


def url_spellings(url: str) -> set[str]:
    """Twilio may sign the URL with or without its port; both are accepted."""
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:  # a Host header with a nonsense port
        return {url}
    host = parts.netloc.rsplit(":", 1)[0] if parts.port else parts.netloc
    return {
        urlunsplit(parts._replace(netloc=host)),
        urlunsplit(parts._replace(netloc=f"{host}:{port}")),
    }


def signed_by(token: str, url: str, fields: Form, given: str) -> bool:
    return any(
        hmac.compare_digest(signature(token, spelling, fields).encode(), given.encode())
        for spelling in url_spellings(url)
    )
