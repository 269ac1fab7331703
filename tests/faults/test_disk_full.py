"""Disk full on the store: the daemon keeps relaying alarms from memory and recovers when space returns.

The store is made full for real with SQLite's `PRAGMA max_page_count` on the daemon's own connection
(no root, no tmpfs) after a filler table has taken every free page; the runtime, the rule engine and
the relay are the daemon's own classes wired as edge.daemon wires them, against a real DC-09 receiver.

What must hold:
- while the store is full, every alarm press still reaches the police receiver (PANIC, its zone),
  in press order;
- the fault is shown to operators: the runtime's store status (GET /status `store.fault`, /healthz
  "degraded") names it and counts the held events; the `edge_store_fault` metric is 1;
- when space returns, the held events are committed in arrival order, each alarm's outbox row is
  recorded as delivered (with the receiver and sequence the memory send got), nothing is sent to the
  police a second time, and the fault clears.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY

from edge.config import Config, load_config
from edge.events import Event, EventKind
from edge.hub import Hub
from edge.relay.service import Relay
from edge.runtime import Runtime
from edge.sim.receiver import DemoReceiver
from edge.store import Database
from tests.faults.site import Site, SiteSpec, panics, store_rows, until

ZONES = {"b1": 1, "b2": 2}


def _config(tmp: Path, receiver_url: str) -> Config:
    buttons = "\n".join(
        f"  - {{id: {b}, name: 按钮{z}, location: 位置{z}, zone: {z}, transport: mqtt}}" for b, z in ZONES.items()
    )
    path = tmp / "edge.yaml"
    path.write_text(
        "site: {id: full-site, name: 磁盘满测试}\n"
        f"storage: {{path: {tmp / 'edge.db'}}}\n"
        'api: {listen: "127.0.0.1:8080"}\n'
        "mqtt: {url: mqtt://127.0.0.1:1}\n"
        f"buttons:\n{buttons}\n"
        f'police: {{account: "1234", supervision_interval: 0, receivers: ["{receiver_url}"], '
        "connect_timeout: 1, ack_timeout: 1, retry_max_interval: 1}\n",
        encoding="utf-8",
    )
    return load_config(path)


@dataclass
class Parts:
    db: Database
    runtime: Runtime
    relay: Relay
    rx: DemoReceiver


@contextlib.asynccontextmanager
async def _site(tmp: Path) -> AsyncIterator[Parts]:
    rx = await DemoReceiver().start()
    config = _config(tmp, rx.url)
    db = Database(config.storage.path)
    runtime = Runtime(config, db, Hub(), tick_s=0.1)
    assert config.police is not None
    relay = Relay(config.police, db, runtime.emit, config.site.id, memory=runtime.memory)
    runtime.after_commit.append(relay.notify)
    tasks = [asyncio.create_task(relay.run()), asyncio.create_task(runtime.run())]
    try:
        yield Parts(db, runtime, relay, rx)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await rx.stop()
        db.close()


def _fill(db: Database) -> None:
    """Take every free page, then cap the file at its size: the next page the store needs is refused."""
    with db.lock:
        db.conn.execute("CREATE TABLE IF NOT EXISTS filler (x BLOB)")
        pages = db.conn.execute("PRAGMA page_count").fetchone()[0]
        db.conn.execute(f"PRAGMA max_page_count = {pages}")
        for size in (4096, 512, 64, 8, 1):  # ever smaller rows, until not even the slack in a page is left
            with contextlib.suppress(sqlite3.OperationalError):
                while True:
                    db.conn.execute(f"INSERT INTO filler VALUES (randomblob({size}))")


def _free(db: Database) -> None:
    with db.lock:
        db.conn.execute("PRAGMA max_page_count = 1073741823")  # SQLite's default ceiling
        db.conn.execute("DELETE FROM filler")


def _count(db: Database, sql: str) -> int:
    return int(db.query(sql)[0]["n"])


def _fault_metric() -> float:
    return REGISTRY.get_sample_value("edge_store_fault") or 0.0


async def _press(rt: Runtime, device: str) -> Event:
    ev = Event(EventKind.ALARM_PRESS, device, {"transport": "mqtt"})
    await rt.emit(ev)
    await rt.emit(Event(EventKind.ALARM_RELEASE, device, {"transport": "mqtt"}))
    return ev


async def _until_full(rt: Runtime) -> list[Event]:
    """Press until the store refuses a write: pages of other tables may still hold a little slack."""
    presses: list[Event] = []
    while rt.store_status()["fault"] is None:
        assert len(presses) < 200, "the capped store never filled up"
        presses.append(await _press(rt, "b1"))
    return presses


async def test_disk_full_relays_from_memory_and_recovers(tmp_path: Path) -> None:
    async with _site(tmp_path) as p:
        first = [await _press(p.runtime, "b1")]
        await until(lambda: len(panics(p.rx)) == 1, 10, "the first alarm (store fine)")
        _fill(p.db)
        first += await _until_full(p.runtime)
        events_before = _count(p.db, "SELECT COUNT(*) AS n FROM events")
        backlog_before = int(p.runtime.store_status()["backlog"])  # type: ignore[call-overload]

        held = [await _press(p.runtime, b) for b in ("b2", "b1", "b2")]
        pressed = first + held
        await until(lambda: len(panics(p.rx)) == len(pressed), 10, "alarms pressed while full reach the police")
        assert [r.zone for r in panics(p.rx)] == [ZONES[e.device_id] for e in pressed], "press order kept"
        status = p.runtime.store_status()
        assert status["fault"] and "full" in str(status["fault"]), status
        assert status["backlog"] == backlog_before + 6  # three presses and three releases held in memory
        assert _fault_metric() == 1.0
        assert _count(p.db, "SELECT COUNT(*) AS n FROM events") == events_before, "nothing committed while full"

        _free(p.db)
        await until(lambda: p.runtime.store_status()["fault"] is None, 10, "the store fault clears")
        assert p.runtime.store_status()["backlog"] == 0 and _fault_metric() == 0.0
        stored = p.db.query("SELECT id FROM events WHERE kind = 'alarm.press' ORDER BY rowid")
        assert [r["id"] for r in stored] == [e.id for e in pressed], "held events committed in order"
        rows = {
            r["event_id"]: r
            for r in p.db.query("SELECT event_id, state, sequence, receiver FROM outbox WHERE priority = 0")
        }
        got = {r.sequence: r for r in panics(p.rx)}
        for e in pressed:
            row = rows[e.id]
            assert row["state"] == "delivered" and row["receiver"] == p.rx.url, row
            assert got[row["sequence"]].zone == ZONES[e.device_id], "recorded with the sequence the police got"
        await asyncio.sleep(1.0)  # a resend would come within the 1 s retry cap
        assert len(panics(p.rx)) == len(pressed), "nothing delivered from memory is sent a second time"
        opened = _count(p.db, "SELECT COUNT(*) AS n FROM alarms WHERE category = 'alarm' AND state = 'open'")
        assert opened >= 1, "the held presses opened their alarms when committed"


@pytest.mark.heavy
async def test_disk_full_long_backlog(tmp_path: Path) -> None:
    """200 presses while full, interleaved with a receiver outage: all delivered in order, then committed."""
    async with _site(tmp_path) as p:
        _fill(p.db)
        buttons = list(ZONES)
        presses = await _until_full(p.runtime)
        presses += [await _press(p.runtime, buttons[i % 2]) for i in range(100)]
        await p.rx.stop()
        presses += [await _press(p.runtime, buttons[i % 2]) for i in range(100)]
        await asyncio.sleep(1.5)
        await p.rx.start()
        await until(lambda: len({r.sequence for r in panics(p.rx)}) >= len(presses), 60, "every alarm from memory")
        zones = [r.zone for r in panics(p.rx) if not r.duplicate]
        assert zones == [ZONES[e.device_id] for e in presses], "order kept across the outage"
        _free(p.db)
        await until(lambda: p.runtime.store_status()["backlog"] == 0, 30, "backlog committed")
        pending = _count(p.db, "SELECT COUNT(*) AS n FROM outbox WHERE state = 'pending' AND priority = 0")
        assert pending == 0


# --- the daemon on a real full filesystem ------------------------------------------------------------
# A tmpfs of 8 MiB holds the store; a filler file then takes every free byte. Mounting needs root
# (CAP_SYS_ADMIN): the test says so instead of pretending; the in-process test above covers the logic.
TMPFS_SIZE = "8m"


@contextlib.contextmanager
def _tmpfs(path: Path) -> Iterator[Path]:
    path.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "tmpfs", str(path)], check=False)
    if done.returncode != 0:
        pytest.skip("mounting a tmpfs needs root; the in-process disk-full test covers the behaviour")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def _fill_fs(directory: Path) -> Path:
    """Write zeros until the filesystem refuses even one more byte (unbuffered: no flush at close)."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for chunk in (65536, 4096, 1):
            with contextlib.suppress(OSError):
                while os.write(fd, b"\0" * chunk) == chunk:
                    pass
    finally:
        os.close(fd)
    return filler


