"""Retention verdicts from the recorder's own Search service (camera or NVR), and the pure judge."""

from __future__ import annotations

from typing import Any

import pytest

from edge.onvif.retention import DAY_S, Verdict, check_retention, judge
from edge.sim.onvif.server import OnvifSimulator
from tests.onvif.helpers import add, session

LAG = 600.0


async def _check(sim: OnvifSimulator, required: int, token: str | None = None, cam: str = "cam", **kw: Any) -> Any:
    s = session(sim, cam, **kw)
    try:
        return await check_retention(s, required, LAG, token)
    finally:
        await s.close()


@pytest.mark.parametrize(
    ("days", "required", "verdict", "shortfall"),
    [
        (29, 30, Verdict.SHORT, 1.0),  # normal camera, 29 days kept
        (31, 30, Verdict.PASS, 0.0),  # normal camera, 31 days kept
        (30, 30, Verdict.PASS, 0.0),  # exactly the requirement
        (60, 90, Verdict.SHORT, 30.0),  # key-area camera, 60 days kept
        (95, 90, Verdict.PASS, 0.0),
    ],
)
async def test_camera_recording_itself(
    sim: OnvifSimulator, days: int, required: int, verdict: Verdict, shortfall: float
) -> None:
    await add(sim, "cam", retention_days=days)
    res = await _check(sim, required)
    assert res.verdict is verdict
    assert res.shortfall_days == shortfall
    assert res.retained_days == pytest.approx(days, abs=0.01)
    assert res.required_days == required
    assert res.newest_age_s is not None and res.newest_age_s < 5


async def test_no_search_service_is_unverifiable_never_pass(sim: OnvifSimulator) -> None:
    await add(sim, "cam", search=False, retention_days=400)
    res = await _check(sim, 30)
    assert res.verdict is Verdict.UNVERIFIABLE
    assert res.retained_days is None and res.shortfall_days is None


async def test_recording_stalled(sim: OnvifSimulator) -> None:
    await add(sim, "cam", retention_days=60, stalled_s=2 * 3600)
    res = await _check(sim, 30)
    assert res.verdict is Verdict.STALLED
    assert res.newest_age_s == pytest.approx(7200, abs=5)


async def test_nvr_reports_the_cameras_own_track(sim: OnvifSimulator) -> None:
    await add(sim, "gate", retention_days=60)
    await add(sim, "hall", retention_days=31)
    await add(sim, "nvr", records=("gate", "hall"), retention_days=500)
    gate = await _check(sim, 90, "REC-gate", cam="nvr")
    hall = await _check(sim, 30, "REC-hall", cam="nvr")
    assert (gate.verdict, gate.shortfall_days) == (Verdict.SHORT, 30.0)
    assert (hall.verdict, hall.shortfall_days) == (Verdict.PASS, 0.0)
    assert gate.recorder == sim.url("nvr")


async def test_unknown_recording_token_is_unknown(sim: OnvifSimulator) -> None:
    await add(sim, "gate")
    await add(sim, "nvr", records=("gate",))
    res = await _check(sim, 30, "REC-nope", cam="nvr")
    assert res.verdict is Verdict.UNKNOWN


@pytest.mark.parametrize(
    ("faults", "kw"),
    [({"wrong_password": True}, {}), ({"hang": True}, {"timeout": 0.3}), ({"malformed": True}, {})],
)
async def test_recorder_that_cannot_answer_is_unknown(
    sim: OnvifSimulator, faults: dict[str, Any], kw: dict[str, Any]
) -> None:
    await add(sim, "cam", **faults)
    res = await _check(sim, 30, **kw)
    assert res.verdict in (Verdict.UNKNOWN, Verdict.UNVERIFIABLE)
    assert res.verdict is not Verdict.PASS and res.detail


def test_judge_table() -> None:
    now = 1_800_000_000.0
    cases = [
        (29.0, 0, 30, Verdict.SHORT, 1.0),
        (29.999, 0, 30, Verdict.PASS, 0.0),  # rounds to 30.0 retained
        (12.0, 0, 90, Verdict.SHORT, 78.0),
        (40.0, LAG + 1, 30, Verdict.STALLED, 0.0),
        (10.0, LAG + 1, 30, Verdict.STALLED, 20.0),  # stalled wins, the shortfall is still reported
        (40.0, LAG, 30, Verdict.PASS, 0.0),
    ]
    for days, age, required, verdict, shortfall in cases:
        res = judge(now - days * DAY_S, now - age, now, required, LAG, "r")
        assert (res.verdict, res.shortfall_days) == (verdict, shortfall), (days, age, required)
