"""The county API (/api/v1/schools, /api/v1/schools/{id}, /api/v1/events) and the zh-CN dashboard at /."""

# No `from __future__ import annotations`: FastAPI must see the local `Viewer` dependency type itself.

import asyncio
import logging
import time
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials
from prometheus_client import REGISTRY

from edge.api.login import BEARER
from edge.api.sessions import SessionStore
from edge.api.tokens import Principal, TokenStore
from edge.config import read_secret
from edge.county.auth import CountyCredentials
from edge.county.config import CountyConfig
from edge.county.monthly import monthly, to_csv, to_html
from edge.county.routes_session import add_session_routes
from edge.county.store import CountyStore
from edge.county.users import People
from edge.county.view import school_view, totals
from edge.events import iso_ms
from edge.metrics_text import CONTENT_TYPE, exposition

DASHBOARD = Path(__file__).with_name("dashboard.html")
log = logging.getLogger(__name__)
Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def build_app(
    cfg: CountyConfig,
    store: CountyStore,
    health: dict[str, Any] | None = None,
    creds: CountyCredentials | None = None,
) -> FastAPI:
    app = FastAPI(title="edge county", version="1")
    if creds is None:
        idle, kiosk = cfg.api.session_idle_minutes * 60_000, cfg.api.kiosk_days * 86_400_000
        tokens = TokenStore(cfg.api.tokens_file, read_secret(cfg.api.scrape_token_file))
        creds = CountyCredentials(tokens, People(cfg.database), SessionStore(idle, kiosk))
    parts = creds

    async def viewer(request: Request, bearer: Bearer) -> Principal:
        # Every account's role is at least viewer: logged in means allowed to read.
        return await parts.principal(request, bearer, allow_scrape=False)

    async def scraper(request: Request, bearer: Bearer) -> Principal:
        return await parts.principal(request, bearer, allow_scrape=True)  # the scrape token reads /metrics only

    Viewer = Annotated[Principal, Depends(viewer)]
    Scraper = Annotated[Principal, Depends(scraper)]

    add_session_routes(app, parts, viewer)

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
    def metrics(_: Scraper) -> Response:
        return Response(exposition([REGISTRY]), media_type=CONTENT_TYPE)

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
