"""Alarm relay latency: enqueue (committed) -> DC-09 ACK written by a real receiver (pysiaalarm).

One alarm at a time (latency, not throughput), through the outbox on a file-backed SQLite store with
synchronous=FULL, to a pysiaalarm receiver running in its own process. Floor: a bare TCP
request/response (a pre-encoded DC-09 NULL and its ACK) to that same receiver process.
The MQTT hop of the full press -> ACK path is added by the lead's end-to-end benchmark.

    python bench/bench_relay.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import print_rows  # noqa: E402
from edge.config.police import Police  # noqa: E402
from edge.events import Event, now_ms  # noqa: E402
from edge.relay.dc09.content import null_frame  # noqa: E402
from edge.relay.dc09.frame import encode  # noqa: E402
from edge.relay.message import PoliceCode, PoliceMessage  # noqa: E402
from edge.relay.service import Relay  # noqa: E402
from edge.relay.transport_dc09 import Clock  # noqa: E402
from edge.store import Database  # noqa: E402
from edge.store.outbox import enqueue  # noqa: E402
from tests.peers.sia_receiver import free_port  # noqa: E402

ACCOUNT = "12AB"


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


Receiver = tuple[asyncio.subprocess.Process, asyncio.Queue[dict[str, object]], "asyncio.Task[None]"]


async def _receiver(port: int) -> Receiver:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "tests/peers/sia_receiver.py"),
        "--port",
        str(port),
        "--account",
        ACCOUNT,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 15)
    assert line.startswith(b"READY"), line
    queue: asyncio.Queue[dict[str, object]] = asyncio.Queue()

    async def pump() -> None:
        assert proc.stdout is not None
        while line := await proc.stdout.readline():
            queue.put_nowait(json.loads(line))

    return proc, queue, asyncio.create_task(pump())


async def _floor(port: int, n: int) -> list[float]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    clock, out = Clock(), []
    for seq in range(1, n + 1):
        raw = encode(null_frame(account=ACCOUNT, sequence=seq % 9999 + 1, timestamp=clock.now(), line="0"))
        t0 = time.perf_counter()
        writer.write(raw)
        await reader.readuntil(b"\r")
        out.append((time.perf_counter() - t0) * 1000)
    writer.close()
    return out


async def _relay(
    port: int, n: int, tmp: Path, queue: asyncio.Queue[dict[str, object]]
) -> tuple[list[float], list[float]]:
    """Per alarm: (enqueue incl. its fsync'd commit -> ACK, committed -> ACK) in ms."""
    db = Database(tmp / "edge.db")
    cfg = Police.model_validate(
        {"account": ACCOUNT, "receivers": [f"dc09://127.0.0.1:{port}"], "supervision_interval": 0}
    )

    async def emit(event: Event) -> None:
        return None

    relay = Relay(cfg, db, emit, "bench")
    task = asyncio.create_task(relay.run())
    out: list[float] = []
    after_commit: list[float] = []
    try:
        for i in range(n):
            zone = i % 999 + 1
            msg = PoliceMessage(str(uuid.uuid4()), f"btn-{zone}", PoliceCode.PANIC, zone, now_ms())
            t0 = time.time()
            with db.tx() as conn:
                enqueue(conn, msg, ["dc09"])
            t1 = time.time()
            relay.notify()
            while True:
                ev = await asyncio.wait_for(queue.get(), 10)
                if ev["message_type"] != "NULL" and ev["zone"] == zone:
                    break
            out.append((float(ev["received_at"]) - t0) * 1000)  # type: ignore[arg-type]
            after_commit.append((float(ev["received_at"]) - t1) * 1000)  # type: ignore[arg-type]
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        db.close()
    return out, after_commit


async def _run(quick: bool) -> list[dict[str, object]]:
    n = 200 if quick else 1000
    port = free_port()
    proc, queue, pump = await _receiver(port)
    try:
        floor = await _floor(port, n)
        with tempfile.TemporaryDirectory() as tmp:
            relay, committed = await _relay(port, n, Path(tmp), queue)
    finally:
        proc.kill()
        await proc.wait()
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pump
    rows: list[dict[str, object]] = []
    for name, q in (("p50", 0.5), ("p99", 0.99), ("max", 1.0)):
        value, base = pct(relay, q), pct(floor, q)
        rows.append(
            {
                "figure": f"relay enqueue->DC-09 ACK {name} ({n} alarms)",
                "value": round(value, 3),
                "unit": "ms",
                "floor": round(base, 3),
                "floor_unit": "ms (bare TCP request/response, same receiver)",
                "ratio": round(value / base, 2) if base else None,
            }
        )
    for name, q in (("p50", 0.5), ("p99", 0.99)):
        value, base = pct(committed, q), pct(floor, q)
        rows.append(
            {
                "figure": f"relay committed->DC-09 ACK {name} (relay's own share)",
                "value": round(value, 3),
                "unit": "ms",
                "floor": round(base, 3),
                "floor_unit": "ms (bare TCP request/response, same receiver)",
                "ratio": round(value / base, 2) if base else None,
            }
        )
    rows.append(
        {
            "figure": "relay enqueue->ACK mean",
            "value": round(statistics.fmean(relay), 3),
            "unit": "ms",
            "floor": round(statistics.fmean(floor), 3),
            "floor_unit": "ms",
            "ratio": round(statistics.fmean(relay) / statistics.fmean(floor), 2),
        }
    )
    return rows


def run(quick: bool = False) -> list[dict[str, object]]:
    return asyncio.run(_run(quick))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="200 alarms instead of 1,000")
    args = p.parse_args()
    print_rows(
        run(args.quick),
        footer="(bar: press -> ACK p99 <= 500 ms over MQTT; bench_e2e measures the MQTT hop end to end)",
    )


if __name__ == "__main__":
    main()
