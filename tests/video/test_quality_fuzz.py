"""assess() on arbitrary small images: a result or a typed QualityError, never anything else."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from edge.video.quality import QualityError, assess, thumbnail

shapes = st.one_of(
    st.tuples(st.integers(1, 40), st.integers(1, 40)),
    st.tuples(st.integers(1, 40), st.integers(1, 40), st.sampled_from([1, 2, 3, 4, 5])),
)
images = shapes.flatmap(lambda s: arrays(np.uint8, s))


@settings(max_examples=200, deadline=None)
@given(st.lists(images, min_size=0, max_size=3))
def test_assess_never_crashes(frames: list[np.ndarray]) -> None:
    try:
        result = assess(frames)
    except QualityError as exc:
        assert exc.reason in {"no_frames", "too_small", "shape"}
        return
    assert result.verdict in {"pass", "fail"}
    assert set(result.checks.values()) <= {"pass", "fail", "skip"}
    assert result.as_dict()["frames"] == len(frames)


@settings(max_examples=100, deadline=None)
@given(images)
def test_thumbnail_never_crashes(frame: np.ndarray) -> None:
    try:
        data = thumbnail(frame)
    except QualityError:
        return
    assert data[:2] == b"\xff\xd8"


@settings(max_examples=50, deadline=None)
@given(
    arrays(
        st.sampled_from([np.float32, np.int16, np.uint16, np.bool_]), st.tuples(st.integers(8, 20), st.integers(8, 20))
    )
)
def test_wrong_dtype_is_typed(frame: np.ndarray) -> None:
    try:
        assess([frame])
    except QualityError as exc:
        assert exc.reason == "dtype"
    else:
        raise AssertionError("non-uint8 frames must be rejected")
