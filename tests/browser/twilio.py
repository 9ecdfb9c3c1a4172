"""A stand-in for Twilio's Messages API on loopback, for the browser tests'
server: it checks each request as Twilio would (path, basic auth, form
fields) and keeps the ones it accepted."""

from __future__ import annotations

import base64
import json
import secrets
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

AUTH_TOKEN = "twilio-stand-in-token"
PATH = "/2010-04-01/Accounts/{sid}/Messages.json"


@dataclass(frozen=True)
class Sent:
    account_sid: str
    form: dict[str, str]


class TwilioStandIn:
    def __init__(self) -> None:
        self.accepted: list[Sent] = []
        self.sids: set[str] = set()
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def new_account_sid(self) -> str:
        sid = "AC" + secrets.token_hex(16)
        with self.lock:
            self.sids.add(sid)
        return sid

    def requests_for(self, sid: str) -> list[Sent]:
        with self.lock:
            return [s for s in self.accepted if s.account_sid == sid]

    def __enter__(self) -> TwilioStandIn:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _handler(standin: TwilioStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            parts = self.path.split("/")
            sid = parts[3] if len(parts) == 5 else ""
            if self.path != PATH.format(sid=sid) or sid not in standin.sids:
                return self._answer(404, {"code": 20404, "message": "Not found"})
            expected = base64.b64encode(f"{sid}:{AUTH_TOKEN}".encode()).decode()
            if self.headers.get("Authorization") != f"Basic {expected}":
                return self._answer(401, {"code": 20003, "message": "Authenticate"})
            length = int(self.headers.get("Content-Length") or 0)
            fields = parse_qs(self.rfile.read(length).decode(), keep_blank_values=True)
            form = {k: v[-1] for k, v in fields.items()}
            if not self.headers.get("Content-Type", "").startswith(
                "application/x-www-form-urlencoded"
            ) or not all(form.get(k) for k in ("To", "From", "Body")):
                return self._answer(
                    400, {"code": 21604, "message": "A 'To' phone number is required."}
                )
            with standin.lock:
                standin.accepted.append(Sent(sid, form))
            message_sid = "SM" + secrets.token_hex(16)
            return self._answer(201, {"sid": message_sid, "status": "queued", **form})

        def _answer(self, status: int, body: dict[str, object]) -> None:
            data = json.dumps({"status": status, **body}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_: object) -> None:
            pass

    return Handler
