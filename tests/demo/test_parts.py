"""The demo's parts on their own: both broker kinds carry a QoS 1 message, both virtual serial lines carry
bytes both ways, and a child that ignores SIGTERM is still gone after stop()."""

from __future__ import annotations

import shutil
import sys
import threading
import time
from pathlib import Path

import paho.mqtt.client as paho
import paho.mqtt.publish as publish
import pytest
import serial
from paho.mqtt.enums import CallbackAPIVersion

from edge.demo.broker import Broker
from edge.demo.procs import Child, SocatLine
from edge.sim.pty_pair import PtyPair


@pytest.mark.parametrize("kind", ["mosquitto", "amqtt"])
def test_broker_carries_a_message(kind: str, tmp_path: Path) -> None:
    broker = Broker(tmp_path, prefer=kind).start()
    got = threading.Event()
    sub = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"t-{kind}")
    sub.on_message = lambda *_a: got.set()
    sub.on_connect = lambda c, *_a: c.subscribe("edge/buttons/x/event", qos=1)
    try:
        assert broker.kind == kind
        sub.connect("127.0.0.1", broker.port)
        sub.loop_start()
        deadline = time.monotonic() + 10
        while not got.is_set() and time.monotonic() < deadline:
            publish.single("edge/buttons/x/event", '{"type": "press"}', qos=1, hostname="127.0.0.1", port=broker.port)
            got.wait(0.3)
        assert got.is_set()
    finally:
        sub.loop_stop()
        broker.stop()
    assert broker.child is None


@pytest.mark.parametrize("kind", ["socat", "pty"])
def test_virtual_line_both_ways(kind: str, tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    line = SocatLine(str(shutil.which("socat")), a, b) if kind == "socat" else PtyPair(a, b).start()
    try:
        with serial.Serial(str(a), 9600, timeout=1) as sa, serial.Serial(str(b), 9600, timeout=1) as sb:
            sa.write(b"\x01\x02\x03")
            assert sb.read(3) == b"\x01\x02\x03"
            sb.write(b"ok")
            assert sa.read(2) == b"ok"
    finally:
        line.stop()
    assert not a.exists() and not b.exists()


def test_child_ignoring_sigterm_is_killed(tmp_path: Path) -> None:
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); time.sleep(60)"
    log = tmp_path / "child.log"
    child = Child("stubborn", [sys.executable, "-c", code], log)
    deadline = time.monotonic() + 10
    while "up" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.02)
    started = time.monotonic()
    child.stop(grace=0.5)
    assert not child.alive() and time.monotonic() - started < 10  # kill after 0.5 s grace, not its 60 s sleep
