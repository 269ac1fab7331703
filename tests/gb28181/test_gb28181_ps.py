"""The relay's MPEG-PS muxer (edge.gb28181.ps): packs parsed back by hand (pack header and SCR, system
header, PSM stream type and CRC, PES lengths and PTS), and real encoder output through mpegtsmux,
our demuxer and muxer, decoded by GStreamer's mpegpsdemux and H.264/H.265 decoders."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from edge.gb28181 import ps

GST = shutil.which("gst-launch-1.0") or "/usr/bin/gst-launch-1.0"
RAW = "video/x-raw,format=I420,width=320,height=240,framerate=10/1"


def _scr(b: bytes) -> int:
    hi = ((b[0] >> 3) & 0x7) << 30 | (b[0] & 0x3) << 28 | b[1] << 20
    return hi | (b[2] >> 3) << 15 | (b[2] & 0x3) << 13 | b[3] << 5 | b[4] >> 3


@dataclass
class Parsed:
    packs: list[int] = field(default_factory=list)  # SCR of each pack header
    systems: int = 0
    psms: list[list[tuple[int, int]]] = field(default_factory=list)  # (stream_type, stream_id) entries
    pes: list[tuple[int, int | None, bytes]] = field(default_factory=list)  # (total length, PTS, payload)


def parse(stream: bytes) -> Parsed:
    out = Parsed()
    i = 0
    while i < len(stream):
        assert stream[i : i + 3] == b"\x00\x00\x01", f"lost sync at {i}"
        sid = stream[i + 3]
        if sid == 0xBA:
            assert stream[i + 4] & 0xC4 == 0x44  # MPEG-2 pack, markers
            out.packs.append(_scr(stream[i + 4 : i + 10]))
            i += 14 + (stream[i + 13] & 0x07)
            continue
        length = int.from_bytes(stream[i + 4 : i + 6], "big")
        body = stream[i + 6 : i + 6 + length]
        assert len(body) == length
        if sid == 0xBB:
            out.systems += 1
        elif sid == 0xBC:
            assert ps.crc32_mpeg(stream[i : i + 6 + length]) == 0  # CRC over the section checks to 0
            es_len = int.from_bytes(body[4:6], "big")
            out.psms.append([(body[6 + k], body[7 + k]) for k in range(0, es_len, 4)])
        else:
            assert sid == ps.VIDEO_ID
            hdr = body[2]
            pts = ps._timestamp(body[3:8]) if body[1] & 0x80 else None
            out.pes.append((6 + length, pts, body[3 + hdr :]))
        i += 6 + length
    return out


def _au(stream_type: int, key: bool, size: int) -> bytes:
    if stream_type == ps.H265:
        nal = bytes([19 << 1, 1]) if key else bytes([1 << 1, 1])
    else:
        nal = bytes([0x65 if key else 0x41])
    return b"\x00\x00\x00\x01" + nal + bytes(range(256)) * (size // 256)


@pytest.mark.parametrize("stream_type", [ps.H264, ps.H265])
def test_packs_psm_on_key_frames_bounded_pes_and_monotonic_pts(stream_type: int) -> None:
    mux = ps.PsMux()
    frames = [
        ps.Frame(
            stream_type,
            900_000 + n * 9000,
            900_000 + n * 9000,
            _au(stream_type, n % 5 == 0, 200_000 if n == 0 else 3000),
        )
        for n in range(10)
    ]
    got = parse(b"".join(mux.mux(f) for f in frames))
    assert len(got.packs) == 10 and got.packs == sorted(got.packs) and got.packs[0] == 0
    assert got.psms == [[(stream_type, 0xE0)]] * 2 and got.systems == 2  # frames 0 and 5 are key frames
    assert all(length <= 0xFFFF for length, _, _ in got.pes)
    assert len(got.pes) == 10 + 3  # the 200 kB frame takes four PES, only the first with a PTS
    pts = [p for _, p, _ in got.pes if p is not None]
    assert len(pts) == 10 and pts == sorted(pts) and pts[1] - pts[0] == 9000
    assert b"".join(payload for _, _, payload in got.pes[:4]) == frames[0].data


def test_key_frames_are_told_by_nal_type() -> None:
    assert ps.is_key(ps.H264, b"\x00\x00\x00\x01\x67\x00\x00\x01\x68\x00\x00\x01\x65\x88")
    assert not ps.is_key(ps.H264, b"\x00\x00\x00\x01\x41\x9a")
    assert ps.is_key(ps.H265, b"\x00\x00\x01\x40\x01\x00\x00\x01\x28\x01")  # VPS, then IDR_N_LP (20)
    assert not ps.is_key(ps.H265, b"\x00\x00\x01\x02\x01\xaa")  # TRAIL_R


def test_garbage_is_counted_and_skipped() -> None:
    demux = ps.TsDemux()
    assert demux.feed(b"\x00" * 1000 + b"\xff" * 188) == [] and demux.bad > 0
    assert demux.stream_type is None and demux.flush() == []


@pytest.mark.parametrize(("codec", "stream_type"), [("h264", ps.H264), ("h265", ps.H265)])
def test_encoder_output_decodes_through_our_ps(codec: str, stream_type: int) -> None:
    enc = (
        "x264enc key-int-max=5 ! video/x-h264,profile=baseline ! h264parse"
        if codec == "h264"
        else "x265enc tune=zerolatency key-int-max=5 ! h265parse"
    )
    with tempfile.TemporaryDirectory() as tmp:
        ts = subprocess.run(
            [GST, "-q", "videotestsrc", "num-buffers=20", "!", RAW, "!", *enc.split(), "!", "mpegtsmux",
             "!", "fdsink", "fd=1"],
            check=True, capture_output=True, timeout=60,
        ).stdout  # fmt: skip
        demux, mux = ps.TsDemux(), ps.PsMux()
        frames = [f for i in range(0, len(ts), 4096) for f in demux.feed(ts[i : i + 4096])] + demux.flush()
        assert demux.stream_type == stream_type and demux.bad == 0
        assert len(frames) == 20 and frames[0].key and sum(f.key for f in frames) == 4
        (Path(tmp) / "s.ps").write_bytes(b"".join(mux.mux(f) for f in frames))
        subprocess.run(
            [GST, "-q", "filesrc", f"location={tmp}/s.ps", "!", "mpegpsdemux", "!", "decodebin", "!",
             "videoconvert", "!", "pngenc", "!", "multifilesink", f"location={tmp}/f%03d.png"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        # mpegpsdemux's parser finds where a frame ends at the next one: the very last may stay unshown.
        assert len(list(Path(tmp).glob("f*.png"))) >= 19


_PAT = bytes.fromhex("474000100000b00d0001c100000001f0002ab104b2").ljust(188, b"\xff")
_PMT = bytes.fromhex("475000100002b0120001c10000e100f00024e100f000").ljust(188, b"\xff")  # H.265 on PID 0x100


def _ts(pes_payload: bytes, pts: int) -> bytes:
    """One PES on PID 0x100 in TS packets, the last padded with an adaptation field."""
    data = b"\x00\x00\x01\xe0\x00\x00\x80\x80\x05" + ps._ts_bytes(0x2, pts) + pes_payload
    out = b""
    for i in range(0, len(data), 184):
        part = data[i : i + 184]
        head = bytes([0x47, 0x41 if i == 0 else 0x01, 0x00])
        if len(part) == 184:
            out += head + b"\x10" + part
        else:
            pad = 184 - len(part) - 1
            out += head + b"\x30" + bytes([pad]) + (b"\x00" + b"\xff" * (pad - 1) if pad else b"") + part
    return out


def test_nal_aligned_pes_group_into_access_units() -> None:
    """Parameter sets stamped with the previous frame's time belong to the key frame after them."""
    params = b"\x00\x00\x00\x01\x40\x01vps\x00\x00\x00\x01\x42\x01sps\x00\x00\x00\x01\x44\x01pps"
    idr = b"\x00\x00\x00\x01\x26\x01" + b"\x55" * 500  # IDR_W_RADL (19)
    trail = b"\x00\x00\x00\x01\x02\x01" + b"\x66" * 300  # TRAIL_R (1)
    demux = ps.TsDemux()
    stream = _PAT + _PMT + _ts(params, 1000) + _ts(idr, 10_000) + _ts(trail, 19_000) + _ts(trail, 28_000)
    frames = demux.feed(stream) + demux.flush()
    assert demux.stream_type == ps.H265 and demux.bad == 0
    assert [(f.pts, f.key) for f in frames] == [(10_000, True), (19_000, False), (28_000, False)]
    assert frames[0].data == params + idr
