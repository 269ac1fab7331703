"""A small daemon stand-in for the kill -9 test: runs one Relay on a store until killed.

    python tests/relay/relay_runner.py DB_PATH POLICE_JSON

relay.link events are committed to the store's event log, as the daemon's emit does.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path

from edge.config.police import Police
from edge.events import Event
from edge.relay.service import Relay
from edge.store import Database
from edge.store.events import insert_event


async def main(db_path: str, police_json: str) -> None:
    db = Database(Path(db_path))
    cfg = Police.model_validate(json.loads(police_json))

    async def emit(event: Event) -> None:
        with db.tx() as conn:
            insert_event(conn, event)

    relay = Relay(cfg, db, emit, "sch-kill")
    sys.stdout.write("RUNNING\n")
    sys.stdout.flush()
    await relay.run()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    asyncio.run(main(sys.argv[1], sys.argv[2]))
