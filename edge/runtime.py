"""Where every driver event lands: commit it (and what the rules make of it) in one transaction.

`Runtime.emit` is the `emit` every driver gets. It returns only after the commit, so a driver that
awaited it may acknowledge its device; then it wakes the relay and the live stream.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from edge.config import Config
from edge.events import Event
from edge.hub import Hub
from edge.store import Database, changes
from edge.store.devices import touch
from edge.store.events import insert_event

log = logging.getLogger(__name__)


class Runtime:
    def __init__(self, config: Config, db: Database, hub: Hub) -> None:
        self.config = config
        self.db = db
        self.hub = hub
        self.after_commit: list[Callable[[], None]] = [hub.ring]
        self.events_committed = 0

    def update_config(self, config: Config) -> None:
        """Called on SIGHUP after the new config validated."""
        self.config = config

    async def emit(self, event: Event) -> None:
        if not event.site:
            event = event.with_site(self.config.site.id)
        with self.db.tx() as conn:
            insert_event(conn, event)
            changes.record_change(conn, changes.EVENT, event.id, event.as_dict())
            touch(conn, event.device_id, event.ts_ms)
        self.events_committed += 1
        for callback in self.after_commit:
            callback()
