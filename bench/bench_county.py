"""The county platform at county scale: 80 simulated schools × 100 devices → mosquitto → `edge county` → PostgreSQL.

Figures:
- ingest rate: events per second from publish to committed in PostgreSQL, for one instance and for two
  instances sharing the subscription; floor = a bare subscriber's receive rate for the same stream.
- press → visible p99: a press published by a school until its row can be read from PostgreSQL (what the
  API reads), while the 80 schools publish their everyday mix, for one instance and for two; floor = bare
  broker publish → receive p99.
- per-event cost: CPU time of the county instance and of PostgreSQL (all its processes) per ingested
  event, from /proc, for the province projection in the README.
Usage: python bench/bench_county.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import paho.mqtt.client as paho
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

from bench.common import print_rows, row
from edge.sim.county import SimCounty
from tests.county.county_proc import CountyProc
from tests.peers.mosquitto import Mosquitto
from tests.peers.postgres import Postgres


def count(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        r = conn.execute("SELECT count(*) FROM events").fetchone()
        return int(r[0]) if r else 0


def wait_count(dsn: str, target: int, timeout: float = 300) -> float:
    deadline = time.monotonic() + timeout
    while count(dsn) < target:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {count(dsn)} of {target} events arrived")
        time.sleep(0.05)
    return time.monotonic()


TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pids: list[int]) -> float:
    """User + system CPU seconds the processes have used so far."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICK


def pg_pids(pg: Postgres) -> list[int]:
    """The postmaster and its children (the county's backends among them)."""
    master = int((pg.data / "postmaster.pid").read_text().split()[0])
    kids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if int((d / "stat").read_text().rsplit(")", 1)[1].split()[1]) == master:
                    kids.append(int(d.name))
            except OSError:
                continue
    return [master, *kids]


def press_latency(sim: SimCounty, dsn: str, presses: int) -> list[float]:
    """Press → row readable, ms, with each school's everyday mix (~1 event/s each) running."""
    stop = threading.Event()

    def mix() -> None:
        while not stop.is_set():
            for s in sim.schools:
                s.background()
            time.sleep(1.0)

    bg = threading.Thread(target=mix, daemon=True)
    bg.start()
    lat = []
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            for i in range(presses):
                t = time.monotonic()
                pid = sim.schools[i % len(sim.schools)].press()
                while not conn.execute("SELECT 1 FROM events WHERE id = %s", (pid,)).fetchone():
                    time.sleep(0.001)
                lat.append((time.monotonic() - t) * 1000)
    finally:
        stop.set()
        bg.join()
    return lat


def p99(xs: list[float]) -> float:
    return statistics.quantiles(xs, n=100)[98] if len(xs) >= 2 else xs[0]


class Bare:
    """A plain subscriber: the floor (what the broker costs without the county service)."""

    def __init__(self, port: int) -> None:
        self.got = 0
        self.at: dict[str, float] = {}
        self.client = paho.Client(CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
        ready = threading.Event()
        self.client.on_connect = lambda c, *_a: c.subscribe("county/+/events", qos=1)
        self.client.on_subscribe = lambda *_a: ready.set()
        self.client.on_message = self._on
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        ready.wait(5)

    def _on(self, _c: paho.Client, _u: object, m: paho.MQTTMessage) -> None:
        self.got += 1
        if b"alarm.press" in m.payload:
            import json  # noqa: PLC0415

            self.at[json.loads(m.payload)["id"]] = time.monotonic()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def flood(sim: SimCounty, total: int) -> float:
    start = time.monotonic()
    per = total // len(sim.schools)
    for _ in range(per):
        for s in sim.schools:
            s.background()
    return start


SCHOOLS, DEVICES = 80, 100


def run(quick: bool = False) -> list[dict[str, object]]:
    schools, devices = SCHOOLS, DEVICES
    total = 8_000 if quick else 40_000
    presses = 50 if quick else 200
    tmp = Path(tempfile.mkdtemp(prefix="bench-county-"))
    broker, pg = Mosquitto(tmp / "broker"), Postgres()
    rows = []
    procs: list[CountyProc] = []
    try:
        broker.start()
        pg.start()
        sim = SimCounty(broker.url, schools, devices)
        # Floor: the same stream to a bare subscriber.
        bare = Bare(broker.port)
        assert broker.proc is not None
        broker_cpu = cpu_s([broker.proc.pid])
        t0 = flood(sim, total)
        while bare.got < total:
            time.sleep(0.01)
        floor_rate = total / (time.monotonic() - t0)
        broker_ms = (cpu_s([broker.proc.pid]) - broker_cpu) * 1000 / total  # the broker's own cost: a floor
        lat_floor = []
        for i in range(presses):
            t = time.monotonic()  # before the publish: the receive may come back before press() returns
            pid = sim.schools[i % schools].press()
            while pid not in bare.at:
                time.sleep(0.0005)
            lat_floor.append((bare.at[pid] - t) * 1000)
        bare.close()

        a = CountyProc(tmp, broker.url, pg.dsn, client_id="bench-a")
        procs.append(a)
        a.start()
        sim.publish_state()
        time.sleep(2)
        base = count(pg.dsn)
        assert a.proc is not None
        cpu0 = (cpu_s([a.proc.pid]), cpu_s(pg_pids(pg)))
        t0 = flood(sim, total)
        rate1 = total / (wait_count(pg.dsn, base + total) - t0)
        county_ms = (cpu_s([a.proc.pid]) - cpu0[0]) * 1000 / total
        pg_ms = (cpu_s(pg_pids(pg)) - cpu0[1]) * 1000 / total
        rows.append(
            row(f"ingest, 1 instance ({schools} schools)", rate1, "events/s", floor_rate, "bare subscriber events/s")
        )
        rows.append(row("CPU per event, edge county", county_ms, "ms", broker_ms, "mosquitto CPU ms/event"))
        rows.append(row("CPU per event, PostgreSQL (fsync off)", pg_ms, "ms", broker_ms, "mosquitto CPU ms/event"))
        lat1 = press_latency(sim, pg.dsn, presses)
        rows.append(
            row("press -> visible p99, 1 instance", p99(lat1), "ms", p99(lat_floor), "bare publish->receive p99 ms")
        )

        b = CountyProc(tmp, broker.url, pg.dsn, client_id="bench-b")
        procs.append(b)
        b.start()
        base = count(pg.dsn)
        t0 = flood(sim, total)
        rate2 = total / (wait_count(pg.dsn, base + total) - t0)
        rows.append(row("ingest, 2 instances sharing", rate2, "events/s", floor_rate, "bare subscriber events/s"))
        lat2 = press_latency(sim, pg.dsn, presses)
        rows.append(
            row("press -> visible p99, 2 instances", p99(lat2), "ms", p99(lat_floor), "bare publish->receive p99 ms")
        )
        rows.append(
            row(
                "press -> visible median, 1 / 2 instances",
                statistics.median(lat1),
                "ms",
                statistics.median(lat_floor),
                f"bare median ms (2 instances: {statistics.median(lat2):.1f} ms)",
            )
        )
        sim.close()
    finally:
        for proc in procs:
            proc.stop()
        pg.stop()
        broker.stop()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    rows = run(args.quick)
    for r in rows:
        r["bench"] = "county"
    print_rows(rows, f"{SCHOOLS} schools × {DEVICES} devices; {8_000 if args.quick else 40_000} events per ingest run")


if __name__ == "__main__":
    main()
