"""An SMTP server that accepts every mail at once and keeps none, for the
benchmark: the server under test delivers as it does by default, and the
mail server costs it nothing beyond the SMTP session.

    python scripts/smtp_sink.py --port N

Prints `listening on PORT` once it accepts connections; on SIGTERM or
SIGINT, prints `accepted N` (mails) and exits.
"""

from __future__ import annotations

import argparse
import signal
import threading
from typing import Any

from aiosmtpd.controller import Controller


class Sink:
    """Counts each mail, answers 250 and drops it."""

    def __init__(self) -> None:
        self.accepted = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.accepted += 1
        return "250 OK"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=args.port)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"listening on {controller.port}", flush=True)
    stop.wait()
    controller.stop()
    print(f"accepted {sink.accepted}", flush=True)


if __name__ == "__main__":
    main()
