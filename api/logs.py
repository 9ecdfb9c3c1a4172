"""The service's log: a timestamp, a level and the request's id on every line,
as text or as JSON lines (LOG_FORMAT=json)."""

from __future__ import annotations

import itertools
import json
import logging
import re
import time
import uuid
from contextvars import ContextVar
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
HEADER = b"x-request-id"
# A client's id is kept only if it cannot forge a line or swell the log.
_VALID_ID = re.compile(rb"[A-Za-z0-9._:@/+=-]{1,128}")


class RequestIds:
    """ASGI middleware: each request's id, from `X-Request-ID` or made here,
    set for everything logged while it is served and sent back with it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _given(scope["headers"]) or _made()
        header = (HEADER, request_id.encode())

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), header]}
            await send(message)

        token = REQUEST_ID.set(request_id)
        try:
            await self.app(scope, receive, sending)
        finally:
            REQUEST_ID.reset(token)


# Made ids: this process's random prefix and a count, unique across processes
# and machines as a random id is, at a fraction of uuid4's cost a request.
_PREFIX = uuid.uuid4().hex[:16]
_COUNT = itertools.count()


def _made() -> str:
    return f"{_PREFIX}{next(_COUNT):016x}"


def _given(headers: list[tuple[bytes, bytes]]) -> str | None:
    for name, value in headers:
        if name == HEADER:
            return value.decode("ascii") if _VALID_ID.fullmatch(value) else None
    return None


class RequestIdFilter(logging.Filter):
    """Gives every record the id of the request it was logged for, or `-`."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get() or "-"
        return True


def _timestamp(record: logging.LogRecord) -> str:
    """UTC, to the millisecond, as RFC 3339."""
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
    return f"{seconds}.{int(record.msecs):03d}Z"


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(
            "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
        )

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return _timestamp(record)


class JsonFormatter(logging.Formatter):
    """One JSON object a line; a record's `fields` (a decision's) go in as
    fields of their own."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def log_config(log_format: str) -> dict[str, Any]:
    """A `logging.config.dictConfig` for the server, uvicorn's loggers included:
    every worker process applies it as it starts."""
    formatter = JsonFormatter if log_format == "json" else TextFormatter
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": f"{__name__}.RequestIdFilter"}},
        "formatters": {"line": {"()": f"{__name__}.{formatter.__name__}"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "filters": ["request_id"],
                "formatter": "line",
            }
        },
        "root": {"level": "INFO", "handlers": ["stderr"]},
        "loggers": {
            name: {"level": "INFO", "handlers": [], "propagate": True}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }
