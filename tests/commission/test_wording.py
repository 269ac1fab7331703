"""Every commissioning failure says what is wrong and the fix to try, in Chinese and in English (#14).

Pure formatting of check results, so the results are written out here; the real-peer tests in this
folder run the same formatting on what the simulators answer."""

from __future__ import annotations

import re
from typing import Any

from edge.commission.camera import QUALITY_FIXES, report_lines
from edge.commission.discover import DETAIL_FIXES
from edge.commission.lines import Line
from edge.config import Checks

CJK = re.compile(r"[\u4e00-\u9fff]")
LATIN = re.compile(r"[A-Za-z]{3,}")


def _bilingual(text: str) -> bool:
    return bool(CJK.search(text)) and bool(LATIN.search(text))


def _result(**over: Any) -> dict[str, Any]:
    res: dict[str, Any] = {
        "health": {"state": "online", "reasons": ["snapshot_uri:fault"], "device": {}, "duration_s": 0.2,
                   "stream_uri": None},
        "clock": {"drift_s": None, "verdict": None},
        "quality": {"verdict": "unknown", "error": "stream:timeout"},
        "retention": {"verdict": "unknown", "detail": "fault"},
    }  # fmt: skip
    res.update(over)
    return res


def _problems(lines: list[Line]) -> list[Line]:
    return [ln for ln in lines if ln.status.endswith(("FAIL", "WARN"))]


def test_every_failed_camera_check_has_a_bilingual_fix() -> None:
    cases = [
        _result(),
        _result(health={"state": "auth_failed"}),
        _result(health={"state": "unreachable", "detail": "refused"}),
        _result(quality={"verdict": "fail", "failures": list(QUALITY_FIXES), "checks": {}}),
        *(_result(retention={"verdict": v, "retained_days": 3, "required_days": 30, "shortfall_days": 27})
          for v in ("short", "stalled", "unverifiable")),
        _result(clock={"drift_s": 40.0, "verdict": "fail"}),
    ]  # fmt: skip
    seen = 0
    for res in cases:
        for line in _problems(report_lines(res, Checks())):
            seen += 1
            assert _bilingual(f"{line.zh} {line.en}"), line
            assert line.fix and _bilingual(line.fix), line
    assert seen >= 16


def test_discover_detail_fixes_are_bilingual() -> None:
    assert all(_bilingual(fix) for fix in DETAIL_FIXES.values())
