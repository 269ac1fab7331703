"""GET /status and GET /summary: the site at a glance."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends

from edge import __version__
from edge.api import auth
from edge.api.deps import get_state
from edge.api.models import Me, PoliceLink, PoliceStatus, SiteInfo, Status, StoreInfo, Summary
from edge.api.state import AppState
from edge.api.tokens import Principal
from edge.api.views import iso, load_devices, to_alarms
from edge.events import now_ms
from edge.states import AlarmState, DeviceState
from edge.store import outbox, queries
from edge.store.alarms import open_alarms

log = logging.getLogger(__name__)
router = APIRouter(tags=["status"])


def _links(link: dict[str, Any] | None) -> tuple[str, list[PoliceLink]]:
    """The police link state and per-receiver lines from the relay's status (Relay.status())."""
    if not link or not isinstance(link.get("receivers"), list):
        return "unknown", []
    links = [
        PoliceLink(
            url=str(r.get("url", "")),
            role=str(r.get("role", "")),
            state=str(r.get("state", "unknown")),
            reason=str(r.get("reason") or ""),
            active=bool(r.get("active", False)),
            last_ack_at=iso(r["last_ack_ms"]) if isinstance(r.get("last_ack_ms"), int) else None,
        )
        for r in link["receivers"]
        if isinstance(r, dict)
    ]
    states = {x.state for x in links}
    overall = "up" if "up" in states else ("down" if states == {"down"} else "unknown")
    return overall, links


def _provider(state: AppState, name: str) -> dict[str, Any] | None:
    provider = state.status_providers.get(name)
    if provider is None:
        return None
    try:
        return provider()
    except Exception:  # a broken provider must not take the status page down with it
        log.exception("api: status provider %s failed", name)
        return {"error": "provider failed"}


@router.get("/status", response_model=Status)
def get_status(state: AppState = Depends(get_state), _: Principal = Depends(auth.viewer)) -> Status:  # noqa: B008
    counts: dict[str, int] = {}
    by_type: dict[str, dict[str, int]] = {}
    for (dtype, st), n in queries.device_state_counts(state.db).items():
        counts[st] = counts.get(st, 0) + n
        by_type.setdefault(dtype, {})[st] = by_type.get(dtype, {}).get(st, 0) + n
    alarms = to_alarms(state.db, open_alarms(state.db))
    queue = outbox.status(state.db, now_ms())
    link = _provider(state, "police")
    link_state, links = _links(link)
    police = state.config.police
    cfg = state.config
    return Status(
        site=SiteInfo(id=cfg.site.id, name=cfg.site.name, timezone=cfg.site.timezone),
        version=__version__,
        uptime_s=round(state.uptime_s, 1),
        store=_store(state),
        devices=counts,
        devices_by_type=by_type,
        alarms={
            AlarmState.OPEN: sum(a.state is AlarmState.OPEN for a in alarms),
            AlarmState.ACKNOWLEDGED: sum(a.state is AlarmState.ACKNOWLEDGED for a in alarms),
        },
        open_alarms=alarms,
        police=PoliceStatus(
            configured=police is not None,
            receivers=len(police.receivers) if police else 0,
            state=link_state if police else "unknown",
            links=links,
            outbox_depth=int(queue["depth"]),
            oldest_age_s=queue["oldest_age_s"],
            failed=int(queue["failed"]) + int(queue["rejected"]),
            last_ack_at=iso(queue["last_ack_ms"]),
            link=link,
        ),
        providers={n: p for n in state.status_providers if n != "police" and (p := _provider(state, n)) is not None},
    )


def _store(state: AppState) -> StoreInfo:
    fault: dict[str, Any] = state.runtime.store_status() if state.runtime is not None else {}
    healthy = state.db.healthy()
    return StoreInfo(ok=healthy and not fault.get("fault"), schema_version=state.db.version, **fault)


@router.get("/summary", response_model=Summary)
def get_summary(state: AppState = Depends(get_state), _: Principal = Depends(auth.viewer)) -> Summary:  # noqa: B008
    tz = ZoneInfo(state.config.site.timezone)
    today = datetime.now(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    start_ms = int(today.timestamp() * 1000)
    devices = load_devices(state.db)
    rate: dict[str, float | None] = {}
    for kind in ("button", "camera", "receiver", "bus"):
        of_kind = [d for d in devices if d.type == kind and d.state is not DeviceState.MAINTENANCE]
        up = sum(d.state in (DeviceState.ONLINE, DeviceState.DEGRADED) for d in of_kind)
        rate[kind] = round(up / len(of_kind), 3) if of_kind else None
    cams = [d for d in devices if d.type == "camera"]
    ret = [d.checks.retention for d in cams if d.checks.retention is not None]
    qual = [d.checks.quality for d in cams if d.checks.quality is not None]
    today_counts = queries.counts_since(state.db, start_ms)
    return Summary(
        date=today.date().isoformat(),
        online_rate=rate,
        retention_compliance=round(sum(r.verdict == "pass" for r in ret) / len(ret), 3) if ret else None,
        quality_compliance=round(sum(q.verdict == "pass" for q in qual) / len(qual), 3) if qual else None,
        alarms_today=today_counts.alarms,
        tests_today=today_counts.tests,
        events_today=today_counts.events,
    )


@router.get("/me", response_model=Me)
def whoami(
    state: AppState = Depends(get_state),  # noqa: B008
    who: Principal = Depends(auth.viewer),  # noqa: B008
) -> Me:
    """The caller's name and role (the dashboard shows the buttons the role may use); a login session
    also gets its CSRF token back, so a reloaded page can go on writing."""
    if who.session is None:
        return Me(name=who.name, role=who.role.label)
    csrf = state.sessions.csrf_of(who.session)
    return Me(name=who.name, role=who.role.label, via="session", csrf=csrf)
