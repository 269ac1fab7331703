"""Numbered, forward-only schema migrations. Append; never edit a released one."""

from __future__ import annotations

MIGRATIONS: list[tuple[int, str]] = [
    (
        1,
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE devices (
            id TEXT PRIMARY KEY, type TEXT NOT NULL, name TEXT NOT NULL, location TEXT NOT NULL DEFAULT '',
            zone INTEGER, tags TEXT NOT NULL DEFAULT '[]', updated_ms INTEGER NOT NULL);
        CREATE TABLE device_state (
            device_id TEXT PRIMARY KEY, state TEXT NOT NULL, reasons TEXT NOT NULL DEFAULT '[]',
            since_ms INTEGER NOT NULL, last_seen_ms INTEGER, maintenance_until_ms INTEGER,
            detail TEXT NOT NULL DEFAULT '{}');
        CREATE TABLE events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, ts_ms INTEGER NOT NULL,
            site TEXT NOT NULL, device_id TEXT NOT NULL, kind TEXT NOT NULL, payload TEXT NOT NULL,
            test INTEGER NOT NULL DEFAULT 0);
        CREATE INDEX events_ts ON events (ts_ms);
        CREATE INDEX events_device_ts ON events (device_id, ts_ms);
        CREATE INDEX events_kind_ts ON events (kind, ts_ms);
        CREATE TABLE alarms (
            id TEXT PRIMARY KEY, event_id TEXT NOT NULL, device_id TEXT NOT NULL, category TEXT NOT NULL,
            kind TEXT NOT NULL, zone INTEGER, location TEXT NOT NULL DEFAULT '', severity TEXT NOT NULL,
            message TEXT NOT NULL DEFAULT '', state TEXT NOT NULL, test INTEGER NOT NULL DEFAULT 0,
            opened_ms INTEGER NOT NULL, acked_ms INTEGER, acked_by TEXT, ack_note TEXT,
            closed_ms INTEGER, closed_by TEXT, close_reason TEXT, escalated_ms INTEGER,
            updated_ms INTEGER NOT NULL);
        CREATE INDEX alarms_state ON alarms (state, opened_ms);
        CREATE INDEX alarms_device ON alarms (device_id, opened_ms);
        CREATE TABLE outbox (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL, transport TEXT NOT NULL,
            message TEXT NOT NULL, priority INTEGER NOT NULL DEFAULT 0, created_ms INTEGER NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0,
            next_try_ms INTEGER NOT NULL DEFAULT 0, last_error TEXT, receiver TEXT, sequence INTEGER,
            acked_ms INTEGER, UNIQUE (event_id, transport));
        CREATE INDEX outbox_pending ON outbox (state, priority, seq);
        CREATE TABLE check_results (
            device_id TEXT NOT NULL, check_name TEXT NOT NULL, ts_ms INTEGER NOT NULL,
            verdict TEXT NOT NULL, result TEXT NOT NULL, PRIMARY KEY (device_id, check_name));
        CREATE TABLE snapshots (device_id TEXT PRIMARY KEY, ts_ms INTEGER NOT NULL, jpeg BLOB NOT NULL);
        CREATE TABLE audit (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, ts_ms INTEGER NOT NULL, actor TEXT NOT NULL,
            action TEXT NOT NULL, target TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '{}');
        CREATE TABLE changes (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, ts_ms INTEGER NOT NULL, type TEXT NOT NULL,
            ref TEXT NOT NULL, data TEXT NOT NULL);
        """,
    ),
    (
        2,
        """
        CREATE TABLE patrol_checkins (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, ts_ms INTEGER NOT NULL, checkpoint_id TEXT NOT NULL,
            tag TEXT NOT NULL, guard TEXT NOT NULL DEFAULT '', source TEXT NOT NULL, reader TEXT NOT NULL DEFAULT '',
            note TEXT NOT NULL DEFAULT '', photo BLOB, received_ms INTEGER NOT NULL,
            UNIQUE (checkpoint_id, ts_ms, guard));
        CREATE INDEX patrol_checkins_ts ON patrol_checkins (ts_ms);
        """,
    ),
    (
        3,
        """
        CREATE TABLE floorplans (
            id TEXT PRIMARY KEY, name TEXT NOT NULL, building TEXT NOT NULL DEFAULT '', floor TEXT NOT NULL DEFAULT '',
            image BLOB NOT NULL, content_type TEXT NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL,
            sort INTEGER NOT NULL DEFAULT 0, updated_ms INTEGER NOT NULL);
        CREATE TABLE map_positions (
            device_id TEXT PRIMARY KEY, plan_id TEXT NOT NULL REFERENCES floorplans (id) ON DELETE CASCADE,
            x REAL NOT NULL, y REAL NOT NULL, updated_ms INTEGER NOT NULL);
        """,
    ),
    (
        4,
        """
        CREATE TABLE sessions (
            id_hash TEXT PRIMARY KEY, username TEXT NOT NULL, kiosk INTEGER NOT NULL DEFAULT 0,
            csrf TEXT NOT NULL, created_ms INTEGER NOT NULL, last_ms INTEGER NOT NULL, source TEXT NOT NULL DEFAULT '');
        CREATE INDEX sessions_user ON sessions (username);
        """,
    ),
    (
        5,
        """
        CREATE TABLE alarm_media (
            event_id TEXT PRIMARY KEY, device_id TEXT NOT NULL, camera_id TEXT NOT NULL, ts_ms INTEGER NOT NULL,
            grabbed_ms INTEGER, jpeg BLOB, error TEXT);
        """,
    ),
    (
        6,
        """
        CREATE TABLE alarm_clips (
            event_id TEXT PRIMARY KEY, device_id TEXT NOT NULL, camera_id TEXT NOT NULL, ts_ms INTEGER NOT NULL,
            state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, mp4 BLOB, start_ms INTEGER, end_ms INTEGER,
            error TEXT, updated_ms INTEGER NOT NULL);
        """,
    ),
]
