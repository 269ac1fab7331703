"""The camera storm (issue 13): the alarm path does not notice what the cameras and their worker do.

The worker is killed with SIGSEGV every 10 s while one camera stalls mid-stream and another answers
with endless garbage (tests/faults/storm.py). What must hold, exactly the issue's three figures:
- MQTT press -> DC-09 ACK p99 during the storm stays within 1.5 x its quiet value (the two-minute run; the
  short one guards at 3 x, see SHORT_P99_RATIO_GUARD);
- nothing is lost: every press and every release reaches the receiver;
- `/healthz` answers within 100 ms throughout.
Short by default (25 s of storm, three kills); `--heavy` storms for two minutes with eight cameras.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.storm import StormFigures, run_storm

P99_RATIO_BAR = 1.5
# The short run's p99 rests on 100 quiet presses of ~8-20 ms on a shared 2-core box, where a single slow
# press moves it by half; it guards against a regression of the alarm path (the storm once took it to
# seconds), while the 1.5 bar is asserted by the two-minute run and reported by bench_storm.
SHORT_P99_RATIO_GUARD = 3.0
HEALTHZ_BAR_MS = 100.0


def _check(f: StormFigures, min_kills: int, ratio_bar: float = P99_RATIO_BAR) -> None:
    detail = (
        f"quiet p99 {f.quiet_p99:.1f} ms ({len(f.quiet_ms)}), storm p99 {f.storm_p99:.1f} ms ({len(f.storm_ms)}), "
        f"lost {f.lost}/{2 * f.presses}, kills {f.kills}, /healthz max {f.healthz_max_ms:.1f} ms ({f.healthz_probes})"
    )
    assert f.kills >= min_kills, detail
    assert f.lost == 0, detail
    assert f.storm_p99 <= ratio_bar * f.quiet_p99, detail
    assert f.healthz_max_ms <= HEALTHZ_BAR_MS, detail


async def test_camera_storm(tmp_path: Path) -> None:
    _check(await run_storm(tmp_path, cameras=4, quiet_presses=100, storm_s=25.0), 3, SHORT_P99_RATIO_GUARD)


@pytest.mark.heavy
async def test_camera_storm_two_minutes(tmp_path: Path) -> None:
    # The supervisor's back-off (2**attempt s with jitter, reset only by a 60 s run) keeps a worker killed
    # every 10 s down for longer each time: over two minutes that allows 7-10 kills, not 12.
    _check(await run_storm(tmp_path, cameras=8, quiet_presses=300, storm_s=120.0), min_kills=6)
