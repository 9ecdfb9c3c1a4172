"""A stand-in for Twilio's Messages API on loopback, checking each request as
Twilio would: its path, its basic auth, its form fields."""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

SID = "AC" + "0" * 32
TOKEN = "twilio-token-for-tests"


class TwilioStandIn:
    """Accepts a message with 201 and a new sid, or answers `refusal`."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.received: list[dict[str, str]] = []
        self.refusal: tuple[int, dict[str, Any]] | None = None
        self.server: ThreadingHTTPServer | None = None
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                form = parse_qs(self.rfile.read(length).decode())
                status, body = standin.answer(self.path, self.headers, form)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def answer(
        self, path: str, headers: Any, form: dict[str, list[str]]
    ) -> tuple[int, dict[str, Any]]:
        if path != f"/2010-04-01/Accounts/{SID}/Messages.json":
            return 404, {
                "code": 20404,
                "message": "The requested resource was not found",
            }
        expected = base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
        if headers.get("Authorization") != f"Basic {expected}":
            return 401, {"code": 20003, "message": "Authenticate"}
        fields = {key: values[0] for key, values in form.items()}
        if set(fields) != {"From", "To", "Body"}:
            return 400, {"code": 21602, "message": "Message body is required."}
        if self.refusal is not None:
            return self.refusal
        with self.lock:
            self.received.append(fields)
            sid = f"SM{len(self.received):032d}"
        return 201, {"sid": sid, "status": "queued", **fields}
