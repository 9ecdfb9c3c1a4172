"""Replies through Twilio's Messages API, over plain HTTP.

The base URL is TWILIO_API_URL (Twilio's own unless set), so that tests can
point it at a stand-in on loopback. The `twilio` package's client has no
setting for its base URL, so this speaks the one request it needs itself:
`POST /2010-04-01/Accounts/{sid}/Messages.json`, basic auth `sid:token`,
form fields `From`, `To`, `Body`; Twilio answers 201 with the message's `sid`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from smsledger.ledger.mail import PermanentFailure, TransientFailure

DEFAULT_TWILIO_API_URL = "https://api.twilio.com"


class TwilioSender:
    """Sends one SMS per call through Twilio's REST API."""

    def __init__(self, base_url: str = DEFAULT_TWILIO_API_URL, timeout: float = 15.0):
        self.base_url = base_url.rstrip("/")
        self.client = httpx.Client(timeout=timeout)

    def send(self, sid: str, token: str, sender: str, to: str, body: str) -> str:
        """Send `body` from `sender` to `to`; Twilio's id for the message.

        Raises PermanentFailure when Twilio refuses the request (4xx but 429),
        with Twilio's own message; TransientFailure when it could not be asked
        or was away (no answer, 429, 5xx).
        """
        url = f"{self.base_url}/2010-04-01/Accounts/{quote(sid, safe='')}/Messages.json"
        try:
            response = self.client.post(
                url, auth=(sid, token), data={"From": sender, "To": to, "Body": body}
            )
        except httpx.HTTPError as error:
            raise TransientFailure(f"{type(error).__name__}: {error}") from error
        status = response.status_code
        if 200 <= status < 300:
            provider_id = _json(response).get("sid")
            if not isinstance(provider_id, str):
                raise TransientFailure(f"Twilio answered {status} without a sid")
            return provider_id
        message = _message(response)
        if status == 429 or status >= 500:
            raise TransientFailure(message)
        raise PermanentFailure(message)

    def close(self) -> None:
        self.client.close()


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        value = response.json()
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _message(response: httpx.Response) -> str:
    """Twilio's error as it says it: its message, then its code."""
    error = _json(response)
    text = error.get("message") or response.text[:200] or response.reason_phrase
    code = error.get("code")
    where = (
        f"Twilio error {code}, HTTP {response.status_code}"
        if code
        else (f"HTTP {response.status_code}")
    )
    return f"{text} ({where})"
