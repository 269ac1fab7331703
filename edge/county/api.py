"""The county API (/api/v1/schools, /api/v1/schools/{id}, /api/v1/events) and the zh-CN dashboard at /."""

# No `from __future__ import annotations`: FastAPI must see the local `Viewer` dependency type itself.

import asyncio
import time
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from edge.api.tokens import Principal, Role, TokenStore
from edge.config import read_secret
from edge.county.config import CountyConfig
from edge.county.monthly import monthly, to_csv, to_html
from edge.county.store import CountyStore
from edge.county.view import school_view, totals
from edge.events import iso_ms
from edge.metrics import bad_input

DASHBOARD = Path(__file__).with_name("dashboard.html")


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def build_app(cfg: CountyConfig, store: CountyStore, health: dict[str, Any] | None = None) -> FastAPI:
    app = FastAPI(title="edge county", version="1")
    tokens = TokenStore(cfg.api.tokens_file, read_secret(cfg.api.scrape_token_file))
    import logging  # noqa: PLC0415 - only for the auth log line

    log = logging.getLogger(__name__)

    def viewer(request: Request) -> Principal:
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        if token and request.url.path == "/metrics" and tokens.is_scrape_token(token):
            return Principal("scrape", Role.VIEWER)  # the scrape token reads /metrics only
        principal = tokens.verify(token) if token else None
        if principal is None:
            bad_input(log, "county-api", "auth", request.client.host if request.client else "")
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "需要有效的令牌 / a valid token is required",
                headers={"WWW-Authenticate": "Bearer"},
            )
        return principal

    Viewer = Annotated[Principal, Depends(viewer)]

    def views() -> list[dict[str, Any]]:
        now = now_ms()
        devices: dict[str, list[dict[str, Any]]] = {}
        for d in store.devices():
            devices.setdefault(d["school"], []).append(d)
        reports, tests = store.latest_reports(), store.last_tests()
        return [
            school_view(
                row, devices.get(row["id"], []), reports.get(row["id"]), tests.get(row["id"]), now, cfg.silent_after
            )
            for row in store.schools()
        ]

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {"ok": True, **(health or {})}

    @app.get("/metrics")
    def metrics(_: Viewer) -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/api/v1/schools")
    async def schools(_: Viewer) -> dict[str, Any]:
        rows = await asyncio.to_thread(views)
        return {"county": cfg.name, "generated_at": iso_ms(now_ms()), "totals": totals(rows), "schools": rows}

    @app.get("/api/v1/schools/{school_id}")
    async def school(school_id: str, _: Viewer) -> dict[str, Any]:
        rows = [s for s in await asyncio.to_thread(views) if s["id"] == school_id]
        if not rows:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "没有这所学校 / no such school")
        found = rows[0]
        found["devices"] = [d["data"] for d in await asyncio.to_thread(store.devices, school_id)]
        return found

    @app.get("/api/v1/events")
    async def events(
        _: Viewer,
        school: str | None = None,
        kind: str | None = None,
        device: str | None = None,
        since: Annotated[int | None, Query(description="UTC ms")] = None,
        until: Annotated[int | None, Query(description="UTC ms")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[dict[str, Any]]:
        rows = await asyncio.to_thread(
            lambda: store.events(school=school, kind=kind, device=device, since_ms=since, until_ms=until, limit=limit)
        )
        return [{**r, "time": iso_ms(int(r["ts_ms"]))} for r in rows]

    @app.get("/api/v1/reports/monthly")
    async def monthly_report(
        _: Viewer,
        month: Annotated[str, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")],
        format: Annotated[str, Query(pattern="^(json|csv|html)$")] = "json",
    ) -> Response:
        rows = await asyncio.to_thread(store.month_reports, month)
        names = {r["id"]: r["name"] or r["id"] for r in await asyncio.to_thread(store.schools)}
        lines = monthly(rows, names)
        if format == "csv":
            return Response(
                to_csv(lines),
                media_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": f'attachment; filename="county-{month}.csv"'},
            )
        if format == "html":
            return HTMLResponse(to_html(cfg.name, month, lines))
        return JSONResponse({"month": month, "schools": lines})

    @app.get("/", response_class=HTMLResponse)
    def dashboard() -> HTMLResponse:
        return HTMLResponse(DASHBOARD.read_text(encoding="utf-8"))

    return app
