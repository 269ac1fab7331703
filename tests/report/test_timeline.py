"""Properties of the interval arithmetic, and bad rows in the store."""

from __future__ import annotations

import json
from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from edge.report import daily
from edge.report.html import render_html
from edge.report.model import OFFLINE, ONLINE, ReportInput
from edge.report.timeline import Transition, maintenance_windows

START, END = 1_000_000, 2_000_000
times = st.integers(min_value=START - 200_000, max_value=END + 200_000)
transitions = st.lists(st.tuples(times, st.sampled_from([ONLINE, OFFLINE])), max_size=30).map(
    lambda xs: [Transition(t, s, "r") for t, s in sorted(xs, key=lambda x: x[0])]
)
# Disjoint maintenance windows: sorted distinct points taken in pairs.
windows = st.lists(times, max_size=8, unique=True).map(
    lambda xs: [(a, b) for a, b in zip(sorted(xs)[::2], sorted(xs)[1::2], strict=False)]
)


@given(transitions, windows)
def test_segments_partition_the_period_and_agree_with_outages(
    trs: list[Transition], wins: list[tuple[int, int]]
) -> None:
    av = daily.availability({"id": "d", "type": "button"}, trs, wins, START, END)
    assert av.segments[0].start_ms == START and av.segments[-1].end_ms == END
    for a, b in zip(av.segments, av.segments[1:], strict=False):
        assert a.end_ms == b.start_ms and a.state != b.state
    assert all(s.end_ms > s.start_ms for s in av.segments)
    assert av.online_ms + av.offline_ms + av.maintenance_ms + av.unknown_ms == END - START
    # offline time outside maintenance = the outages' in-day time less their maintenance part
    assert av.offline_ms == sum(o.in_day_ms - o.maintenance_ms for o in av.outages)
    assert av.rate is None or 0.0 <= av.rate <= 1.0


def test_maintenance_window_ends_at_next_state_or_until() -> None:
    rows = [
        {"seq": 1, "ts_ms": 100, "ref": "a", "data": json.dumps({"state": "maintenance", "maintenance_until_ms": 500})},
        {"seq": 2, "ts_ms": 300, "ref": "a", "data": json.dumps({"state": "online"})},
        {"seq": 3, "ts_ms": 600, "ref": "a", "data": json.dumps({"state": "maintenance", "maintenance_until_ms": 700})},
        {"seq": 4, "ts_ms": 100, "ref": "b", "data": json.dumps({"state": "maintenance"})},
        {"seq": 5, "ts_ms": 200, "ref": "b", "data": json.dumps({"reasons": []})},  # no state: no change
        {"seq": 6, "ts_ms": 100, "ref": "c", "data": "not json"},
    ]
    assert maintenance_windows(rows, 1000) == {"a": [(100, 300), (600, 700)], "b": [(100, 1000)]}


def test_malformed_rows_are_counted_not_fatal() -> None:
    inp = ReportInput(
        devices=[
            {"id": "cam", "type": "camera", "name": "<script>x</script>", "location": "", "zone": None, "tags": "[]"}
        ],
        events=[
            {"seq": 1, "id": "e1", "ts_ms": 1_500_000, "device_id": "cam", "kind": "camera.quality", "payload": "{"},
            {
                "seq": 2,
                "id": "e2",
                "ts_ms": 1_600_000,
                "device_id": "cam",
                "kind": "camera.retention",
                "payload": json.dumps({"verdict": "pass", "retained_days": "lots"}),
            },
        ],
        device_changes=[],
        alarms=[],
    )
    report = daily.compute(inp, date(1970, 1, 1), "UTC", 10**12)
    assert "bad_payloads:1" in report.notes
    assert report.quality[0].checks == 1 and report.retention[0].retained_days is None
    page = render_html(report)
    assert "malformed rows skipped" in page
    assert "<script>" not in page and "&lt;script&gt;x" in page  # store text is escaped
