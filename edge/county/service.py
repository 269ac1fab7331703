"""`edge county`: the ingest and the API in one process, stopped cleanly by SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import Any

import uvicorn

from edge.api.server import EmbeddedServer
from edge.county.api import build_app
from edge.county.config import CountyConfig
from edge.county.ingest import Ingest
from edge.county.store import CountyStore
from edge.supervisor import Supervisor

log = logging.getLogger(__name__)


class CountyService:
    def __init__(self, cfg: CountyConfig) -> None:
        self.cfg = cfg
        self.store = CountyStore(cfg.database)
        self.ingest = Ingest(cfg.mqtt, self.store, cfg.batch)
        self.supervisor = Supervisor()
        self.health: dict[str, Any] = {}
        self.app = build_app(cfg, self.store, self.health)
        self._stop = asyncio.Event()

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop.set)
        server = EmbeddedServer(
            uvicorn.Config(
                self.app,
                host=self.cfg.api.host,
                port=self.cfg.api.port,
                log_level="warning",
                lifespan="off",
                ssl_certfile=str(self.cfg.api.tls_cert_file) if self.cfg.api.tls_cert_file else None,
                ssl_keyfile=str(self.cfg.api.tls_key_file) if self.cfg.api.tls_key_file else None,
            )
        )
        try:
            async with asyncio.TaskGroup() as tg:
                ingest = tg.create_task(self.supervisor.run("ingest", self.ingest.run))
                api = tg.create_task(server.run_embedded())
                health = tg.create_task(self._health())
                log.info(
                    "edge county: %s, schema v%s, listening on %s",
                    self.cfg.name,
                    self.store.version,
                    self.cfg.api.listen,
                )
                await self._stop.wait()
                server.should_exit = True
                ingest.cancel()
                health.cancel()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(3):
                        await asyncio.shield(api)
                api.cancel()
        finally:
            self.store.close()
        return 0

    async def _health(self) -> None:
        while True:
            self.health.update(ingest=self.ingest.status(), units=self.supervisor.status())
            await asyncio.sleep(1)
