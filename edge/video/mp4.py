"""What an MP4 file says about itself, read from its boxes (ISO/IEC 14496-12): pure, stdlib only.

Used to check a clip before it is kept: a top-level `moov` ahead of `mdat` (faststart, so a browser
plays while loading), its duration from `mvhd`, and the video codec from the sample description.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass


class Mp4Error(ValueError):
    """Not an MP4 we can use (truncated, no moov, no duration)."""


@dataclass(frozen=True, slots=True)
class Mp4Info:
    duration_s: float
    faststart: bool
    codec: str  # the sample entry's four-cc, e.g. "avc1"


def _boxes(data: bytes, start: int, end: int) -> list[tuple[str, int, int]]:
    """(type, payload start, payload end) of the boxes in data[start:end]."""
    out = []
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from("!I4s", data, pos)
        head = 8
        if size == 1:
            if pos + 16 > end:
                raise Mp4Error("truncated box header")
            size = struct.unpack_from("!Q", data, pos + 8)[0]
            head = 16
        elif size == 0:
            size = end - pos
        if size < head or pos + size > end:
            raise Mp4Error(f"box {kind!r} runs past the end")
        out.append((kind.decode("latin-1"), pos + head, pos + size))
        pos += size
    return out


def _find(data: bytes, boxes: list[tuple[str, int, int]], kind: str) -> tuple[int, int]:
    for k, s, e in boxes:
        if k == kind:
            return s, e
    raise Mp4Error(f"no {kind} box")


def inspect(data: bytes) -> Mp4Info:
    top = _boxes(data, 0, len(data))
    kinds = [k for k, _, _ in top]
    if "moov" not in kinds:
        raise Mp4Error("no moov box (not finished?)")
    faststart = "mdat" not in kinds or kinds.index("moov") < kinds.index("mdat")
    moov = _boxes(data, *_find(data, top, "moov"))
    s, _e = _find(data, moov, "mvhd")
    version = data[s]
    if version == 1:
        timescale, duration = struct.unpack_from("!IQ", data, s + 20)
    else:
        timescale, duration = struct.unpack_from("!II", data, s + 12)
    if not timescale:
        raise Mp4Error("mvhd timescale 0")
    codec = ""
    for k, ts, te in moov:
        if k != "trak":
            continue
        try:
            mdia = _boxes(data, *_find(data, _boxes(data, ts, te), "mdia"))
            minf = _boxes(data, *_find(data, mdia, "minf"))
            stbl = _boxes(data, *_find(data, minf, "stbl"))
            ss, _se = _find(data, stbl, "stsd")
            codec = data[ss + 12 : ss + 16].decode("latin-1")  # version/flags, count, entry size, then the four-cc
        except Mp4Error:
            continue
        break
    return Mp4Info(duration / timescale, faststart, codec)
