"""Serve the API with uvicorn: `smsledger serve`, `scripts/serve`, or
`python -m smsledger.api`."""

from __future__ import annotations

import asyncio
import atexit
import logging
import logging.config
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn.supervisors.multiprocess import Multiprocess

from smsledger.api.delivery_process import DeliveryProcess
from smsledger.api.logs import log_config
from smsledger.api.settings import Settings
from smsledger.domain.errors import InvalidInput
from smsledger.ledger.storage import Unreachable, check_reachable, where_data_lives

log = logging.getLogger("smsledger")

# How long the workers may take to start serving before the log says so.
WORKERS_READY_SECONDS = 60


def first_account_hint(settings: Settings) -> str:
    if settings.admin_token is None:
        return (
            "ADMIN_TOKEN is not set, so no account can be created; "
            "restart with ADMIN_TOKEN=<a long random secret> to enable it"
        )
    return (
        f"create a first account: curl -X POST "
        f"http://{settings.host}:{settings.port}/v1/accounts "
        '-H "Authorization: Bearer $ADMIN_TOKEN" '
        "-H 'Content-Type: application/json' -d '{\"name\": \"My team\"}'"
    )


def announce(settings: Settings) -> None:
    """Said once every worker serves, never before."""
    log.info(
        "listening on http://%s:%s with %d worker%s; docs at /docs",
        settings.host,
        settings.port,
        settings.workers,
        "" if settings.workers == 1 else "s",
    )
    log.info("%s", first_account_hint(settings))


class Server(uvicorn.Server):
    """One process: announced once its socket is bound and its app started;
    its delivery process stopped once it has stopped serving."""

    def __init__(
        self,
        config: uvicorn.Config,
        settings: Settings,
        delivery: DeliveryProcess | None = None,
    ) -> None:
        super().__init__(config)
        self.settings = settings
        self.delivery = delivery

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets)
        if self.started:
            announce(self.settings)

    async def shutdown(self, sockets: Any = None) -> None:
        await super().shutdown(sockets)
        # Here, not after `run`: uvicorn raises the signal that stopped it
        # again once `run` is done, which ends this process there and then.
        if self.delivery is not None:
            await asyncio.to_thread(self.delivery.stop)


class Workers(Multiprocess):
    """Several processes on one socket: announced once each one serves.
    (The delivery process is stopped after `run`: no signal is raised again.)"""

    def __init__(self, config: uvicorn.Config, settings: Settings) -> None:
        super().__init__(config, sockets=[config.bind_socket()])
        self.settings = settings

    def init_processes(self) -> None:
        super().init_processes()
        if all(
            process.wait_until_ready(WORKERS_READY_SECONDS, self.should_exit)
            for process in self.processes
        ):
            announce(self.settings)


def metrics_directory(settings: Settings) -> None:
    """Where the worker processes keep their counts for /metrics to add up.

    PROMETHEUS_MULTIPROC_DIR if the operator gives one (emptied: counts of a
    previous run would be added in), else a directory of this run's, removed
    at exit. Set before any worker imports the metrics, as it must be."""
    given = settings.prometheus_multiproc_dir
    if given:
        directory = Path(given)
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True, exist_ok=True)
        return
    made = tempfile.mkdtemp(prefix="smsledger-metrics-")
    # In the environment, not only the settings: the workers' Settings and
    # prometheus_client itself read it there.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = made
    atexit.register(shutil.rmtree, made, ignore_errors=True)


def serve(settings: Settings) -> int:
    """Serve until stopped; the exit code. Each worker process builds its own
    app from the environment, so `settings` must be what the environment says."""
    logging.config.dictConfig(log_config(settings.log_format))
    try:
        log.info("data: %s", where_data_lives(settings.database_url))
        check_reachable(settings.database_url)
    except (InvalidInput, OSError, Unreachable) as error:
        print(f"smsledger: {error}", file=sys.stderr)
        return 1
    if settings.metrics:
        metrics_directory(settings)
    config = uvicorn.Config(
        "smsledger.api.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        access_log=settings.access_log,
        log_config=log_config(settings.log_format),
    )
    # Started after the metrics directory is in the environment: its counts
    # go there too, for /metrics to add up.
    delivery = DeliveryProcess() if settings.delivery_worker else None
    if delivery is not None:
        delivery.start()
    try:
        if settings.workers > 1:
            Workers(config, settings).run()
            return 0
        server = Server(config, settings, delivery)
        server.run()
        return 0 if server.started else 1
    finally:
        # When no server started, or there were several; a second stop is
        # nothing.
        if delivery is not None:
            delivery.stop()


if __name__ == "__main__":
    sys.exit(serve(Settings()))
