"""The worker protocol: every message survives a round trip; anything else is a ProtocolError (pure)."""

from __future__ import annotations

import json

import pytest

from edge.camworker import protocol as p
from edge.events import Event, EventKind

MESSAGES: list[p.Message] = [
    p.Hello(42, ("cam-1", "cam-2")),
    p.Heartbeat(7, (p.Grab("cam-1", 1.5, 32.0),)),
    p.EventMsg(Event(EventKind.DEVICE_ONLINE, "cam-1", {"state": "degraded", "reasons": ["clock_drift"]}, ts_ms=1)),
    p.Snapshot("cam-1", b"\xff\xd8jpeg", 5),
    p.SnapshotRequest(3, "cam-1", 2.5),
    p.Reply(3, "cam-1", b"\xff\xd8", ts_ms=9),
    p.Reply(4, "cam-2", None, error="deadline"),
    p.StreamUriRequest(5, "cam-1", 3.0),
    p.StreamUriReply(5, "cam-1", "rtsp://192.0.2.7:554/Streaming/Channels/101"),
    p.StreamUriReply(6, "cam-2", error="no_stream_uri"),
]


@pytest.mark.parametrize("msg", MESSAGES, ids=lambda m: type(m).__name__)
def test_round_trip(msg: p.Message) -> None:
    line = p.encode(msg)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert p.decode(line) == msg


@pytest.mark.parametrize(
    "line",
    [
        b"not json\n",
        b"[1, 2]\n",
        b'{"type": "heartbeat", "seq": 1, "grabs": []}\n',  # no version
        b'{"v": 2, "type": "heartbeat", "seq": 1, "grabs": []}\n',
        b'{"v": 1, "type": "launch_missiles"}\n',
        b'{"v": 1, "type": "heartbeat", "seq": "1", "grabs": []}\n',
        b'{"v": 1, "type": "event", "kind": "alarm.bogus", "device_id": "c", "payload": {}, "ts_ms": 1, "id": "x"}\n',
        b'{"v": 1, "type": "snapshot", "device_id": "c", "jpeg": "***", "ts_ms": 1}\n',
        b"\xff\xfe\n",
        b'{"v": 1, "type": "stream_uri_reply", "req": 1, "device_id": "c", "uri": 7, "error": ""}\n',
    ],
)
def test_garbage_is_a_protocol_error(line: bytes) -> None:
    with pytest.raises(p.ProtocolError):
        p.decode(line)


def test_oversized_line_is_refused_both_ways() -> None:
    with pytest.raises(p.ProtocolError):
        p.encode(p.Snapshot("cam", b"x" * p.MAX_LINE, 1))
    with pytest.raises(p.ProtocolError):
        p.decode(json.dumps({"v": 1, "pad": "x" * p.MAX_LINE}).encode())
