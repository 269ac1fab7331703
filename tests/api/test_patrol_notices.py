"""Patrol notices through the real engine and store: an incomplete round is a priority-3 notice, a
day short of its rounds a priority-2 fault; each is raised once, however often the watch looks."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from edge.config.patrol import Plan
from edge.events import now_ms
from edge.patrol.checkin import Source, make_checkin
from edge.patrol.rounds import RoundStatus, Verdict, Visit, evaluate
from edge.patrol.watch import Notice, PatrolWatch, notices
from tests.api.conftest import bearer
from tests.api.site import Site

TZ = ZoneInfo("Asia/Shanghai")


def _local_ms(day_offset: int, hhmm: str) -> int:
    today = datetime.now(TZ).date() + timedelta(days=day_offset)
    h, m = map(int, hhmm.split(":"))
    return int(datetime(today.year, today.month, today.day, h, m, tzinfo=TZ).timestamp() * 1000)


def test_notices_of_a_fixed_plan() -> None:
    plan = Plan(id="gates", checkpoints=["a", "b"], rounds_per_day=2, times=["08:00", "12:00"], tolerance_minutes=10)
    day = datetime.now(TZ).date()
    visits = [Visit(_local_ms(0, "08:30"), "a", "张三"), Visit(_local_ms(0, "08:31"), "b", "张三")]
    judged = evaluate(plan, day, TZ, visits, now_ms=_local_ms(1, "01:00"))
    assert judged.verdict is Verdict.FAIL
    assert notices(judged) == [Notice(1, RoundStatus.LATE, (), judged.rounds[0].due_ms),
                               Notice(2, RoundStatus.MISSED, ("a", "b"), judged.rounds[1].due_ms)]  # fmt: skip


async def test_watch_raises_each_notice_once(site: Site, client: TestClient) -> None:
    runtime = site.state.runtime
    assert runtime is not None and site.config.patrol is not None
    now = [_local_ms(-1, "23:00")]  # the watch started yesterday evening, so it judges yesterday at midnight
    watch = PatrolWatch(site.config, site.db, runtime.emit, clock=lambda: now[0])
    gate = make_checkin(site.config.patrol, tag="04a1b2c3d4", ts_s=_local_ms(-1, "22:00") / 1000, guard="张三",
                        source=Source.API, now_ms=now_ms())  # fmt: skip
    runtime.record_checkins_now([gate])
    assert await watch.check() == 0  # yesterday's window is still open at 23:00
    now[0] = now_ms()
    assert await watch.check() == 2  # the round that never reached the dorm, and the day's shortfall
    assert await watch.check() == 0
    again = PatrolWatch(site.config, site.db, runtime.emit, clock=lambda: _local_ms(-1, "23:30"))
    again.started_ms = _local_ms(-1, "23:30")
    assert await again.check() == 0  # a restarted daemon does not repeat them

    alarms = client.get("/api/v1/alarms?state=open", headers=bearer(site.tokens["viewer"])).json()["items"]
    patrol = sorted((a for a in alarms if a["kind"] == "patrol.round"), key=lambda a: a["priority"])
    assert [(a["priority"], a["what"]) for a in patrol] == [(2, "patrol_missed"), (3, "patrol_incomplete")]
    assert patrol[1]["message"] == "巡查记录异常：key-areas，巡查漏点"
    assert all(a["category"] == "flag" for a in patrol)
    devices = client.get("/api/v1/devices", headers=bearer(site.tokens["viewer"])).json()
    assert not [d for d in devices if d["id"].startswith("patrol-")]  # a plan is not a device on the board
