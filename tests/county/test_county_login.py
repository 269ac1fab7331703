"""County logins against a real PostgreSQL: the gateway's rules (edge.api.login) over the county's
users and sessions tables — CSRF on writes, slowed failures that never lock out the right password,
a disabled person out at once, and the CLI managing the accounts."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from edge.api.login import AUTH_FAILURES
from edge.api.tokens import Role
from edge.config import ConfigError
from edge.county.api import build_app
from edge.county.config import CountyConfig, load_county_config
from edge.county.store import CountyStore
from edge.county.users import People
from tests.county.county_proc import REPO
from tests.county.school import wait_for
from tests.peers.postgres import Postgres, pg_bin

pytestmark = pytest.mark.skipif(pg_bin() is None, reason="PostgreSQL is not installed (scripts/apt-packages.txt)")


@pytest.fixture
def client(pg: Postgres) -> Iterator[TestClient]:
    store = CountyStore(pg.dsn)
    people = People(pg.dsn)
    with psycopg.connect(pg.dsn, autocommit=True) as conn:
        conn.execute("TRUNCATE users CASCADE")
    people.add("alice", Role.VIEWER, "alice-pass-1", cost=2**10)
    people.add("bob", Role.ADMIN, "bob-pass-22", cost=2**10)
    people.close()
    cfg = CountyConfig.model_validate({"mqtt": {"url": "mqtt://h"}, "database": pg.dsn})
    with TestClient(build_app(cfg, store)) as c:
        yield c
    store.close()


def _failures(reason: str) -> float:
    return float(AUTH_FAILURES.labels(reason=reason)._value.get())


def test_login_csrf_and_logout(client: TestClient) -> None:
    assert client.get("/api/v1/schools").status_code == 401
    r = client.post("/api/v1/session", json={"username": "alice", "password": "alice-pass-1"})
    assert r.status_code == 200, r.text
    csrf = r.json()["csrf"]
    assert "httponly" in r.headers["set-cookie"].lower() and "samesite=strict" in r.headers["set-cookie"].lower()
    assert client.get("/api/v1/schools").status_code == 200
    assert client.get("/api/v1/me").json() == {"name": "alice", "role": "viewer", "via": "session", "csrf": csrf}
    before = _failures("csrf")
    assert client.delete("/api/v1/session").status_code == 403  # no CSRF token
    assert client.delete("/api/v1/session", headers={"X-CSRF-Token": "wrong"}).status_code == 403
    assert _failures("csrf") == before + 2
    assert client.get("/api/v1/schools").status_code == 200  # still logged in
    assert client.delete("/api/v1/session", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert client.get("/api/v1/schools").status_code == 401


def test_failures_slow_but_never_lock_out_the_right_password(client: TestClient) -> None:
    delayed = _failures("delayed")
    first = time.monotonic()
    for _ in range(7):  # past the per-account budget (5): the rest go through the slow lane
        assert client.post("/api/v1/session", json={"username": "bob", "password": "guess-guess"}).status_code == 401
    started = time.monotonic()
    r = client.post("/api/v1/session", json={"username": "bob", "password": "bob-pass-22"})
    assert r.status_code == 200, r.text  # late, not locked out
    assert time.monotonic() - started < 6
    assert _failures("delayed") >= delayed + 2  # the 7th guess and the right password waited their turn
    assert time.monotonic() - first > 1.5  # one check a second in the slow lane
    # Another account from the same address is not slowed by bob's failures beyond the address budget.
    r = client.post("/api/v1/session", json={"username": "alice", "password": "alice-pass-1"})
    assert r.status_code == 200
    # An unknown name answers as a wrong password does.
    assert client.post("/api/v1/session", json={"username": "nobody", "password": "x" * 9}).status_code == 401


def test_disabled_person_is_out_at_the_next_request(client: TestClient, pg: Postgres) -> None:
    assert client.post("/api/v1/session", json={"username": "alice", "password": "alice-pass-1"}).status_code == 200
    assert client.get("/api/v1/schools").status_code == 200
    people = People(pg.dsn)
    try:
        people.set_disabled("alice", True)
    finally:
        people.close()
    wait_for(lambda: client.get("/api/v1/schools").status_code == 401, timeout=5, what="the session ended")
    assert client.post("/api/v1/session", json={"username": "alice", "password": "alice-pass-1"}).status_code == 401


def _edge(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edge", *args],
        check=False,
        cwd=REPO,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_manages_county_accounts(tmp_path: Path, pg: Postgres) -> None:
    cfg = tmp_path / "county.yaml"
    cfg.write_text(f"mqtt: {{url: 'mqtt://127.0.0.1:1'}}\ndatabase: {pg.dsn}\n", encoding="utf-8")
    add = ["user", "add", "--name", "zhao", "--role", "operator", "--password-stdin", "-c", str(cfg)]
    assert _edge(*add, stdin="zhao-pass-33\n").returncode == 0
    again = _edge(*add, stdin="zhao-pass-33\n")
    assert again.returncode == 1 and "already exists" in again.stderr
    assert _edge(*add[:-3], "-c", str(cfg), stdin="short\n").returncode == 1  # password rules
    assert _edge("user", "disable", "--name", "zhao", "-c", str(cfg)).returncode == 0
    listed = _edge("user", "list", "-c", str(cfg))
    assert listed.returncode == 0 and "zhao\toperator\tdisabled" in listed.stdout
    nobody = _edge("user", "passwd", "--name", "nobody", "--password-stdin", "-c", str(cfg), stdin="p" * 9)
    assert nobody.returncode == 1 and "no user named" in nobody.stderr
    with psycopg.connect(pg.dsn) as conn:
        row = conn.execute("SELECT salt, hash, n FROM users WHERE name = 'zhao'").fetchone()
    assert row is not None and "zhao-pass-33" not in str(row) and row[2] >= 2**14  # a slow salted hash only


def test_county_config_has_no_users_file(tmp_path: Path) -> None:
    cfg = tmp_path / "county.yaml"
    cfg.write_text("mqtt: {url: 'mqtt://h'}\ndatabase: postgresql://x@h/d\napi: {users_file: u.yaml}\n")
    with pytest.raises(ConfigError, match="kept in the database"):
        load_county_config(cfg)
