"""Writes alarms as fast as it can, printing each id only after its transaction committed."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

from edge.events import Event, EventKind, now_ms
from edge.states import AlarmCategory
from edge.store import Database
from edge.store.alarms import open_alarm
from edge.store.events import insert_event


def main() -> None:
    db = Database(Path(sys.argv[1]))
    while True:
        event = Event(EventKind.ALARM_PRESS, "gate-south", {"transport": "serial"})
        with db.tx() as conn:
            insert_event(conn, event)
            open_alarm(
                conn,
                alarm_id=str(uuid.uuid4()),
                event_id=event.id,
                device_id="gate-south",
                category=AlarmCategory.ALARM,
                kind=str(event.kind),
                severity="critical",
                message="一键报警",
                zone=1,
                location="南门",
                test=False,
                opened_ms=now_ms(),
            )
        sys.stdout.write(event.id + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
