"""`edge county`: the ingest and the API in one process, stopped cleanly by SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from typing import Any

import uvicorn

from edge.api.server import EmbeddedServer
from edge.api.sessions import TOUCH_EVERY_MS, SessionStore
from edge.api.tokens import TokenStore
from edge.config import read_secret
from edge.county.api import build_app
from edge.county.auth import CountyCredentials
from edge.county.config import CountyConfig
from edge.county.ingest import Ingest
from edge.county.store import CountyStore
from edge.county.users import People
from edge.supervisor import Supervisor

log = logging.getLogger(__name__)


class CountyService:
    def __init__(self, cfg: CountyConfig) -> None:
        self.cfg = cfg
        self.store = CountyStore(cfg.database)
        self.ingest = Ingest(cfg.mqtt, self.store, cfg.batch)
        self.supervisor = Supervisor()
        self.health: dict[str, Any] = {}
        idle, kiosk = cfg.api.session_idle_minutes * 60_000, cfg.api.kiosk_days * 86_400_000
        tokens = TokenStore(cfg.api.tokens_file, read_secret(cfg.api.scrape_token_file))
        self.creds = CountyCredentials(tokens, People(cfg.database), SessionStore(idle, kiosk))
        self.app = build_app(cfg, self.store, self.health, self.creds)
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
            self.creds.close()
            self.store.close()
        return 0

    async def _health(self) -> None:
        last_flush = time.monotonic()
        while True:
            self.health.update(ingest=self.ingest.status(), units=self.supervisor.status())
            await asyncio.sleep(1)
            if time.monotonic() - last_flush >= TOUCH_EVERY_MS / 1000:
                last_flush = time.monotonic()
                try:
                    await self.creds.flush()
                except Exception:  # the database is away: the next round writes them
                    log.exception("county: writing the sessions' last use failed")
