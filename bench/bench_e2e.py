"""End to end through `edge run`: a press on a real button simulator -> DC-09 ACK at a real receiver.

    python bench/bench_e2e.py [--quick]

- MQTT: a simulated button publishes `press` (QoS 1) to mosquitto; the daemon commits it, the rules
  relay PANIC, pysiaalarm ACKs it. Latency = receiver's receive time - the instant before publish, one
  alarm at a time (press, then release and its restore, so every press is a fresh edge). Floor: a bare
  paho publish -> receive through the same broker + a bare DC-09 request/response to the same receiver.
- RS-485: the pymodbus simulator (on a socat pty pair) closes the contact; floor = one poll interval
  (the worst case for when the contact closes) + the line time of one request/response at 9600 baud.
- Offline detection: an MQTT button stops its heartbeats / a Modbus unit goes silent -> device.offline
  committed (seen in GET /events, polled every 20 ms), against the configured timeout (10 s each).
"""

from __future__ import annotations

import argparse
import random
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import print_rows, row
from edge.relay.dc09.content import null_frame
from edge.relay.dc09.frame import encode
from edge.relay.transport_dc09 import Clock
from tests.e2e.site import ACCOUNT, Site, wait_until
from tests.peers.sia_receiver import Received

Row = dict[str, object]
BAUD = 9600
BITS_PER_CHAR = 11  # start + 8 data + parity-or-second-stop + stop: the Modbus RTU character
POLL_S = 0.2  # the config contract's default poll interval
TIMEOUT_S = 10.0  # offline timeout for both families: the design's "10 s reachable"
HEARTBEAT_S = 3.0  # live buttons beat well inside the timeout, as real ones do
MQTT_BUTTONS = 8  # round robin, so one button's press/release cycle never overlaps the next's
SERIAL_UNITS = 4  # units polled on the bus: the round is POLL_S for all of them
SILENT_UNIT = SERIAL_UNITS + 1  # the unit that loses power in the offline measurement


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


def line_time_s(request_bytes: int, reply_bytes: int) -> float:
    """Modbus RTU on the wire: both frames plus a 3.5-character silence after each."""
    char = BITS_PER_CHAR / BAUD
    return (request_bytes + reply_bytes) * char + 2 * 3.5 * char


class Waiter:
    """Wakes the bench thread when the receiver records a given (zone, Contact ID)."""

    def __init__(self, site: Site) -> None:
        self.lock = threading.Lock()
        self.want: tuple[int, str] | None = None
        self.got: Received | None = None
        self.done = threading.Event()
        site.receiver.on_event = self._on

    def _on(self, rec: Received) -> None:
        with self.lock:
            if self.want == (rec.zone, rec.cid):
                self.got, self.want = rec, None
                self.done.set()

    def arm(self, zone: int, cid: str) -> None:
        with self.lock:
            self.want, self.got = (zone, cid), None
            self.done.clear()

    def wait(self, timeout: float = 10.0) -> Received:
        if not self.done.wait(timeout):
            raise TimeoutError(f"receiver did not get {self.want}")
        assert self.got is not None
        return self.got


def tcp_floor(port: int, n: int) -> list[float]:
    clock, out = Clock(), []
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for seq in range(1, n + 1):
            raw = encode(null_frame(account=ACCOUNT, sequence=seq % 9999 + 1, timestamp=clock.now(), line="0"))
            t0 = time.perf_counter()
            s.sendall(raw)
            buf = b""
            while not buf.endswith(b"\r"):
                buf += s.recv(256)
            out.append((time.perf_counter() - t0) * 1000)
    return out


def broker_floor(url: str, n: int) -> list[float]:
    parts = urlsplit(url)
    got = threading.Event()
    sub = paho.Client(CallbackAPIVersion.VERSION2, client_id="bench-floor-sub")
    pub = paho.Client(CallbackAPIVersion.VERSION2, client_id="bench-floor-pub")
    sub.on_message = lambda *_a: got.set()
    for c in (sub, pub):
        c.connect(parts.hostname or "127.0.0.1", parts.port or 1883)
        c.loop_start()
    sub.subscribe("bench/floor", qos=1)
    time.sleep(0.2)  # the SUBACK
    out: list[float] = []
    try:
        for _ in range(n):
            got.clear()
            t0 = time.perf_counter()
            pub.publish("bench/floor", b'{"type":"press"}', qos=1)
            if not got.wait(5):
                raise TimeoutError("bare broker hop lost a message")
            out.append((time.perf_counter() - t0) * 1000)
    finally:
        for c in (sub, pub):
            c.disconnect()
            c.loop_stop()
    return out


class Beats:
    """Every button beats every HEARTBEAT_S, until `silence(id)` sends its last beat and stops it."""

    def __init__(self, site: Site) -> None:
        self.site, self.skip, self.lock, self.stop = site, set[str](), threading.Lock(), threading.Event()
        self.thread = threading.Thread(target=self._run, name="bench-heartbeats", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.wait(HEARTBEAT_S):
            with self.lock:
                for bid, b in self.site.buttons.items():
                    if bid not in self.skip:
                        b.heartbeat()

    def silence(self, bid: str) -> float:
        """The time of `bid`'s last heartbeat."""
        with self.lock:
            self.skip.add(bid)
            self.site.buttons[bid].heartbeat()
            return time.time()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=HEARTBEAT_S + 1)


def mqtt_latency(site: Site, waiter: Waiter, n: int) -> list[float]:
    ids = [b for b in site.mqtt_zones if b != "hb"]
    out: list[float] = []
    for i in range(n):
        bid = ids[i % len(ids)]
        zone = site.mqtt_zones[bid]
        waiter.arm(zone, "1120")
        t0 = time.time()
        site.buttons[bid].press()
        out.append((waiter.wait().received_at - t0) * 1000)
        waiter.arm(zone, "3120")
        site.buttons[bid].release()
        waiter.wait()
    return out


