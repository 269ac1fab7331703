"""MQTT button ingest: press published -> alarm.press committed in SQLite, and heartbeat throughput.

Latency: 1,000 presses (QoS 1), one at a time, from a paho publisher to the driver, whose emit
inserts the event into a real edge.store.Database (WAL, synchronous=FULL) before the driver acks.
Floor: a bare paho subscriber's publish -> on_message time on the same broker, same QoS.
Throughput: heartbeats from 500 simulated buttons as fast as the broker delivers them; the floor is
the bare subscriber's receive rate for the same stream (the driver acks each message after it is
processed, the bare subscriber lets paho ack at once). The buttons are a process of their own, as
real buttons are devices of their own: publishing threads inside the measured process would share
its GIL and measure their own contention with it, more so for the driver's two busy threads than
for the bare subscriber's one. The clock starts when the publisher has connected and is told to go.
Usage: python bench/bench_mqtt_ingest.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from bench.common import print_rows
from edge.config.devices import MqttButton
from edge.config.models import Mqtt
from edge.drivers.base import DriverContext
from edge.drivers.mqtt_buttons import MqttButtons
from edge.events import Event, EventKind
from edge.store.db import Database
from edge.store.events import insert_event
from tests.peers.mosquitto import Mosquitto

BUTTONS = 500
PREFIX = "bench"


def _client(port: int, cid: str) -> paho.Client:
    c = paho.Client(CallbackAPIVersion.VERSION2, client_id=cid)
    c.max_inflight_messages_set(0)  # unlimited: the broker's own window is what is measured
    c.max_queued_messages_set(0)
    c.connect("127.0.0.1", port)
    c.loop_start()
    return c


def _pct(xs: list[float], p: float) -> float:
    return statistics.quantiles(xs, n=100, method="inclusive")[int(p) - 1] if len(xs) > 1 else xs[0]


def bare_latency(port: int, n: int) -> list[float]:
    got = threading.Event()
    recv: list[int] = []
    sub = paho.Client(CallbackAPIVersion.VERSION2, client_id="bare-lat", clean_session=False)

    def on_message(c: paho.Client, u: object, m: paho.MQTTMessage) -> None:
        recv.append(time.perf_counter_ns())
        got.set()

    sub.on_message = on_message
    sub.connect("127.0.0.1", port)
    sub.subscribe(f"{PREFIX}/buttons/+/event", 1)
    sub.loop_start()
    time.sleep(0.2)
    pub = _client(port, "bare-pub")
    out = []
    for i in range(n):
        got.clear()
        t = time.perf_counter_ns()
        pub.publish(f"{PREFIX}/buttons/b0/event", json.dumps({"type": "press", "seq": i}), qos=1)
        got.wait(5)
        out.append((recv[-1] - t) / 1e6)
    for c in (pub, sub):
        c.disconnect()
        c.loop_stop()
    return out


def bare_rate(port: int, n: int, in_process: bool = False) -> float:
    done = threading.Event()
    count = [0]

    def on_message(c: paho.Client, u: object, m: paho.MQTTMessage) -> None:
        count[0] += 1
        if count[0] >= n:
            done.set()

    sub = paho.Client(CallbackAPIVersion.VERSION2, client_id="bare-rate")
    sub.on_message = on_message
    sub.connect("127.0.0.1", port)
    sub.subscribe(f"{PREFIX}r/buttons/+/event", 1)
    sub.loop_start()
    time.sleep(0.2)
    t = _publish_heartbeats(port, f"{PREFIX}r", n, in_process)
    done.wait(120)
    rate = n / (time.perf_counter() - t)
    sub.disconnect()
    sub.loop_stop()
    return rate


def _publish_heartbeats(port: int, prefix: str, n: int, in_process: bool = False, first_seq: int = 0) -> float:
    """Publish `n` heartbeats from a child process (or, for the earlier figure, from threads of this
    one); the perf_counter time it was told to go."""
    if in_process:
        t0 = time.perf_counter()
        _publisher(port, prefix, n, first_seq, wait_for_go=False)
        return t0
    proc = subprocess.Popen(
        [sys.executable, __file__, "--publisher", str(port), prefix, str(n), str(first_seq)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    if proc.stdout.readline().strip() != "ready":
        raise RuntimeError("the heartbeat publisher did not connect")
    t0 = time.perf_counter()
    proc.stdin.write("go\n")
    proc.stdin.flush()
    if proc.wait(120) != 0:
        raise RuntimeError("the heartbeat publisher failed")
    return t0


def _publisher(port: int, prefix: str, n: int, first_seq: int, wait_for_go: bool = True) -> None:
    """The child: connect, say ready, publish on the parent's go, wait for every PUBACK."""
    pubs = [_client(port, f"hb-{prefix}-{k}") for k in range(4)]
    if wait_for_go:
        print("ready", flush=True)
        sys.stdin.readline()
    infos = [
        pubs[i % 4].publish(
            f"{prefix}/buttons/b{i % BUTTONS}/event", json.dumps({"type": "heartbeat", "seq": first_seq + i}), 1
        )
        for i in range(n)
    ]
    for info in infos:
        info.wait_for_publish(60)
    for p in pubs:
        p.disconnect()
        p.loop_stop()


