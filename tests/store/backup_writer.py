"""Commits pairs (an event and its audit row) in one transaction each, as fast as it can, until killed.

Run by tests/store/test_backup.py as a separate process next to `edge backup`: a consistent backup
holds as many events as audit rows, whatever moment it was taken at.
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

from edge.store.db import connect


def main(path: str) -> None:
    conn = connect(Path(path))
    n = 0
    while True:
        n += 1
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT INTO events (id, ts_ms, site, device_id, kind, payload)"
            " VALUES (?, ?, 's', 'd', 'alarm.press', '{}')",
            (str(uuid.uuid4()), n),
        )
        conn.execute("INSERT INTO audit (ts_ms, actor, action, target) VALUES (?, 'writer', 'test', 'd')", (n,))
        conn.execute("COMMIT")
        if n == 1:
            print("writing", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
