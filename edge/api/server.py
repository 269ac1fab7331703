"""Serving the app: uvicorn inside the daemon's own loop (signals left to the daemon), config from `api`."""

from __future__ import annotations

import contextlib
from collections.abc import Generator

import uvicorn

from edge.api.app import create_app
from edge.api.state import AppState


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


def uvicorn_config(state: AppState) -> uvicorn.Config:
    """Listen on api.listen (127.0.0.1:8080 by default); HTTPS when api.tls_cert_file and tls_key_file are set."""
    api = state.config.api
    tls = api.tls_cert_file is not None and api.tls_key_file is not None
    return uvicorn.Config(
        create_app(state),
        host=api.host,
        port=api.port,
        ssl_certfile=str(api.tls_cert_file) if tls else None,
        ssl_keyfile=str(api.tls_key_file) if tls else None,
        log_config=None,  # the daemon's logging setup applies; uvicorn must not replace it
        access_log=False,  # requests carry no secrets in URLs, but a duty screen polls: keep the log quiet
        proxy_headers=False,  # trust the socket's address for the auth rate limit, not a header anyone can set
        server_header=False,
        timeout_graceful_shutdown=3,  # open SSE streams would otherwise hold shutdown forever
        lifespan="off",
    )
