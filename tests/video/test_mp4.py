"""MP4 box reading (edge.video.mp4) on hand-built files, and HTTP byte ranges (edge.api.byteranges)."""

from __future__ import annotations

import contextlib
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.api.byteranges import parse_range
from edge.video.mp4 import Mp4Error, inspect


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack("!I", 8 + len(payload)) + kind + payload


def mvhd(timescale: int, duration: int) -> bytes:
    return box(b"mvhd", b"\x00\x00\x00\x00" + struct.pack("!IIII", 0, 0, timescale, duration) + b"\x00" * 80)


def stsd(codec: bytes) -> bytes:
    return box(b"stsd", b"\x00\x00\x00\x00" + struct.pack("!I", 1) + struct.pack("!I", 86) + codec + b"\x00" * 78)


def trak(codec: bytes) -> bytes:
    return box(b"trak", box(b"mdia", box(b"minf", box(b"stbl", stsd(codec)))))


def test_a_faststart_h264_file() -> None:
    data = box(b"ftyp", b"isom") + box(b"moov", mvhd(1000, 12_500) + trak(b"avc1")) + box(b"mdat", b"\x00" * 100)
    info = inspect(data)
    assert (info.duration_s, info.faststart, info.codec) == (12.5, True, "avc1")


def test_index_at_the_end_is_not_faststart() -> None:
    data = box(b"ftyp", b"isom") + box(b"mdat", b"\x00" * 100) + box(b"moov", mvhd(90_000, 90_000) + trak(b"hvc1"))
    info = inspect(data)
    assert (info.duration_s, info.faststart, info.codec) == (1.0, False, "hvc1")


@pytest.mark.parametrize(
    "bad",
    [b"", box(b"ftyp", b"isom"), box(b"mdat", b"\x00" * 8), b"\xff" * 64, box(b"moov", mvhd(0, 10))],
)
def test_what_is_not_a_finished_mp4(bad: bytes) -> None:
    with pytest.raises(Mp4Error):
        inspect(bad)


@given(st.binary(max_size=300))
def test_any_bytes_give_an_answer_or_mp4error(data: bytes) -> None:
    with contextlib.suppress(Mp4Error):
        inspect(data)


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        (None, 100, None),
        ("bytes=0-", 100, (0, 99)),
        ("bytes=10-19", 100, (10, 19)),
        ("bytes=90-200", 100, (90, 99)),
        ("bytes=-10", 100, (90, 99)),
        ("bytes=-500", 100, (0, 99)),
        ("bytes=0-1,5-6", 100, None),  # several ranges: the whole body
        ("items=0-1", 100, None),
    ],
)
def test_byte_ranges(header: str | None, size: int, expected: tuple[int, int] | None) -> None:
    assert parse_range(header, size) == expected


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=50-10", "bytes=-0"])
def test_unsatisfiable_ranges(header: str) -> None:
    with pytest.raises(ValueError, match="range"):
        parse_range(header, 100)
