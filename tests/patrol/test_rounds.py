"""A scripted day for a free and a fixed-time plan, every round's verdict asserted exactly."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from edge.config.patrol import Plan
from edge.patrol.rounds import RoundStatus, Verdict, Visit, evaluate

TZ = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 12, 1)


def at(hhmm: str, day: date = DAY) -> int:
    h, m = map(int, hhmm.split(":"))
    return int(datetime(day.year, day.month, day.day, h, m, tzinfo=TZ).timestamp() * 1000)


def v(hhmm: str, cp: str, guard: str = "张三") -> Visit:
    return Visit(at(hhmm), cp, guard)


FREE = Plan(id="key", checkpoints=["gate", "lab", "dorm"], rounds_per_day=5, window="06:00-22:00", round_minutes=30)
FREE_DAY = [
    v("05:00", "gate"), v("05:05", "lab"), v("05:10", "dorm"),  # before the window: not counted
    v("07:00", "gate"), v("07:05", "lab"), v("07:10", "dorm"),  # 1 complete
    v("09:00", "gate"), v("09:10", "lab"),  # 2 incomplete: dorm never visited within 30 min
    v("10:00", "gate", "李四"), v("10:05", "dorm", "李四"), v("10:06", "dorm", "李四"), v("10:08", "lab", "李四"),  # 3
    v("11:00", "canteen"),  # another plan's checkpoint
    v("12:00", "lab"), v("12:01", "gate"), v("12:02", "dorm"),  # 4 complete, any order
    v("14:00", "gate"), v("14:10", "lab"), v("14:29", "dorm"),  # 5 complete, just inside 30 min
    v("21:50", "gate"),  # 6: started late in the evening, never finished
]  # fmt: skip


def test_free_plan_at_the_end_of_the_day() -> None:
    day = evaluate(FREE, DAY, TZ, list(reversed(FREE_DAY)), now_ms=at("08:00", date(2026, 12, 2)))
    assert [r.status for r in day.rounds] == [
        RoundStatus.COMPLETE,
        RoundStatus.INCOMPLETE,
        RoundStatus.COMPLETE,
        RoundStatus.COMPLETE,
        RoundStatus.COMPLETE,
        RoundStatus.INCOMPLETE,
    ]
    assert day.rounds[1].missing == ["dorm"] and day.rounds[5].missing == ["lab", "dorm"]
    assert day.rounds[2].guards == ["李四"] and len(day.rounds[2].visits) == 3  # the second dorm touch ignored
    assert day.walked == 4 and day.verdict is Verdict.FAIL and day.missed == 1


def test_free_plan_during_the_day() -> None:
    visits = [x for x in FREE_DAY if x.ts_ms <= at("14:10")]
    day = evaluate(FREE, DAY, TZ, visits, now_ms=at("14:15"))
    assert day.rounds[-1].status is RoundStatus.IN_PROGRESS and day.rounds[-1].missing == ["dorm"]
    assert day.walked == 3 and day.verdict is Verdict.PENDING and day.missed == 0
    done = evaluate(FREE, DAY, TZ, [*FREE_DAY, v("16:00", "gate"), v("16:01", "lab"), v("16:02", "dorm")], at("17:00"))
    assert done.walked == 5 and done.verdict is Verdict.PASS


FIXED = Plan(
    id="gates",
    checkpoints=["gate", "lab"],
    rounds_per_day=4,
    window="06:00-22:00",
    times=["16:00", "08:00", "12:00", "20:00"],
    tolerance_minutes=15,
    round_minutes=20,
)


def test_fixed_plan() -> None:
    visits = [
        v("07:50", "gate"), v("07:55", "lab"),  # 08:00 complete (inside the tolerance)
        v("12:20", "gate"), v("12:25", "lab"),  # 12:00 late: started after 12:15
        v("16:05", "gate"),  # 16:00 incomplete
    ]  # fmt: skip
    day = evaluate(FIXED, DAY, TZ, visits, now_ms=at("23:00"))
    assert [(r.index, r.status) for r in day.rounds] == [
        (1, RoundStatus.COMPLETE),
        (2, RoundStatus.LATE),
        (3, RoundStatus.INCOMPLETE),
        (4, RoundStatus.MISSED),
    ]
    assert day.rounds[0].due_ms == at("08:00") and day.rounds[2].missing == ["lab"]
    assert day.walked == 2 and day.missed == 1 and day.verdict is Verdict.FAIL
    morning = evaluate(FIXED, DAY, TZ, visits[:2], now_ms=at("09:00"))
    assert [r.status for r in morning.rounds] == [
        RoundStatus.COMPLETE,
        RoundStatus.UPCOMING,
        RoundStatus.UPCOMING,
        RoundStatus.UPCOMING,
    ]
    assert morning.verdict is Verdict.PENDING


def test_a_round_that_takes_too_long_is_late() -> None:
    day = evaluate(FIXED, DAY, TZ, [v("08:00", "gate"), v("08:40", "lab")], now_ms=at("23:00"))
    assert day.rounds[0].status is RoundStatus.LATE
