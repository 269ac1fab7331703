"""The police link of a real `edge run` daemon against a real DC-09 receiver (issue #12 items 2-4).

- kill -9 between the outbox commit and the receiver's ACK: the receiver has taken the alarm but its
  ACK never came back (the receiver is silent), the daemon dies. The restarted daemon resends the
  alarm under the SAME DC-09 sequence, so the receiver sees it as a duplicate of what it already has.
  Before the fix (commit 9769e6f) the number of a report in flight lived only in the relay's memory:
  the restart sent it under a new one and the police got the alarm twice, neither marked duplicate.
- A primary that acknowledges every NULL and no alarm: the alarms reach the backup within the
  failover bound, and the primary shows offline. Before the fix each NULL's ACK reset the failure
  count and pulled traffic back to the primary, and no alarm was delivered.
- With AES on, a forger (`python -m edge.sim.receiver --mode plaintext_ack`, its own process, on the
  receiver's TCP or UDP address and port) answers every alarm with a plaintext ACK: the alarm stays
  undelivered, the operator sees the outbox depth and the link down, the daemon's /metrics counts
  each refused reply, and once the real receiver is back the alarm reaches it under its first
  sequence. Before the fix the plaintext ACK marked it delivered.
- A receiver outage with the production retry cap (30 s): after the receiver returns, a new press
  and everything queued reach it within 2 s. Before the fix the new press waited for the old
  back-off to run out (at the return the next retry was still ~3.5 s away; the issue measured 23.5 s
  after a 35 s outage).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.faults.site import Site, SiteSpec, panics, store_rows, until
from tests.helpers import REPO, free_port

KEY = bytes.fromhex("00112233445566778899aabbccddeeff")

ROUNDS = 3


async def test_kill_9_before_the_ack_resends_under_the_same_sequence(tmp_path: Path) -> None:
    site = await Site(tmp_path, SiteSpec(mqtt_buttons=ROUNDS, serial_buttons=0)).start()
    rx = site.receivers[0]
    try:
        await site.start_daemon()
        first_sent: list[int] = []
        for n, button in enumerate(site.buttons):
            rx.silent = True  # the receiver takes every frame and answers none
            before = len(panics(rx))
            await site.mqtt_press(button.id, release=False)  # held: no restore report behind it

            def arrived(b: int = before) -> bool:
                return len(panics(rx)) > b

            await until(arrived, 10, f"round {n}: the alarm reaches the receiver")
            site.kill_daemon()  # committed and sent, never acknowledged
            seq = panics(rx)[before].sequence
            first_sent.append(seq)
            assert not panics(rx)[before].duplicate
            rx.silent = False
            await site.start_daemon()

            def resent(s: int = seq, b: int = before) -> bool:
                return any(r.sequence == s and r.duplicate for r in panics(rx)[b + 1 :])

            await until(resent, 15, f"round {n}: the resend after the restart carries sequence {seq:04d}")
        await until(lambda: _pending(site) == 0, 15, "the outbox drains")
        await site.stop_daemon()
    finally:
        await site.stop()
    rows = store_rows(
        site.db_path, "SELECT sequence, state FROM outbox WHERE transport = 'dc09' AND priority = 0 ORDER BY seq"
    )
    assert [(r["sequence"], r["state"]) for r in rows] == [(s, "delivered") for s in first_sent]
    # Every PANIC the receiver got is one of those alarms under its one sequence.
    assert {r.sequence for r in panics(rx)} == set(first_sent)
    assert len(set(first_sent)) == ROUNDS


async def test_a_primary_acknowledging_only_nulls_fails_over(tmp_path: Path) -> None:
    police = {"supervision_interval": 0.5, "failover_after_failures": 2, "failover_after_seconds": 5}
    site = await Site(tmp_path, SiteSpec(mqtt_buttons=4, serial_buttons=0, receivers=2, police=police)).start()
    primary, backup = site.receivers
    try:
        primary.mode = "nulls_only"
        await site.start_daemon()
        await until(lambda: primary.forged >= 1, 10, "the primary acknowledges a NULL")
        t0 = time.monotonic()
        for button in site.buttons[:3]:
            await site.mqtt_press(button.id, release=False)
        # Bound: two failed attempts (ack_timeout 1 s each, 1 s back-off) well inside failover_after_seconds.
        await until(lambda: len(panics(backup)) >= 1, 8, "the first alarm reaches the backup")
        took = time.monotonic() - t0
        await until(lambda: _pending(site) == 0, 10, "every report reaches the backup")
        await site.wait_device("police-receiver-1", "offline", timeout=5)
        await asyncio.sleep(1.5)  # three more NULLs acknowledged by the primary: traffic stays away
        await site.mqtt_press(site.buttons[3].id, release=False)
        await until(lambda: len(panics(backup)) == 4 and _pending(site) == 0, 10, "the next press goes to the backup")
    finally:
        await site.stop()
    assert took < police["failover_after_seconds"], f"failover took {took:.1f} s"
    assert panics(primary) == [], "the primary never took an alarm"
    rows = store_rows(site.db_path, "SELECT receiver, state FROM outbox WHERE transport = 'dc09'")
    assert rows and {(r["receiver"], r["state"]) for r in rows} == {(backup.url, "delivered")}


async def test_after_an_outage_a_new_press_and_the_backlog_arrive_at_once(tmp_path: Path) -> None:
    police = {"retry_max_interval": 30, "supervision_interval": 0}
    site = await Site(tmp_path, SiteSpec(mqtt_buttons=3, serial_buttons=0, police=police)).start()
    rx = site.receivers[0]
    try:
        await site.start_daemon()
        a, b, c = (btn.id for btn in site.buttons)
        await site.mqtt_press(a, release=False)
        await until(lambda: len(panics(rx)) == 1, 10, "the first alarm arrives")
        await rx.stop()
        await site.mqtt_press(b, release=False)  # queued during the outage
        await asyncio.sleep(4.0)
        await rx.start()
        t0 = time.monotonic()
        await site.mqtt_press(c, release=False)  # the new press, right after the receiver's return
        await until(lambda: len(panics(rx)) >= 3, 10, "the backlog and the new press arrive")
        took = time.monotonic() - t0
        await site.stop_daemon()
    finally:
        await site.stop()
    assert took < 2.0, f"{took:.2f} s from the new press to its arrival"
    zone = {btn.id: btn.zone for btn in site.buttons}
    assert list(dict.fromkeys(r.zone for r in panics(rx))) == [zone[a], zone[b], zone[c]]


class ReceiverProcess:
    """`python -m edge.sim.receiver` as its own process: the police receiver, or a forger in its place."""

    def __init__(self, port: int, mode: str, key_file: Path, *, udp: bool) -> None:
        self.argv = [sys.executable, "-m", "edge.sim.receiver", "--port", str(port), "--mode", mode]
        self.argv += ["--key-file", str(key_file)] + (["--udp"] if udp else [])
        self.reports: list[dict[str, Any]] = []
        self.forged: list[int] = []
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> ReceiverProcess:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self._proc = await asyncio.create_subprocess_exec(*self.argv, stdout=asyncio.subprocess.PIPE, env=env)
        assert self._proc.stdout is not None
        ready = json.loads(await asyncio.wait_for(self._proc.stdout.readline(), 20))
        assert "ready" in ready, ready
        self._reader = asyncio.create_task(self._read(self._proc.stdout))
        return self

    async def _read(self, out: asyncio.StreamReader) -> None:
        while line := await out.readline():
            doc = json.loads(line)
            if "report" in doc:
                self.reports.append(doc["report"])
            elif "forged" in doc:
                self.forged.append(int(doc["forged"]))

    def panics(self) -> list[dict[str, Any]]:
        return [r for r in self.reports if r["name"] == "PANIC"]

    async def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.returncode is None:
            proc.kill()
            await proc.wait()
        if self._reader is not None:
            await self._reader  # the pipe is closed: the reader ends with it


@pytest.mark.parametrize("udp", [False, True], ids=["tcp", "udp"])
async def test_a_forger_answering_plaintext_acks_cannot_fake_a_delivery(tmp_path: Path, udp: bool) -> None:
    """A process on the receiver's address and port answers every AES alarm with a plaintext ACK, as
    anyone on the path can. Then the real receiver (its own process) is back on that port."""
    key_file = tmp_path / "dc09.key"
    key_file.write_text(KEY.hex() + "\n")
    port = free_port(socket.SOCK_DGRAM if udp else socket.SOCK_STREAM)
    url = f"dc09{'+udp' if udp else ''}://127.0.0.1:{port}"
    police = {"key_file": str(key_file), "receivers": [url]}
    site = await Site(tmp_path, SiteSpec(mqtt_buttons=1, serial_buttons=0, receivers=0, police=police)).start()
    forger = await ReceiverProcess(port, "plaintext_ack", key_file, udp=udp).start()
    honest: ReceiverProcess | None = None
    try:
        await site.start_daemon()
        await site.mqtt_press(site.buttons[0].id, release=False)
        await until(lambda: len(forger.forged) >= 2, 10, "two attempts answered with a plaintext ACK")
        status = await site.api("/status")
        async with httpx.AsyncClient(timeout=3.0) as client:
            r = await client.get(f"{site.base}/api/v1/metrics", headers={"Authorization": f"Bearer {site.token}"})
        r.raise_for_status()
        m = re.search(r'^edge_relay_replies_rejected_total\{reason="plaintext_reply"\} (\S+)$', r.text, re.M)
        assert m and float(m.group(1)) >= 2, "each refused reply is counted in /metrics"
        assert _pending(site) == 1 and forger.reports == []
        assert status["police"]["outbox_depth"] == 1
        await site.wait_device("police-receiver-1", "offline", timeout=10)
        await forger.stop()
        honest = await ReceiverProcess(port, "normal", key_file, udp=udp).start()
        await until(lambda: len(honest.panics()) >= 1 and _pending(site) == 0, 15, "the alarm is delivered")
        got = honest.panics()[0]
        assert got["encrypted"] and got["sequence"] == forger.forged[0], "the same alarm, the same sequence"
        rows = store_rows(site.db_path, "SELECT state, sequence FROM outbox WHERE transport = 'dc09'")
        assert rows == [{"state": "delivered", "sequence": got["sequence"]}]
    finally:
        await forger.stop()
        if honest is not None:
            await honest.stop()
        await site.stop()


def _pending(site: Site) -> int:
    return int(store_rows(site.db_path, "SELECT COUNT(*) AS n FROM outbox WHERE state = 'pending'")[0]["n"])
