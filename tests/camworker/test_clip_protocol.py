"""The clip messages of the worker protocol: round trips, and what is refused (pure)."""

from __future__ import annotations

import base64
import json

import pytest

from edge.camworker import protocol as p


@pytest.mark.parametrize(
    "msg",
    [
        p.ClipRequest(5, "cam-1", 1_764_400_000_000, 1_764_400_012_000, 20.0),
        p.ClipReply(5, "cam-1", b"\x00\x00\x00\x18ftypisom", "", 1_764_400_000_100, 1_764_400_011_900),
        p.ClipReply(6, "cam-2", None, "no_replay_service"),
    ],
    ids=lambda m: type(m).__name__,
)
def test_round_trip(msg: p.Message) -> None:
    assert p.decode(p.encode(msg)) == msg


def test_the_largest_clip_fits_a_line() -> None:
    big = p.ClipReply(1, "cam-1", b"\x00" * p.MAX_CLIP_BYTES, "", 1, 2)
    assert len(p.encode(big)) <= p.MAX_LINE


@pytest.mark.parametrize(
    "body",
    [
        {"type": "clip_request", "req": 1, "camera": "c", "start_ms": "0", "end_ms": 1, "deadline_s": 1},
        {"type": "clip_request", "req": 1, "camera": "c", "start_ms": 0, "deadline_s": 1},
        {"type": "clip_reply", "req": 1, "camera": "c", "mp4": "***", "error": "", "start_ms": 0, "end_ms": 0},
        {"type": "clip_reply", "req": 1, "camera": 3, "mp4": None, "error": "", "start_ms": 0, "end_ms": 0},
        {
            "type": "clip_reply",
            "req": 1,
            "camera": "c",
            "error": "",
            "start_ms": 0,
            "end_ms": 0,
            "mp4": base64.b64encode(b"\x00" * (p.MAX_CLIP_BYTES + 1)).decode(),
        },
    ],
)
def test_bad_clip_messages_are_protocol_errors(body: dict[str, object]) -> None:
    with pytest.raises(p.ProtocolError):
        p.decode(json.dumps({"v": p.VERSION, **body}).encode())
