"""A real uvicorn server for a test: its own thread and event loop, on a free loopback port."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Awaitable
from typing import TypeVar

import uvicorn

from edge.api.app import create_app
from edge.api.state import AppState

T = TypeVar("T")
START_TIMEOUT_S = 10.0  # uvicorn starts in well under a second; this only bounds a broken start


class LiveServer:
    def __init__(self, state: AppState, config: uvicorn.Config | None = None) -> None:
        self.state = state
        # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY only on sockets that say so; without it every
        # keep-alive response waits out the peer's 40 ms delayed ACK
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        if config is None:
            config = uvicorn.Config(create_app(state), log_level="warning", lifespan="off", timeout_graceful_shutdown=1)
        self.url = f"{'https' if config.ssl_certfile else 'http'}://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(config)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name="uvicorn-test", daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self.server.serve(sockets=[self.sock]))

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.state.closing.set()
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()

    def call(self, coro: Awaitable[T], timeout: float = 5.0) -> T:
        """Run a coroutine on the server's loop (where the hub lives) and wait for it."""

        async def wrap() -> T:
            return await coro

        return asyncio.run_coroutine_threadsafe(wrap(), self.loop).result(timeout)
