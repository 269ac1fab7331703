"""Garbage in, GrabError out: decoding and URI handling never raise anything untyped."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from edge.sim.video import SyntheticScene, encode_jpeg
from edge.video.errors import REASONS, GrabError, redact
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


@given(st.text(max_size=200))
def test_redact_never_raises_and_hides_passwords(uri: str) -> None:
    out = redact(uri)
    assert isinstance(out, str)
    assert "hunter2" not in redact(f"rtsp://admin:hunter2@{uri.replace('/', '')[:20] or 'cam'}:554/x")


def test_redact_examples() -> None:
    assert redact("rtsp://admin:p%40ss@10.0.0.1:554/x") == "rtsp://admin:***@10.0.0.1:554/x"
    assert redact("rtsp://admin:p@ss@[fe80::1]:554/x") == "rtsp://admin:***@[fe80::1]:554/x"
    assert redact("http://cam/cgi-bin/snapshot.cgi?user=admin&pwd=hunter2") == (
        "http://cam/cgi-bin/snapshot.cgi?user=admin&pwd=***"
    )
    assert redact("http://cam/x.jpg") == "http://cam/x.jpg"