async def test_daemon_on_full_filesystem(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root; the in-process disk-full test covers the behaviour")
    with _tmpfs(tmp_path / "store") as store:
        site = await Site(tmp_path, SiteSpec(mqtt_buttons=2, serial_buttons=0, store_dir=store)).start()
        try:
            await site.start_daemon()
            rx = site.receivers[0]
            ids = [b.id for b in site.buttons]
            zone = {b.id: b.zone for b in site.buttons}
            await site.mqtt_press(ids[0])
            await until(lambda: len(panics(rx)) == 1, 10, "alarm while the disk has space")
            filler = _fill_fs(store)
            pressed = [ids[0]]
            async with httpx.AsyncClient(timeout=3) as client:
                while (await client.get(f"{site.base}/healthz")).json().get("status") != "degraded":
                    assert len(pressed) < 100, "the full filesystem never refused a write"
                    await site.mqtt_press(ids[len(pressed) % 2])
                    pressed.append(ids[len(pressed) % 2])
                    await asyncio.sleep(0.1)
                for _ in range(3):
                    await site.mqtt_press(ids[len(pressed) % 2])
                    pressed.append(ids[len(pressed) % 2])
                await until(lambda: len(panics(rx)) == len(pressed), 15, "alarms relayed from memory")
                assert [r.zone for r in panics(rx)] == [zone[b] for b in pressed], "press order kept"
                store_info = (await site.api("/status"))["store"]
                assert store_info["fault"] and store_info["backlog"] >= 3 and not store_info["ok"], store_info
                metrics = await client.get(
                    f"{site.base}/api/v1/metrics", headers={"Authorization": f"Bearer {site.token}"}
                )
                assert "edge_store_fault 1.0" in metrics.text
                assert "store: cannot write" in site.log_tail(200)

                filler.unlink()  # space returns
                await until(lambda: _healthz_ok(site), 15, "the store fault clears")
            assert (await site.api("/status"))["store"]["backlog"] == 0
            await asyncio.sleep(1.0)
            assert len(panics(rx)) == len(pressed), "nothing relayed from memory is sent again"
            rows = store_rows(
                site.db_path,
                "SELECT e.device_id, o.state FROM events e JOIN outbox o ON o.event_id = e.id "
                "WHERE e.kind = 'alarm.press' ORDER BY e.rowid",
            )
            assert [r["device_id"] for r in rows] == pressed, "every press committed, in order"
            assert all(r["state"] == "delivered" for r in rows)
        finally:
            await site.stop()


def _healthz_ok(site: Site) -> bool:
    try:
        body = httpx.get(f"{site.base}/healthz", timeout=2).json()
    except httpx.HTTPError:
        return False
    return bool(body.get("store") == "ok")
