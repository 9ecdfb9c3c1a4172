"""The server killed with SIGKILL mid-burst: every write it acknowledged is
there after the restart, and retrying every write with its id adds none twice."""

from __future__ import annotations

import threading
from collections.abc import Callable

from tests.faults.conftest import ADMIN_TOKEN
from tests.faults.harness import Served, Tenant

CLIENTS = 6
KILL_AFTER = 120  # acknowledged writes


def test_kill_9_mid_burst_loses_no_acknowledged_write(
    database_url: str, serve: Callable[[dict[str, str]], Served]
) -> None:
    served = serve({"DATABASE_URL": database_url})
    tenant = Tenant(served.base, ADMIN_TOKEN)
    lock = threading.Lock()
    acknowledged: dict[str, int] = {}  # id -> the position answered
    sent: list[str] = []
    unexpected: list[object] = []
    enough = threading.Event()

    def client(n: int) -> None:
        for i in range(10_000):
            kind, key = ("note", f"i-{n}-{i}") if i % 2 else ("inbound", f"SM-{n}-{i}")
            with lock:
                sent.append(key)
            answer = tenant.note(key) if kind == "note" else tenant.inbound(key)
            if answer.status == 0:  # the server is gone
                return
            if answer.status != 201:
                unexpected.append((key, answer))
                return
            with lock:
                acknowledged[key] = answer.body["position"]
                if len(acknowledged) >= KILL_AFTER:
                    enough.set()

    clients = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in clients:
        thread.start()
    assert enough.wait(120), "the burst never got going"
    served.kill()
    for thread in clients:
        thread.join()
    served.restart()
    assert not unexpected

    # Every acknowledged write is there, as answered; retries answer it, not
    # a copy. A write sent but never answered is recorded now, or was before.
    for key in sent:
        retried = tenant.note(key) if key.startswith("i-") else tenant.inbound(key)
        if key in acknowledged:
            assert retried.status == 200, (key, retried)
            assert retried.body["position"] == acknowledged[key]
        else:
            assert retried.status in (200, 201), (key, retried)
    notes, decisions = tenant.notes(), tenant.decisions()
    assert sorted(notes) == sorted(k for k in sent if k.startswith("i-"))
    assert sorted(decisions) == sorted(k for k in sent if k.startswith("SM-"))
    print(
        f"\n{len(acknowledged)} acknowledged, {len(sent)} sent before the kill;"
        " all there after the restart, none twice"
    )
