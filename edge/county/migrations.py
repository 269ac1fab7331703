"""Numbered, forward-only PostgreSQL migrations for the county store. Append; never edit a released one."""

from __future__ import annotations

MIGRATIONS: list[tuple[int, str]] = [
    (
        1,
        """
        CREATE TABLE schools (
            id TEXT PRIMARY KEY, name TEXT NOT NULL DEFAULT '', last_seen_ms BIGINT NOT NULL,
            status JSONB, status_ms BIGINT NOT NULL DEFAULT 0);
        CREATE TABLE devices (
            school TEXT NOT NULL, id TEXT NOT NULL, type TEXT NOT NULL, state TEXT NOT NULL,
            data JSONB NOT NULL, published_ms BIGINT NOT NULL, PRIMARY KEY (school, id));
        CREATE TABLE events (
            school TEXT NOT NULL, id TEXT NOT NULL, seq BIGINT NOT NULL, ts_ms BIGINT NOT NULL,
            device_id TEXT NOT NULL, kind TEXT NOT NULL, payload JSONB NOT NULL, test BOOLEAN NOT NULL,
            received_ms BIGINT NOT NULL, PRIMARY KEY (school, id));
        CREATE INDEX events_school_seq ON events (school, seq);
        CREATE INDEX events_kind_ts ON events (kind, ts_ms);
        CREATE INDEX events_ts ON events (ts_ms);
        CREATE TABLE reports (
            school TEXT NOT NULL, day DATE NOT NULL, data JSONB NOT NULL, published_ms BIGINT NOT NULL,
            PRIMARY KEY (school, day));
        """,
    ),
    (
        2,
        # People of the bureau (`edge county user`): only salted scrypt hashes. Their login sessions live
        # here too, by SHA-256 of the cookie, so any instance behind the load balancer knows them.
        """
        CREATE TABLE users (
            name TEXT PRIMARY KEY, role TEXT NOT NULL, algorithm TEXT NOT NULL, n INTEGER NOT NULL,
            salt TEXT NOT NULL, hash TEXT NOT NULL, disabled BOOLEAN NOT NULL DEFAULT false,
            created TIMESTAMPTZ NOT NULL DEFAULT now(), changed TIMESTAMPTZ);
        CREATE TABLE sessions (
            id_hash TEXT PRIMARY KEY, username TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
            kiosk BOOLEAN NOT NULL, csrf TEXT NOT NULL, created_ms BIGINT NOT NULL, last_ms BIGINT NOT NULL,
            source TEXT NOT NULL DEFAULT '');
        CREATE INDEX sessions_last ON sessions (last_ms);
        """,
    ),
    (
        3,
        # When each retained object arrived (the county's clock): a school's clock that jumped back must
        # not freeze its status at the county (edge.county.store.CLOCK_JUMP_MS).
        """
        ALTER TABLE schools ADD COLUMN status_received_ms BIGINT NOT NULL DEFAULT 0;
        ALTER TABLE devices ADD COLUMN received_ms BIGINT NOT NULL DEFAULT 0;
        ALTER TABLE reports ADD COLUMN received_ms BIGINT NOT NULL DEFAULT 0;
        """,
    ),
]
