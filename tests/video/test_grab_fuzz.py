"""Garbage in, GrabError out: decoding and URI handling never raise anything untyped."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from edge.sim.video import SyntheticScene, encode_jpeg
from edge.video.errors import REASONS, GrabError
from edge.video.snapshot import decode_jpeg

JPEG = encode_jpeg(SyntheticScene("normal", 1).frame(0.0))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=4096))
def test_random_bytes_never_crash_the_decoder(data: bytes) -> None:
    try:
        img = decode_jpeg(data)
    except GrabError as exc:
        assert exc.reason == "decode_failed"
    else:
        assert img.ndim == 3


@settings(max_examples=100, deadline=None)
@given(st.integers(0, len(JPEG) - 1), st.binary(min_size=1, max_size=64))
def test_corrupted_jpegs_decode_or_fail_typed(offset: int, junk: bytes) -> None:
    data = JPEG[:offset] + junk + JPEG[offset + len(junk) :]
    try:
        img = decode_jpeg(data)
    except GrabError as exc:
        assert exc.reason in REASONS
    else:
        assert img.shape[2] == 3
