"""Patrol notices: a round late, incomplete or missed becomes one `patrol.round` event, which the
rules turn into an operator flag (priority 3; a missed round priority 2). Each notice has an id
derived from the plan, day, round and outcome, so a restart or a second look never repeats it."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from edge.config import Config
from edge.drivers.base import Emit
from edge.events import Event, EventKind, now_ms
from edge.patrol.day import load_day
from edge.patrol.rounds import PlanDay, RoundStatus, Verdict, patrol_device_id
from edge.store import Database
from edge.store.events import event_exists

log = logging.getLogger(__name__)

CHECK_EVERY_S = 60.0
_NAMESPACE = uuid.UUID("6f1c2a4e-4c1d-4f57-9a8e-2b1e0c9f7d31")
_NOTICE = frozenset({RoundStatus.LATE, RoundStatus.INCOMPLETE, RoundStatus.MISSED})


@dataclass(frozen=True, slots=True)
class Notice:
    round: int
    status: RoundStatus
    missing: tuple[str, ...] = ()
    due_ms: int | None = None


def notices(day: PlanDay) -> list[Notice]:
    """What the operator must be told about one plan's day, as judged now."""
    out = [Notice(r.index, r.status, tuple(r.missing), r.due_ms) for r in day.rounds if r.status in _NOTICE]
    if not day.plan.times and day.verdict is Verdict.FAIL:  # free plans: the shortfall, once the window closed
        out.append(Notice(day.walked + 1, RoundStatus.MISSED))
    return out


def notice_event(site: str, day: PlanDay, notice: Notice, ts_ms: int) -> Event:
    key = f"{site}|{day.plan.id}|{day.day.isoformat()}|{notice.round}|{notice.status}"
    payload: dict[str, Any] = {
        "type": "patrol",
        "plan": day.plan.id,
        "day": day.day.isoformat(),
        "round": notice.round,
        "status": str(notice.status),
        "reason": f"patrol_{notice.status}",
        "missing": list(notice.missing),
        "walked": day.walked,
        "required": day.plan.rounds_per_day,
    }
    if notice.due_ms is not None:
        payload["due_ms"] = notice.due_ms
    return Event(
        EventKind.PATROL_ROUND, patrol_device_id(day.plan.id), payload, ts_ms=ts_ms, id=str(uuid.uuid5(_NAMESPACE, key))
    )


class PatrolWatch:
    def __init__(
        self,
        config: Config,
        db: Database,
        emit: Emit,
        *,
        clock: Callable[[], int] = now_ms,
        every_s: float = CHECK_EVERY_S,
    ) -> None:
        self.config, self.db, self.emit, self.clock, self.every_s = config, db, emit, clock, every_s
        self.started_ms = clock()
        self.sent = 0

    async def run(self) -> None:
        while True:
            await self.check()
            await asyncio.sleep(self.every_s)

    async def check(self) -> int:
        """Emit the notices not yet sent for today, and for yesterday's windows that closed while we ran."""
        now = self.clock()
        tz = ZoneInfo(self.config.site.timezone)
        today = datetime.fromtimestamp(now / 1000, tz).date()
        sent = 0
        for day in (today - timedelta(days=1), today):
            plans, _ = await asyncio.to_thread(load_day, self.db, self.config, day, now)
            for plan_day in plans:
                if day != today and _window_close_ms(plan_day, tz) < self.started_ms:
                    continue  # closed before we started: judged by whoever ran then (or nobody)
                for notice in notices(plan_day):
                    event = notice_event(self.config.site.id, plan_day, notice, now)
                    if await asyncio.to_thread(event_exists, self.db, event.id):
                        continue
                    log.info("patrol: %s round %s %s on %s", plan_day.plan.id, notice.round, notice.status, day)
                    await self.emit(event)
                    sent += 1
        self.sent += sent
        return sent


def _window_close_ms(day: PlanDay, tz: ZoneInfo) -> int:
    _, end = day.plan.window_minutes
    moment = datetime.combine(day.day, datetime.min.time(), tz) + timedelta(minutes=end)
    return int(moment.timestamp() * 1000)
