"""FastAPI application factory: the API under /api/v1, /healthz, /docs and the dashboard at /."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from edge import __version__
from edge.api import (
    metrics,
    routes_alarms,
    routes_devices,
    routes_emap,
    routes_events,
    routes_media,
    routes_patrol,
    routes_session,
    routes_status,
    sse,
)
from edge.api.docs import DOCS_URL, add_docs
from edge.api.headers import SecurityHeaders
from edge.api.state import AppState

STATIC = Path(__file__).parent / "static"
PREFIX = "/api/v1"
AUTH_RESPONSES: dict[int | str, dict[str, object]] = {
    401: {"description": "no valid bearer token"},
    403: {"description": "the token's role is too low"},
    429: {"description": "too many failed authentication attempts from this address"},
    503: {"description": "too many new tokens being checked at once; retry shortly"},
}

DESCRIPTION = """校园边缘监测 / Campus edge monitor — the local status API.

Every route except `/healthz` needs `Authorization: Bearer <token>` (create one with
`edge token create`). Roles: viewer < guard < operator < technician < admin. Times are UTC ISO 8601.
"""


def create_app(state: AppState) -> FastAPI:
    app = FastAPI(
        title="edge",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    app.state.edge = state

    @app.get("/healthz", tags=["health"])
    async def healthz() -> JSONResponse:
        """Liveness: 200 when the loop and the store answer. No auth."""
        # On the loop when the reader is free (a SELECT 1, microseconds): no hop to a worker thread,
        # which on a busy gateway costs GIL hand-overs; only when another read holds it, wait off-loop.
        ok = state.db.healthy_now()
        if ok is None:
            ok = await run_in_threadpool(state.db.healthy)
        fault = state.runtime.store_fault.reason if state.runtime is not None else None
        if ok and fault:  # still alive and relaying from memory: a restart would only lose the backlog
            return JSONResponse({"ok": True, "status": "degraded", "store": "fault", "fault": fault}, status_code=200)
        return JSONResponse({"ok": ok, "store": "ok" if ok else "error"}, status_code=200 if ok else 503)

    routers = [routes_status, routes_devices, routes_alarms, routes_events, routes_patrol, routes_emap, routes_session]
    routers += [sse, metrics]
    for module in routers:
        app.include_router(module.router, prefix=PREFIX, responses=AUTH_RESPONSES)
    app.include_router(routes_media.router)  # outside /api/v1: the police open it with no token
    docs_csp = add_docs(app)

    @app.get("/", include_in_schema=False)
    def dashboard() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/patrol/scan", include_in_schema=False)
    def patrol_scan() -> FileResponse:
        """The page a checkpoint's QR code opens on a guard's phone (the check-in itself needs a token)."""
        return FileResponse(STATIC / "patrol.html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    # Outermost of our layers: every response, /static/* and errors included, gets the same policy.
    app.add_middleware(SecurityHeaders, csp_overrides={DOCS_URL: docs_csp})
    return app
