"""A day's patrol record from the store: every plan judged, as the API, dashboard and report show it."""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from edge.config import Config
from edge.config.patrol import Patrol
from edge.events import iso_ms
from edge.patrol.rounds import PlanDay, Round, Visit, evaluate
from edge.report.days import day_bounds
from edge.store.db import Database
from edge.store.patrol import StoredCheckin, checkins_between


def load_day(db: Database, config: Config, day: date, now_ms: int) -> tuple[list[PlanDay], list[StoredCheckin]]:
    if config.patrol is None:
        return [], []
    tz = ZoneInfo(config.site.timezone)
    start, end = day_bounds(day, tz)
    stored = checkins_between(db, start, end)
    return judge(config.patrol, day, tz, stored, now_ms), stored


def judge(patrol: Patrol, day: date, tz: ZoneInfo, stored: list[StoredCheckin], now_ms: int) -> list[PlanDay]:
    visits = [Visit(c.ts_ms, c.checkpoint_id, c.guard) for c in stored]
    return [evaluate(plan, day, tz, visits, now_ms) for plan in patrol.plans]


def _round(r: Round) -> dict[str, Any]:
    return {
        "index": r.index,
        "status": str(r.status),
        "due_at": iso_ms(r.due_ms) if r.due_ms is not None else None,
        "started_at": iso_ms(r.start_ms) if r.start_ms is not None else None,
        "finished_at": iso_ms(r.end_ms) if r.end_ms is not None and not r.missing else None,
        "guards": r.guards,
        "visits": [{"checkpoint": v.checkpoint_id, "at": iso_ms(v.ts_ms), "guard": v.guard} for v in r.visits],
        "missing": r.missing,
    }


def day_json(config: Config, day: date, plans: list[PlanDay], checkins: list[StoredCheckin]) -> dict[str, Any]:
    """The `GET /api/v1/patrol?date=` body."""
    names = {cp.id: cp.name for cp in config.patrol.checkpoints} if config.patrol else {}
    return {
        "date": day.isoformat(),
        "plans": [
            {
                "id": p.plan.id,
                "name": p.plan.name or p.plan.id,
                "window": p.plan.window,
                "rounds_required": p.plan.rounds_per_day,
                "rounds_walked": p.walked,
                "rounds_missed": p.missed,
                "verdict": str(p.verdict),
                "checkpoints": [{"id": c, "name": names.get(c, c)} for c in p.plan.checkpoints],
                "rounds": [_round(r) for r in p.rounds],
            }
            for p in plans
        ],
        "problems": [
            {
                "seq": c.seq,
                "checkpoint": c.checkpoint_id,
                "name": names.get(c.checkpoint_id, c.checkpoint_id),
                "at": iso_ms(c.ts_ms),
                "guard": c.guard,
                "note": c.note,
                "photo": c.has_photo,
            }
            for c in checkins
            if c.note or c.has_photo
        ],
        "checkins": len(checkins),
    }
