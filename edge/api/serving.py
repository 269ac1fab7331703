"""How the daemon serves the app: a uvicorn.Config from the `api` section, TLS when configured."""

from __future__ import annotations

import uvicorn

from edge.api.app import create_app
from edge.api.state import AppState


def uvicorn_config(state: AppState) -> uvicorn.Config:
    """Listen on api.listen (127.0.0.1:8080 by default); HTTPS when api.tls_cert_file and tls_key_file are set.

    The daemon serves it with its own server class (no signal handlers), e.g.
    ``await EmbeddedServer(uvicorn_config(state)).run_embedded()``, and on shutdown sets
    ``state.closing`` before ``should_exit`` so live streams end promptly.
    """
    api = state.config.api
    tls = api.tls_cert_file is not None and api.tls_key_file is not None
    return uvicorn.Config(
        create_app(state),
        host=api.host,
        port=api.port,
        ssl_certfile=str(api.tls_cert_file) if tls else None,
        ssl_keyfile=str(api.tls_key_file) if tls else None,
        log_config=None,  # the daemon's logging setup applies; uvicorn must not replace it
        log_level="warning",
        access_log=False,  # requests carry no secrets in URLs, but a duty screen polls: keep the log quiet
        proxy_headers=False,  # trust the socket's address for the auth rate limit, not a header anyone can set
        server_header=False,
        timeout_graceful_shutdown=3,  # open SSE streams would otherwise hold shutdown forever
        lifespan="off",
        ws="none",  # the API streams with SSE; uvicorn's websockets support would cost ~2.5 MB for nothing
    )
