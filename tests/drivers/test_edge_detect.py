"""The pure edge detector: table-driven cases and hypothesis properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.drivers.edge_detect import EdgeDetector, EdgeKind

P, R = EdgeKind.PRESS, EdgeKind.RELEASE


def run(samples: list[int], debounce: int = 1) -> list[tuple[EdgeKind, int]]:
    det = EdgeDetector(debounce)
    out = []
    for t, s in enumerate(samples):
        if (e := det.feed(bool(s), t)) is not None:
            out.append((e.kind, e.ts_ms))
    return out


@pytest.mark.parametrize(
    ("samples", "debounce", "edges"),
    [
        ([0, 0, 0], 1, []),
        ([0, 1, 1, 1, 0], 1, [(P, 1), (R, 4)]),  # hold yields nothing
        ([1], 1, [(P, 0)]),  # active at start-up is a press
        ([0, 1, 0, 1, 1, 0, 0], 2, [(P, 3), (R, 5)]),  # a one-sample blip is filtered; ts = first sample
        ([0, 1, 1, 0, 1, 1], 3, []),
        ([1, 1, 1, 0, 0, 0], 3, [(P, 0), (R, 3)]),
    ],
)
def test_table(samples: list[int], debounce: int, edges: list[tuple[EdgeKind, int]]) -> None:
    assert run(samples, debounce) == edges


def test_reset_run_forgets_half_confirmed_change() -> None:
    det = EdgeDetector(2)
    assert det.feed(True, 0) is None
    det.reset_run()
    assert det.feed(True, 5) is None
    e = det.feed(True, 6)
    assert e is not None and e.ts_ms == 5


def test_debounce_must_be_positive() -> None:
    with pytest.raises(ValueError, match="debounce"):
        EdgeDetector(0)


@given(st.lists(st.booleans(), max_size=300), st.integers(min_value=1, max_value=6))
def test_edges_alternate_starting_with_press(samples: list[bool], debounce: int) -> None:
    edges = run([int(s) for s in samples], debounce)
    kinds = [k for k, _ in edges]
    assert kinds == [P, R] * (len(kinds) // 2) + [P] * (len(kinds) % 2)
    stamps = [t for _, t in edges]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)  # no duplicates


@given(st.lists(st.booleans(), max_size=300), st.integers(min_value=1, max_value=6))
def test_level_follows_runs_of_debounce_samples(samples: list[bool], debounce: int) -> None:
    det = EdgeDetector(debounce)
    run_len, prev = 0, None
    for t, s in enumerate(samples):
        run_len = run_len + 1 if s == prev else 1
        prev = s
        edge = det.feed(s, t)
        if edge is not None:
            assert run_len >= debounce and edge.ts_ms == t - debounce + 1
        if run_len >= debounce:
            assert det.level == s  # a steady input is always reflected after `debounce` samples


@given(st.lists(st.booleans(), max_size=200))
def test_debounce_one_reports_every_change_at_once(samples: list[bool]) -> None:
    changes = [t for t, s in enumerate(samples) if s != (samples[t - 1] if t else False)]
    assert [t for _, t in run([int(s) for s in samples])] == changes
