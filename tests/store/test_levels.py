"""The input levels a device's events leave behind, which a restarted driver starts from."""

from __future__ import annotations

from pathlib import Path

from edge.events import Event, EventKind
from edge.store import Database
from edge.store.events import insert_event, last_levels


def test_levels_follow_the_newest_events(tmp_path: Path) -> None:
    db = Database(tmp_path / "e.db")
    assert last_levels(db, "b1") == {}
    for kind, payload in ((EventKind.ALARM_PRESS, {}), (EventKind.DEVICE_TAMPER, {"state": "active"})):
        with db.tx() as conn:
            insert_event(conn, Event(kind, "b1", payload))
    assert last_levels(db, "b1") == {"press": True, "tamper": True}
    for kind, payload in ((EventKind.ALARM_RELEASE, {}), (EventKind.DEVICE_TAMPER, {"state": "restored"})):
        with db.tx() as conn:
            insert_event(conn, Event(kind, "b1", payload))
    assert last_levels(db, "b1") == {"press": False, "tamper": False}
    assert last_levels(db, "other") == {}
