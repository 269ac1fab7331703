"""The pure MQTT topic and payload parser: table-driven, plus hypothesis (no input crashes it)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.config.devices import PayloadMapping
from edge.drivers.mqtt_payload import (
    MAX_PAYLOAD,
    ButtonMessage,
    Rejected,
    parse_event,
    parse_status,
    parse_topic,
)

VENDOR = PayloadMapping(type_field="d.evt", ts_field="time", seq_field="n", values={"1": "press", "0": "release"})
TEXT = PayloadMapping(format="text", values={"ALARM": "press", "RESET": "release"})


@pytest.mark.parametrize(
    ("payload", "mapping", "expected"),
    [
        (b'{"type": "press", "ts": 1700000000000, "seq": 5}', None, ButtonMessage("press", 1700000000000, 5)),
        (b'{"type": "heartbeat"}', None, ButtonMessage("heartbeat")),
        (b' {"type":"release","seq":"12"} ', None, ButtonMessage("release", None, 12)),
        (b'{"type": "press", "ts": 1.7e12}', None, ButtonMessage("press", 1_700_000_000_000)),
        (b'{"d": {"evt": 1}, "n": 3, "time": 5}', VENDOR, ButtonMessage("press", 5, 3)),
        (b'{"d": {"evt": "0"}}', VENDOR, ButtonMessage("release")),
        (b'{"d.evt": 1}', VENDOR, ButtonMessage("press")),  # a literal dotted key also works
        (b"ALARM", TEXT, ButtonMessage("press")),
        (b"press\n", TEXT, ButtonMessage("press")),
        (b"\xff", None, Rejected("not_utf8")),
        (b"{", None, Rejected("not_json", "{")),
        (b"[]", None, Rejected("not_object", "list")),
        (b"{}", None, Rejected("missing_type")),
        (b'{"type": "boom"}', None, Rejected("unknown_type", "boom")),
        (b'{"type": ["press"]}', None, Rejected("missing_type")),
        (b'{"type": "press", "seq": -1}', None, Rejected("bad_seq", "-1")),
        (b'{"type": "press", "seq": true}', None, Rejected("bad_seq", "True")),
        (b'{"type": "press", "ts": "noon"}', None, Rejected("bad_ts", "'noon'")),
        (b'{"type": "press", "ts": NaN}', None, Rejected("bad_ts", "nan")),
        (b"", TEXT, Rejected("missing_type")),
        (b"NORMAL", TEXT, Rejected("unknown_type", "NORMAL")),
        (b"x" * (MAX_PAYLOAD + 1), None, Rejected("too_large", f"{MAX_PAYLOAD + 1} bytes")),
    ],
)
def test_parse_event(payload: bytes, mapping: PayloadMapping | None, expected: object) -> None:
    assert parse_event(payload, mapping) == expected


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        ("edge/buttons/dorm-a/event", ("dorm-a", "event")),
        ("edge/buttons/dorm-a/status", ("dorm-a", "status")),
        ("edge/buttons//event", None),
        ("edge/buttons/a/b/event", None),
        ("other/buttons/a/event", None),
        ("edge/buttons/a/config", None),
    ],
)
def test_parse_topic(topic: str, expected: object) -> None:
    assert parse_topic(topic, "edge") == expected


def test_parse_status() -> None:
    assert parse_status(b"online") == "online"
    assert parse_status(b" OFFLINE\n") == "offline"
    assert parse_status(b"gone") == Rejected("bad_status", "gone")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=6), c, max_size=4),
    max_leaves=12,
)
mappings = st.builds(
    PayloadMapping,
    format=st.sampled_from(["json", "text"]),
    type_field=st.sampled_from(["type", "a.b", "evt"]),
    ts_field=st.sampled_from([None, "ts", "x.ts"]),
    seq_field=st.sampled_from([None, "seq"]),
    values=st.dictionaries(
        st.text(max_size=4), st.sampled_from(["press", "release", "tamper", "heartbeat"]), max_size=3
    ),
)


@given(st.binary(max_size=600), st.none() | mappings)
def test_no_bytes_crash_the_parser(payload: bytes, mapping: PayloadMapping | None) -> None:
    result = parse_event(payload, mapping)
    assert isinstance(result, ButtonMessage | Rejected)


@given(
    st.dictionaries(st.sampled_from(["type", "ts", "seq", "evt", "a", "x"]), json_values, max_size=5),
    st.none() | mappings,
)
def test_no_json_object_crashes_the_parser(obj: dict[str, Any], mapping: PayloadMapping | None) -> None:
    result = parse_event(json.dumps(obj).encode(), mapping)
    assert isinstance(result, ButtonMessage | Rejected)
    if isinstance(result, ButtonMessage):  # anything accepted is within bounds
        assert result.type in ("press", "release", "tamper", "heartbeat")
        assert result.seq is None or 0 <= result.seq < 2**63
        assert result.ts_ms is None or 0 <= result.ts_ms <= 2**53


@given(st.sampled_from(["press", "release", "tamper", "heartbeat"]), st.integers(0, 2**53), st.integers(0, 2**63 - 1))
def test_contract_payloads_round_trip(kind: str, ts: int, seq: int) -> None:
    payload = json.dumps({"type": kind, "ts": ts, "seq": seq}).encode()
    assert parse_event(payload) == ButtonMessage(kind, ts, seq)  # type: ignore[arg-type]
