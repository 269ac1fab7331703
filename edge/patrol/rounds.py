"""Rounds of a patrol plan on one local day, judged from its check-ins. Pure: no I/O, no clock.

Free plans (no fixed times): check-ins inside the window are read in time order; a round starts at
a visit to one of the plan's checkpoints and is complete when every checkpoint has been visited
within `round_minutes` of its start; a round that runs out of time is incomplete and the next visit
starts a new one. Fixed plans: each round time owns the visits from `tolerance` before it until the
next round's opening; all checkpoints visited, started within the tolerance and finished within
`round_minutes` is complete, visited but started or finished late is late (still a patrol walked,
counted, and reported as late), some visited is incomplete, none is missed once its slot has closed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from edge.config.patrol import Plan

MINUTE_MS = 60_000


def patrol_device_id(plan_id: str) -> str:
    """The device id a plan's notices carry (a plan is not a device, but an operator flag needs one)."""
    return f"patrol-{plan_id}"


class RoundStatus(StrEnum):
    COMPLETE = "complete"
    LATE = "late"
    INCOMPLETE = "incomplete"
    MISSED = "missed"
    IN_PROGRESS = "in_progress"
    UPCOMING = "upcoming"


# What counts as a patrol walked towards rounds_per_day.
WALKED = frozenset({RoundStatus.COMPLETE, RoundStatus.LATE})


class Verdict(StrEnum):
    PASS = "pass"  # noqa: S105 (a verdict, not a password) 达标
    FAIL = "fail"  # 不达标
    PENDING = "pending"  # the day's window is still open and the target not yet reached


@dataclass(frozen=True, slots=True)
class Visit:
    ts_ms: int
    checkpoint_id: str
    guard: str


@dataclass(slots=True)
class Round:
    index: int
    status: RoundStatus
    due_ms: int | None = None  # fixed plans: the round time
    visits: list[Visit] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def start_ms(self) -> int | None:
        return self.visits[0].ts_ms if self.visits else None

    @property
    def end_ms(self) -> int | None:
        return self.visits[-1].ts_ms if self.visits else None

    @property
    def guards(self) -> list[str]:
        return sorted({v.guard for v in self.visits if v.guard})


@dataclass(frozen=True, slots=True)
class PlanDay:
    plan: Plan
    day: date
    rounds: list[Round]
    verdict: Verdict

    @property
    def walked(self) -> int:
        return sum(1 for r in self.rounds if r.status in WALKED)

    @property
    def missed(self) -> int:
        """Rounds short of the target once the day's window has closed (free plans), or missed slots."""
        if self.plan.times:
            return sum(1 for r in self.rounds if r.status is RoundStatus.MISSED)
        if self.verdict is Verdict.FAIL:
            return max(0, self.plan.rounds_per_day - self.walked)
        return 0


def _at(day: date, minutes: int, tz: ZoneInfo) -> int:
    moment = datetime.combine(day, time(0), tz) + timedelta(minutes=minutes)
    return int(moment.timestamp() * 1000)


def evaluate(plan: Plan, day: date, tz: ZoneInfo, visits: Sequence[Visit], now_ms: int) -> PlanDay:
    """Judge `plan` on local `day` from `visits` (any order; other plans' checkpoints ignored)."""
    start_min, end_min = plan.window_minutes
    open_ms, close_ms = _at(day, start_min, tz), _at(day, end_min, tz)
    wanted = set(plan.checkpoints)
    mine = sorted(
        (v for v in visits if v.checkpoint_id in wanted and open_ms <= v.ts_ms < close_ms),
        key=lambda v: (v.ts_ms, v.checkpoint_id),
    )
    rounds = _fixed(plan, day, tz, mine, close_ms, now_ms) if plan.times else _free(plan, mine, now_ms)
    walked = sum(1 for r in rounds if r.status in WALKED)
    if walked >= plan.rounds_per_day:
        verdict = Verdict.PASS
    elif now_ms < close_ms:
        verdict = Verdict.PENDING
    else:
        verdict = Verdict.FAIL
    return PlanDay(plan, day, rounds, verdict)


def _missing(plan: Plan, visits: list[Visit]) -> list[str]:
    seen = {v.checkpoint_id for v in visits}
    return [c for c in plan.checkpoints if c not in seen]


def _free(plan: Plan, visits: list[Visit], now_ms: int) -> list[Round]:
    limit = plan.round_minutes * MINUTE_MS
    rounds: list[Round] = []
    current: list[Visit] = []

    def close(status: RoundStatus) -> None:
        rounds.append(Round(len(rounds) + 1, status, visits=list(current), missing=_missing(plan, current)))
        current.clear()

    for v in visits:
        if current and v.ts_ms - current[0].ts_ms > limit:
            close(RoundStatus.INCOMPLETE)
        if any(c.checkpoint_id == v.checkpoint_id for c in current):
            continue  # touched twice in one round: the first visit counts
        current.append(v)
        if not _missing(plan, current):
            close(RoundStatus.COMPLETE)
    if current:
        running = now_ms - current[0].ts_ms <= limit
        close(RoundStatus.IN_PROGRESS if running else RoundStatus.INCOMPLETE)
    return rounds


def _fixed(plan: Plan, day: date, tz: ZoneInfo, visits: list[Visit], close_ms: int, now_ms: int) -> list[Round]:
    tol = plan.tolerance_minutes * MINUTE_MS
    limit = plan.round_minutes * MINUTE_MS
    dues = [_at(day, int(t[:2]) * 60 + int(t[3:]), tz) for t in plan.times]
    rounds: list[Round] = []
    for i, due in enumerate(dues):
        opens = due - tol
        closes = min(dues[i + 1] - tol, close_ms) if i + 1 < len(dues) else close_ms
        slot: list[Visit] = []
        for v in visits:
            if opens <= v.ts_ms < closes and all(s.checkpoint_id != v.checkpoint_id for s in slot):
                slot.append(v)
        missing = _missing(plan, slot)
        if not slot:
            if now_ms >= closes:
                status = RoundStatus.MISSED
            elif now_ms < opens:
                status = RoundStatus.UPCOMING
            else:
                status = RoundStatus.IN_PROGRESS
        elif missing:
            status = RoundStatus.IN_PROGRESS if now_ms < closes else RoundStatus.INCOMPLETE
        elif slot[0].ts_ms <= due + tol and slot[-1].ts_ms - slot[0].ts_ms <= limit:
            status = RoundStatus.COMPLETE
        else:
            status = RoundStatus.LATE
        rounds.append(Round(i + 1, status, due_ms=due, visits=slot, missing=missing))
    return rounds
