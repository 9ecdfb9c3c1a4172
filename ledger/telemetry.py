"""What the ledger tells its operators: a log line per decision, and the counts
and sizes behind /metrics that only a process can see as they happen.

Gauges of state (the mail queue, held messages, lag) are read from the
database when scraped instead (`api/metrics.py`): the database is their one
honest source, whichever process changed them.

With PROMETHEUS_MULTIPROC_DIR set before this module is first imported, each
process writes its counts to files there and any worker's /metrics adds them
up; `scripts/serve` sets it up.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from prometheus_client import Counter, Histogram

log = logging.getLogger("smsledger.decisions")

DECISIONS = Counter(
    "smsledger_decisions",
    "Inbound SMS decided, by rule and status (routed or held).",
    ["rule", "status"],
)
COMMIT_BATCH = Histogram(
    "smsledger_commit_batch_commands",
    "Commands appended per group-commit transaction.",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 500),
)
MAIL_TRIES = Counter(
    "smsledger_mail_tries",
    "Tries to send a decision's mail, by outcome"
    " (sent, transient: tried again later, permanent: refused with 5xx).",
    ["outcome"],
)
MAIL_TRIES_PER_MAIL = Histogram(
    "smsledger_mail_tries_per_mail",
    "Tries a mail took, counted once it is sent or has failed for good.",
    ["outcome"],
    buckets=(1, 2, 3, 5, 8, 13, 21),
)

REPLY_TRIES = Counter(
    "smsledger_reply_tries",
    "Tries to send a reply through Twilio, by outcome"
    " (sent, transient: tried again later, permanent: refused with 4xx).",
    ["outcome"],
)
HANDOFFS = Counter("smsledger_handoffs", "Messages handed from one user to another.")


def decided(document: dict[str, Any]) -> None:
    """Count a new decision and log it: who got it and why, never what the
    SMS said or who sent it."""
    DECISIONS.labels(document["rule"], document["status"]).inc()
    fields = {
        "message_id": document["message_id"],
        "account_id": document["account_id"],
        "status": document["status"],
        "rule": document["rule"],
        "recipient": recipient(document.get("recipient")),
        "position": document.get("position"),
    }
    log.info(
        "decision %s",
        " ".join(f"{k}={v}" for k, v in fields.items()),
        extra={"fields": fields},
    )


def recipient(to: dict[str, Any] | None) -> str | None:
    """A user by their id; an address only by a hash, which can be matched
    against a known address but not read."""
    if not to:
        return None
    if to.get("user_id"):
        return f"user:{to['user_id']}"
    digest = hashlib.sha256(str(to["email"]).lower().encode()).hexdigest()
    return f"email-sha256:{digest[:16]}"