def serial_latency(site: Site, waiter: Waiter, n: int) -> list[float]:
    ids = [b for b, (unit, _, _) in site.serial.items() if unit != SILENT_UNIT]
    out: list[float] = []
    for i in range(n):
        bid = ids[i % len(ids)]
        unit, inp, zone = site.serial[bid]
        # A person presses at any moment of the poll round; pressing right after the restore's ACK would
        # always land just after a poll and measure the worst case every time.
        time.sleep(random.uniform(0, POLL_S))
        waiter.arm(zone, "1120")
        t0 = time.time()
        site.peers.run(lambda u=unit, a=inp: site.modbus.press(u, a))  # type: ignore[misc]
        out.append((waiter.wait().received_at - t0) * 1000)
        waiter.arm(zone, "3120")
        site.peers.run(lambda u=unit, a=inp: site.modbus.release(u, a))  # type: ignore[misc]
        waiter.wait()
    return out


def _offline_seen(site: Site, device: str, after_seq: int) -> float | None:
    r = site.api("GET", "/events", params={"device": device, "kind": "device.offline", "limit": 5})
    return time.time() if any(e["seq"] > after_seq for e in r.json()["items"]) else None


def offline_delays(site: Site, beats: Beats) -> tuple[float, float]:
    """Seconds from the last heartbeat / the unit going silent to device.offline in the store."""
    last = site.api("GET", "/events", params={"limit": 1}).json()["items"]
    seq = last[0]["seq"] if last else 0
    t_mqtt = beats.silence("hb")  # it beat all along, so no earlier offline of it can be mistaken for this one
    site.peers.run(lambda: site.modbus.set_silent(SILENT_UNIT, True))
    t_bus = time.time()
    seen: dict[str, float] = {}
    deadline = time.monotonic() + 3 * TIMEOUT_S
    while len(seen) < 2 and time.monotonic() < deadline:
        for dev in ("hb", "unit5"):
            if dev not in seen and (at := _offline_seen(site, dev, seq)) is not None:
                seen[dev] = at
        time.sleep(0.02)
    site.peers.run(lambda: site.modbus.set_silent(SILENT_UNIT, False))
    if len(seen) < 2:
        raise TimeoutError(f"offline not detected: {seen}")
    return seen["hb"] - t_mqtt, seen["unit5"] - t_bus


def run(quick: bool = False) -> list[Row]:
    n_mqtt, n_serial = (100, 20) if quick else (1000, 100)
    mqtt = {f"m{i}": 100 + i for i in range(MQTT_BUTTONS)} | {"hb": 200}
    serial = {f"s{u}": (u, 0, u) for u in range(1, SERIAL_UNITS + 1)} | {"unit5": (SILENT_UNIT, 0, 5)}
    with tempfile.TemporaryDirectory() as tmp:
        site = Site(Path(tmp), serial, mqtt, poll_interval=POLL_S, heartbeat_timeout=TIMEOUT_S, aes=False)
        beats: Beats | None = None
        try:
            site.start_peers()
            floor_tcp = tcp_floor(site.receiver.port, n_mqtt)
            floor_mqtt = broker_floor(site.broker.url, n_mqtt)
            site.write_config(site.config())
            site.start_daemon(log_level="warning")
            wait_until(lambda: site.api("GET", "/devices/s1").json()["state"] == "online", 10, "bus online")
            waiter = Waiter(site)
            beats = Beats(site)
            lat_mqtt = mqtt_latency(site, waiter, n_mqtt)
            lat_serial = serial_latency(site, waiter, n_serial)
            off_mqtt, off_bus = offline_delays(site, beats)
        finally:
            if beats is not None:
                beats.close()
            site.stop()
    rows: list[Row] = []
    for name, q in (("p50", 0.5), ("p99", 0.99), ("max", 1.0)):
        floor = pct(floor_tcp, q) + pct(floor_mqtt, q)
        rows.append(
            row(f"MQTT press->DC-09 ACK {name} ({n_mqtt} alarms)", pct(lat_mqtt, q), "ms", floor,
                 "ms (bare broker hop + bare DC-09 req/resp)")
        )  # fmt: skip
    # Reading 1 discrete input: request 8 bytes; reply = unit, fc, count, 1 data byte, CRC 2 = 6 bytes.
    line = line_time_s(8, 6)
    floor_serial = (POLL_S + line) * 1000
    for name, q in (("p50", 0.5), ("p99", 0.99), ("max", 1.0)):
        rows.append(
            row(f"RS-485 press->DC-09 ACK {name} ({n_serial} alarms, {SERIAL_UNITS + 1} units)", pct(lat_serial, q),
                 "ms", floor_serial, f"ms (poll {POLL_S * 1000:.0f} ms + line {line * 1000:.1f} ms @ {BAUD})")
        )  # fmt: skip
    rows.append(row("offline detect: MQTT heartbeat stop", off_mqtt, "s", TIMEOUT_S, "s (heartbeat_timeout)"))
    rows.append(row("offline detect: Modbus unit silent", off_bus, "s", TIMEOUT_S, "s (bus offline timeout)"))
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="100 MQTT and 20 RS-485 alarms instead of 1,000 and 100")
    args = p.parse_args()
    print_rows(
        run(args.quick),
        footer="bars (DESIGN.md 1): MQTT p99 <= 500 ms; RS-485 <= poll interval + 200 ms; offline within its timeout",
    )


if __name__ == "__main__":
    main()
