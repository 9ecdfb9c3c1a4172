"""`smsledger serve`'s delivery: `smsledger deliver --supervised` as a child
process of the server, kept running for as long as the server runs.

Delivery used to be a thread in each API worker, where building and sending
mails competed with request handling for the GIL and doubled the server's
CPU per routed message. A process of its own, at a lower priority, leaves the
workers to the requests. It is restarted, with backoff, whenever it dies, and
it dies with the server: stopped with SIGTERM when the server stops, and sent
SIGTERM by the kernel if the server is killed (PR_SET_PDEATHSIG, Linux).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable

log = logging.getLogger("smsledger.delivery")

COMMAND = [sys.executable, "-m", "smsledger.ledger.cli", "deliver", "--supervised"]
# Below the API workers: a burst of mail waits for the requests, not the
# other way round.
NICENESS = 10
FIRST_RESTART = 1.0
LAST_RESTART = 30.0
# A process that ran this long was well: the next restart is quick again.
STEADY_SECONDS = 60.0
# The mail in hand is finished (an SMTP timeout is 30 s) before it stops.
STOP_GRACE = 35.0
PR_SET_PDEATHSIG = 1


def _death_signal() -> Callable[[], None]:
    """What the forked child runs before `exec`: lower its priority, and ask
    the kernel for SIGTERM when the server's thread that started it ends."""
    parent = os.getpid()
    libc_name = ctypes.util.find_library("c") if sys.platform == "linux" else None
    # Looked up before the fork: the child should do as little as it can.
    prctl = ctypes.CDLL(libc_name, use_errno=True).prctl if libc_name else None

    def in_child() -> None:
        os.nice(NICENESS)
        if prctl is not None:
            prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the server died before the line above
            os._exit(1)

    return in_child


class DeliveryProcess:
    """Starts the delivery process, restarts it when it dies, stops it."""

    def __init__(
        self,
        command: list[str] | None = None,
        *,
        first_restart: float = FIRST_RESTART,
        last_restart: float = LAST_RESTART,
        grace: float = STOP_GRACE,
    ) -> None:
        self.command = command or COMMAND
        self.first_restart = first_restart
        self.last_restart = last_restart
        self.grace = grace
        self.process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(
            target=self._supervise, name="smsledger-delivery-supervisor", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """SIGTERM, and SIGKILL if it has not stopped within the grace."""
        with self._lock:
            self._stopping.set()
            process = self.process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(self.grace)
            except subprocess.TimeoutExpired:
                log.warning("delivery process %d killed: not stopped in %.0f s",
                            process.pid, self.grace)  # fmt: skip
                process.kill()
                process.wait()
        if self._thread.ident is not None:
            self._thread.join()

    def _supervise(self) -> None:
        delay = self.first_restart
        # PR_SET_PDEATHSIG follows this thread, which lives as long as the
        # process it started.
        in_child = _death_signal()
        while True:
            with self._lock:
                if self._stopping.is_set():
                    return
                process = self.process = subprocess.Popen(
                    self.command, preexec_fn=in_child
                )
            started = time.monotonic()
            log.info("delivery process %d started", process.pid)
            code = process.wait()
            if self._stopping.is_set():
                return
            if time.monotonic() - started > STEADY_SECONDS:
                delay = self.first_restart
            log.warning("delivery process %d exited (%d); started again in %g s",
                        process.pid, code, delay)  # fmt: skip
            if self._stopping.wait(delay):
                return
            delay = min(self.last_restart, delay * 2)