async def edge_figures(
    port: int, db: Database, presses: int, heartbeats: int, without_commit: list[float]
) -> tuple[list[float], float, float]:
    committed: dict[int, int] = {}
    commit_ms: list[float] = []
    commit_seen = asyncio.Event()

    async def emit(event: Event) -> None:
        await emit_many([event])

    async def emit_many(events: list[Event]) -> None:  # like the runtime's: one transaction for a burst
        t = time.perf_counter_ns()
        with db.tx() as conn:
            for event in events:
                insert_event(conn, event)
        for event in events:
            if event.kind == EventKind.ALARM_PRESS:
                committed[int(event.payload["seq"])] = done = time.perf_counter_ns()
                commit_ms.append((done - t) / 1e6)
                commit_seen.set()

    cfg = Mqtt(url=f"mqtt://127.0.0.1:{port}", topic_prefix=PREFIX)
    buttons = [
        MqttButton(id=f"b{i}", name=f"b{i}", zone=i + 1, transport="mqtt", heartbeat_timeout=600)
        for i in range(BUTTONS)
    ]
    driver = MqttButtons(
        cfg, buttons, DriverContext(site_id="bench", emit=emit, emit_many=emit_many), client_id="edge-bench"
    )
    task = asyncio.create_task(driver.run())
    while not driver.link.subscribed:  # noqa: ASYNC110 - set by paho's thread, no event to await
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.2)
    pub = _client(port, "edge-pub")
    lat = []
    for i in range(presses):
        commit_seen.clear()
        t = time.perf_counter_ns()
        pub.publish(f"{PREFIX}/buttons/b0/event", json.dumps({"type": "press", "seq": i}), qos=1)
        await asyncio.wait_for(commit_seen.wait(), 5)
        lat.append((committed[i] - t) / 1e6)
    without_commit[:] = [a - c for a, c in zip(lat, commit_ms, strict=True)]
    pub.disconnect()
    pub.loop_stop()
    rates = []
    for k, in_process in enumerate((False, True)):
        t0 = await asyncio.to_thread(_publish_heartbeats, port, PREFIX, heartbeats, in_process, k * heartbeats)
        while driver.counts.get("heartbeat", 0) < (k + 1) * heartbeats:  # noqa: ASYNC110 - a counter, polled
            await asyncio.sleep(0.005)
        rates.append(heartbeats / (time.perf_counter() - t0))
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return lat, rates[0], rates[1]


def run(quick: bool = False) -> list[dict[str, object]]:
    presses, heartbeats = (200, 5000) if quick else (1000, 50_000)
    with tempfile.TemporaryDirectory() as tmp:
        broker = Mosquitto(Path(tmp) / "broker").start()
        try:
            db = Database(Path(tmp) / "edge.db")
            bare = bare_latency(broker.port, presses)
            software: list[float] = []
            figures = asyncio.run(edge_figures(broker.port, db, presses, heartbeats, software))
            edge_lat, edge_rate, edge_rate_shared = figures
            floor_rate = bare_rate(broker.port, heartbeats)
            floor_rate_shared = bare_rate(broker.port, heartbeats, in_process=True)
            db.close()
        finally:
            broker.stop()
    rows: list[dict[str, object]] = []
    for p in (50, 99):
        e, b = _pct(edge_lat, p), _pct(bare, p)
        rows.append(
            {
                "figure": f"press published -> alarm.press committed, p{p} ({presses} presses)",
                "value": e,
                "unit": "ms",
                "floor": b,
                "floor_unit": f"ms (bare paho subscriber p{p})",
                "ratio": e / b,
            }
        )
    for p in (50, 99):
        e, b = _pct(software, p), _pct(bare, p)
        rows.append(
            {
                "figure": f"same, p{p}, minus the SQLite commit (fsync) itself",
                "value": e,
                "unit": "ms",
                "floor": b,
                "floor_unit": f"ms (bare paho subscriber p{p})",
                "ratio": e / b,
            }
        )
    rows.append(
        {
            "figure": f"heartbeat ingest, {BUTTONS} buttons ({heartbeats} msgs)",
            "value": edge_rate,
            "unit": "msg/s",
            "floor": floor_rate,
            "floor_unit": "msg/s (bare paho subscriber)",
            "ratio": edge_rate / floor_rate,
        }
    )
    rows.append(
        {
            "figure": "same, published from threads of the measured process (sharing its GIL)",
            "value": edge_rate_shared,
            "unit": "msg/s",
            "floor": floor_rate_shared,
            "floor_unit": "msg/s (bare paho subscriber, same)",
            "ratio": edge_rate_shared / floor_rate_shared,
        }
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--publisher", nargs=4, metavar=("PORT", "PREFIX", "N", "SEQ"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.publisher:
        port, prefix, n, seq = args.publisher
        _publisher(int(port), prefix, int(n), int(seq))
        return
    print_rows(run(args.quick))


if __name__ == "__main__":
    main()
