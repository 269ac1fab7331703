"""kill -9 at random points never loses an alarm the writer reported as committed."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.helpers import REPO

ROUNDS = 20


def test_kill_9_loses_no_committed_alarm(tmp_path: Path) -> None:
    db_path = tmp_path / "crash.db"
    committed: list[str] = []
    rng = random.Random(20261122)
    for _ in range(ROUNDS):
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.store.crash_writer", str(db_path)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        first = proc.stdout.readline().strip()  # it is up and writing
        assert first
        committed.append(first)
        time.sleep(rng.uniform(0.0, 0.25))
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate()
        committed.extend(line for line in out.splitlines() if line.strip())
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    stored_events = {row[0] for row in conn.execute("SELECT id FROM events")}
    stored_alarms = {row[0] for row in conn.execute("SELECT event_id FROM alarms")}
    missing = [i for i in committed if i not in stored_events or i not in stored_alarms]
    assert not missing, f"{len(missing)} committed alarms lost of {len(committed)}"
    assert len(committed) > ROUNDS
