"""Run uvicorn inside the daemon's own loop, leaving signals to the daemon."""

from __future__ import annotations

import contextlib
from collections.abc import Generator

import uvicorn


class EmbeddedServer(uvicorn.Server):
    """uvicorn.Server that does not install signal handlers: the daemon owns SIGTERM/SIGINT/SIGHUP."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield

    async def run_embedded(self) -> None:
        try:
            await self.serve()
        except SystemExit as exc:
            # uvicorn exits the process when it cannot bind; turn that into a fault the supervisor retries.
            raise RuntimeError(f"API server could not start (exit {exc.code}); is the port in use?") from None
        if not self.should_exit:
            raise RuntimeError("API server stopped unexpectedly")
