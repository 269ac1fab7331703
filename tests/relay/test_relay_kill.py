"""kill -9 of the relay process with 200 alarms in flight, several times: nothing is lost."""

from __future__ import annotations

import asyncio
import collections
import os
import random
import signal
import sys
from pathlib import Path

from edge.store import Database
from tests.peers.sia_receiver import SiaReceiver
from tests.relay.relay_support import ACCOUNT, depth, message, police, submit, until

RUNNER = Path(__file__).with_name("relay_runner.py")
ROUNDS, PER_ROUND = 3, 200


async def _start(db_path: Path, police_json: str) -> asyncio.subprocess.Process:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(RUNNER), str(db_path), police_json, stdout=asyncio.subprocess.PIPE, env=env
    )
    assert proc.stdout is not None
    assert await asyncio.wait_for(proc.stdout.readline(), 10) == b"RUNNING\n"
    return proc


async def test_kill_9_loses_nothing(tmp_path: Path) -> None:
    rng = random.Random(int.from_bytes(os.urandom(4)))
    rx = SiaReceiver(ACCOUNT)
    await rx.start()
    db_path = tmp_path / "edge.db"
    db = Database(db_path)
    cfg = police([rx.url], supervision_interval=0.5)
    police_json = cfg.model_dump_json()
    proc: asyncio.subprocess.Process | None = None
    try:
        for r in range(ROUNDS):
            # The rules committed 200 alarms (new zones) while the relay was down or busy.
            submit(db, None, [message(r * PER_ROUND + i + 1) for i in range(PER_ROUND)], cfg)
            proc = await _start(db_path, police_json)
            target = len(rx.messages()) + rng.randint(10, PER_ROUND - 20)

            def reached(t: int = target) -> bool:
                return len(rx.messages()) >= t

            await rx.wait_for(reached, timeout=30)
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
            assert depth(db) > 0  # killed with alarms still in flight
        proc = await _start(db_path, police_json)
        await until(lambda: depth(db) == 0, timeout=30)
    finally:
        if proc is not None and proc.returncode is None:
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
        await rx.stop()
    zones = collections.Counter(e.zone for e in rx.messages())
    assert set(zones) == set(range(1, ROUNDS * PER_ROUND + 1))
    # Stop-and-wait: a kill can only repeat the one alarm whose ACK came back just before it.
    duplicates = sum(n - 1 for n in zones.values())
    assert duplicates <= ROUNDS
    # Every duplicate is a retry of the same event: the store delivered each event exactly once.
    rows = db.query("SELECT event_id, state FROM outbox")
    assert len(rows) == ROUNDS * PER_ROUND and {r["state"] for r in rows} == {"delivered"}
    # Persisted sequences: no DC-09 sequence number was ever reused for a different message.
    by_seq: dict[int, set[int | None]] = collections.defaultdict(set)
    for e in rx.events:
        by_seq[e.sequence].add(e.zone if e.message_type != "NULL" else -e.sequence)
    assert all(len(z) == 1 for z in by_seq.values())
    db.close()
