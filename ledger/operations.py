"""The ledger's audit verbs (replay, what-if) and its operations (status,
rebuild, readiness)."""

from __future__ import annotations

from typing import Any

from smsledger.domain.accounts import (
    POLICIES,
    check_policy,
)
from smsledger.domain.errors import InvalidInput
from smsledger.ledger import audit
from smsledger.ledger.base import (
    AccountContext,
    log,
)
from smsledger.ledger.directory import DirectoryCommands
from smsledger.ledger.storage import UNAVAILABLE
from smsledger.projections.gauges import Gauges, ViewGauges
from smsledger.projections.rebuild import Progress, Rebuilder, RebuildReport


class Operations(DirectoryCommands):
    def gauges(self) -> Gauges:
        """The mail queue, held messages, head and builds, for /metrics."""
        return ViewGauges(self.view).read()

    def replay_decision(self, ctx: AccountContext, message_id: str) -> dict[str, Any]:
        """Recompute a recorded decision from the ledger as it stood then."""
        recorded = self.get_decision(ctx, message_id)
        replayed = {**recorded, **audit.replay(self, recorded)}
        return {
            "consistent": audit.decided(recorded) == audit.decided(replayed),
            "recorded": recorded,
            "replayed": replayed,
        }

    def what_if(
        self, ctx: AccountContext, policy: str, since: int = 0
    ) -> audit.WhatIfReport:
        """Which of the account's decisions `policy` would have sent elsewhere."""
        if policy not in POLICIES:
            raise InvalidInput("policy", f"must be one of {', '.join(POLICIES)}")
        return audit.account_what_if(self, check_policy(policy), ctx.account_id, since)

    def projection_status(self) -> list[str]:
        """One line per view: its version, position, the ledger head and the lag."""
        head = self.head()
        lines = []
        with self.view.datastore.transaction(commit=False) as curs:
            live = self.view.live_version(curs)
            builds = self.view.builds(curs)
        lines.append(
            f"routing v{live}: live at position {head}, folded with each append; "
            f"head {head}, lag 0"
        )
        for version, position in builds:
            if version > live:
                lines.append(
                    f"routing v{version}: building at {position}; "
                    f"head {head}, lag {head - position}"
                )
        return lines

    def rebuild_views(
        self, progress: Progress | None = None, page_size: int = 5000
    ) -> RebuildReport:
        """Rebuild the routing view from the ledger and switch routing to it."""
        return Rebuilder(self.backend, self.mapper, page_size).rebuild(progress)

    def readiness(self) -> list[str]:
        """What keeps the service from routing; empty when it is ready."""
        try:
            return self.view.readiness()
        except UNAVAILABLE:  # logged once, where the outage is noticed
            return ["the database does not answer"]
        except Exception:  # whatever the failure, the database did not answer
            log.exception("readiness check failed")
            return ["the database does not answer"]
