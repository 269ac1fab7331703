"""The simulated NVR's pure parts: Annex-B access units, RTP packets with the ONVIF replay extension,
the segment ring, clock ranges."""

from __future__ import annotations

import itertools
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.sim.recorder.h264 import (
    MAX_PAYLOAD,
    NTP_EPOCH_OFFSET,
    AccessUnit,
    AccessUnitSplitter,
    RtpPacketizer,
    fragments,
    nal_units,
    onvif_extension,
)
from edge.sim.recorder.ring import SegmentRing
from edge.sim.recorder.rtsp import RangeError, format_clock, parse_clock, parse_range

SPS, PPS = b"\x67\x42\x00\x1e\xab", b"\x68\xce\x38\x80"
IDR = b"\x65\x88" + b"\x11" * 3000  # first_mb_in_slice = 0 (MSB of the second byte set)
P = b"\x41\x9a" + b"\x22" * 500


def annexb(*nals: bytes) -> bytes:
    return b"".join(b"\x00\x00\x00\x01" + n for n in nals)


STREAM = annexb(SPS, PPS, IDR, P, P, SPS, PPS, IDR, P)


@given(st.lists(st.integers(min_value=1, max_value=len(STREAM)), max_size=20))
def test_access_units_whatever_the_chunking(cuts: list[int]) -> None:
    splitter = AccessUnitSplitter()
    out: list[tuple[bytes, ...]] = []
    edges = [0, *sorted(set(cuts)), len(STREAM)]
    for a, b in itertools.pairwise(edges):
        out += splitter.feed(STREAM[a:b])
    out += splitter.feed(annexb(SPS, PPS))  # the next picture (once its first NAL is complete) closes the last
    assert out == [(SPS, PPS, IDR), (P,), (P,), (SPS, PPS, IDR), (P,)]


def test_nal_units_drop_start_codes_and_trailing_zeros() -> None:
    assert nal_units(b"\x00\x00\x01\x09\xf0\x00\x00\x00\x01" + P + b"\x00") == [b"\x09\xf0", P]
    assert nal_units(b"garbage without start codes") == []


def test_fu_a_fragments_reassemble() -> None:
    parts = fragments(IDR)
    assert len(parts) > 1 and all(len(p) <= MAX_PAYLOAD for p in parts)
    assert parts[0][1] & 0x80 and parts[-1][1] & 0x40 and all(p[0] & 0x1F == 28 for p in parts)
    assert bytes([(parts[0][0] & 0xE0) | (parts[0][1] & 0x1F)]) + b"".join(p[2:] for p in parts) == IDR
    assert fragments(P) == [P]


def test_rtp_packets_carry_the_onvif_extension_on_each_pictures_first_packet() -> None:
    pk = RtpPacketizer(ssrc=0x1234)
    key = pk.packets(AccessUnit(1_800_000_000.25, (SPS, PPS, IDR)), discontinuity=True)
    later = pk.packets(AccessUnit(1_800_000_000.35, (P,)))
    first = key[0]
    assert first[0] == 0x90  # version 2, extension bit
    profile, words, ntp, flags = struct.unpack_from("!HHQB", first, 12)
    assert (profile, words) == (0xABAC, 3)
    assert ntp >> 32 == 1_800_000_000 + NTP_EPOCH_OFFSET and abs((ntp & 0xFFFFFFFF) / 2**32 - 0.25) < 1e-6
    assert flags & 0x80 and flags & 0x20  # clean point (key frame), discontinuity (start of the replay)
    assert not (key[1][0] & 0x10) and key[-1][1] & 0x80  # extension only first; marker on the last
    assert later[0][0] == 0x90 and not struct.unpack_from("!HHQB", later[0], 12)[3] & 0x80
    assert struct.unpack_from("!I", later[0], 4)[0] == 9000  # 0.1 s at 90 kHz
    seqs = [struct.unpack_from("!H", p, 2)[0] for p in key + later]
    assert seqs == list(range(len(seqs)))
    assert onvif_extension(0.0, False, False, end=True)[12] == 0x40


def _feed(ring: SegmentRing, seconds: float, fps: int = 10, key_every: int = 5, t0: float = 1000.0) -> None:
    for i in range(int(seconds * fps)):
        nals = (SPS, PPS, IDR) if i % key_every == 0 else (P,)
        ring.add(AccessUnit(t0 + i / fps, nals))


def test_ring_keeps_only_closed_segments_and_is_bounded() -> None:
    ring = SegmentRing(segment_s=2.0, max_seconds=10.0)
    assert ring.span() is None
    _feed(ring, 3.0)
    span = ring.span()
    assert span is not None and span[0] == 1000.0
    assert abs(span[1] - 1001.9) < 1e-9  # the open segment (from 1002.0) is not replayable yet
    _feed(ring, 60.0)
    span = ring.span()
    assert span is not None and span[1] - span[0] <= 10.0 and span[1] > 1050
    units = ring.units(span[0] + 3.3, span[0] + 5.0)
    assert units[0].key and units[0].ts <= span[0] + 3.3 and units[-1].ts <= span[0] + 5.0


def test_ring_byte_bound() -> None:
    ring = SegmentRing(segment_s=0.5, max_seconds=1000.0, max_bytes=20_000)
    _feed(ring, 30.0)
    assert sum(s.size for s in ring.closed) <= 20_000


@given(st.floats(min_value=0, max_value=4_000_000_000, allow_nan=False))
def test_clock_round_trip(ts: float) -> None:
    assert abs(parse_clock(format_clock(ts)) - ts) < 0.001


def test_ranges() -> None:
    start, end = parse_range("clock=20261203T151100.000Z-20261203T151112Z")
    assert (start, end) == (parse_clock("20261203T151100Z"), parse_clock("20261203T151112Z"))
    assert parse_range("clock=20261203T151100.123456Z-")[1] is None  # rtspsrc sends microseconds
    for bad in ("npt=0-10", "clock=yesterday-", "clock=20261203T151100Z", ""):
        with pytest.raises(RangeError):
            parse_range(bad)
