"""FastAPI application factory."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from edge import __version__
from edge.api.state import AppState
from edge.store.devices import devices_with_state


def create_app(state: AppState) -> FastAPI:
    app = FastAPI(title="edge", version=__version__, description="校园边缘监测 / Campus edge monitor")
    app.state.edge = state

    @app.get("/healthz", include_in_schema=True)
    def healthz(request: Request) -> JSONResponse:
        ok = state.db.healthy()
        return JSONResponse({"ok": ok, "store": "ok" if ok else "error"}, status_code=200 if ok else 503)

    @app.get("/api/v1/status")
    def status() -> dict[str, Any]:
        counts: dict[str, int] = {}
        for d in devices_with_state(state.db):
            key = d["state"] or "unknown"
            counts[key] = counts.get(key, 0) + 1
        body: dict[str, Any] = {
            "site": {"id": state.config.site.id, "name": state.config.site.name},
            "version": __version__,
            "uptime_s": round(state.uptime_s, 1),
            "store": {"ok": state.db.healthy(), "schema_version": state.db.version},
            "devices": counts,
        }
        for name, provider in state.status_providers.items():
            body[name] = provider()
        return body

    return app
