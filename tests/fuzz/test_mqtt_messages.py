"""Any MQTT message on the buttons' topics: the driver's handler never crashes and counts every rejection.

Drives `MqttButtons._handle`, the code between the paho network thread and the events, with arbitrary
payloads (bytes and JSON objects) and topics; a message is either turned into an event / liveness, or
rejected and counted in edge_bad_input_total{source="mqtt"}.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from edge.config.devices import MqttButton
from edge.config.models import Mqtt
from edge.drivers.mqtt_buttons import MqttButtons, _Button
from edge.drivers.mqtt_client import Inbound
from edge.drivers.mqtt_payload import Rejected, parse_event, parse_status
from edge.events import now_ms
from tests.fuzz.counting import bad_inputs
from tests.peers.collect import Collector

PREFIX = "edge"
BUTTON = MqttButton(id="dorm-a", name="宿舍A", zone=8, transport="mqtt")
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
json_objects = st.dictionaries(
    st.sampled_from(["type", "ts", "seq", "event", "state", "x"]) | st.text(max_size=8), json_values, max_size=5
)


_DRIVER: list[MqttButtons] = []  # built once: its paho client is costly and never connects here


def handle(topic: str, payload: bytes) -> tuple[int, float]:
    """(events emitted, bad-input delta) for one message to a driver with fresh button state."""
    col = Collector()
    if not _DRIVER:
        _DRIVER.append(MqttButtons(Mqtt(url="mqtt://127.0.0.1:1", topic_prefix=PREFIX), [BUTTON], col.ctx, "fuzz"))
    drv = _DRIVER[0]
    drv.ctx = col.ctx

    async def go() -> None:
        now = asyncio.get_running_loop().time()
        drv.buttons = {BUTTON.id: _Button(BUTTON, now + BUTTON.heartbeat_timeout)}
        await drv._handle(Inbound(topic, payload, 1, 1, False, now_ms(), 0), now)

    before = bad_inputs("mqtt")
    asyncio.run(go())
    return len(col.events), bad_inputs("mqtt") - before


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_event_payload_bytes(payload: bytes) -> None:
    events, counted = handle(f"{PREFIX}/buttons/{BUTTON.id}/event", payload)
    rejected = isinstance(parse_event(payload, BUTTON.mapping), Rejected)
    assert counted == (1 if rejected else 0)
    if rejected:
        assert events == 0  # nothing half-accepted: no liveness, no event


@settings(max_examples=100, deadline=None)
@given(json_objects)
def test_event_json_objects(obj: dict[str, Any]) -> None:
    payload = json.dumps(obj).encode()
    events, counted = handle(f"{PREFIX}/buttons/{BUTTON.id}/event", payload)
    rejected = isinstance(parse_event(payload, BUTTON.mapping), Rejected)
    assert counted == (1 if rejected else 0)
    assert events == 0 if rejected else events >= 0


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=100))
def test_status_payloads(payload: bytes) -> None:
    _, counted = handle(f"{PREFIX}/buttons/{BUTTON.id}/status", payload)
    assert counted == (1 if isinstance(parse_status(payload), Rejected) else 0)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_foreign_topics_are_counted(topic: str) -> None:
    ours = {f"{PREFIX}/buttons/{BUTTON.id}/event", f"{PREFIX}/buttons/{BUTTON.id}/status"}
    events, counted = handle(topic, b'{"type": "press"}')
    if topic not in ours:
        assert (events, counted) == (0, 1)
