"""The school's uplink against real mosquitto brokers: a real `edge run`, real MQTT buttons, a county broker."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from edge.config import parse_config
from tests.county.school import REPO, Collector, School, wait_for
from tests.peers.mosquitto import Mosquitto


@pytest.fixture
def county(tmp_path: Path) -> Iterator[Mosquitto]:
    broker = Mosquitto(tmp_path / "county").start()
    yield broker
    broker.stop()


def presses(events: list[dict[str, object]]) -> list[dict[str, object]]:
    return [e for e in events if e["kind"] == "alarm.press"]


def test_uplink_config_is_strict() -> None:
    base = "site: {id: s1}\nstorage: {path: /tmp/x.db}\napi: {}\n"
    cfg = parse_config(base + "uplink: {url: mqtts://county.example:8883, username: sch-1}\n", "t.yaml")
    assert cfg.uplink is not None and cfg.uplink.topic_prefix == "county"
    with pytest.raises(Exception, match=r"tpoic_prefix"):
        parse_config(base + "uplink: {url: mqtt://h, tpoic_prefix: x}\n", "t.yaml")
    with pytest.raises(Exception, match="mqtt://HOST"):
        parse_config(base + "uplink: {url: http://h}\n", "t.yaml")


def test_press_reaches_county_with_status_and_devices(tmp_path: Path, county: Mosquitto) -> None:
    seen = Collector(county.url, "county/#")
    school = School(tmp_path, "sch-0001", county.url).start()
    try:
        wait_for(lambda: seen.last("/status"), what="retained status")
        school.press()
        got = wait_for(lambda: presses(seen.events()), what="the press at the county broker")
        assert got[0]["site"] == "sch-0001" and got[0]["device_id"] == "btn-1"
        seqs = [e["seq"] for e in seen.events()]
        assert seqs == sorted(seqs) and len(seqs) == len(set(seqs))
        wait_for(lambda: seen.last("/devices/btn-1"), what="retained device object")
        status = wait_for(
            lambda: (s := seen.last("/status")) and s["open_alarms"] and s, what="status with the open alarm"
        )
        assert status["site"]["id"] == "sch-0001"
        up = school.status()["providers"]["uplink"]
        assert up["connected"] is True
        wait_for(lambda: school.status()["providers"]["uplink"]["backlog"] == 0, what="backlog drained")
        today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()  # the school's own day
        figures = wait_for(lambda: seen.last(f"/report/{today}"), what="today's figures")
        assert figures["partial"] is True and figures["site"] == "sch-0001"
        assert figures["online_rate"]["button"]["devices"] == 2 and "compliance" in figures["retention"]
        assert figures["patrol"] == []  # no patrol section in this school's config
    finally:
        school.stop()
        seen.close()
    # Retained objects stay for a county instance that subscribes later.
    late = Collector(county.url, "county/sch-0001/status")
    try:
        assert wait_for(lambda: late.last("/status"), what="retained status for a late subscriber")
    finally:
        late.close()


def _backlog(metrics: str) -> float:
    lines = [ln for ln in metrics.splitlines() if ln.startswith("edge_uplink_backlog_events ")]
    return float(lines[0].split()[1]) if lines else -1.0


def test_broker_down_then_back_every_event_once_in_order(tmp_path: Path, county: Mosquitto) -> None:
    school = School(tmp_path, "sch-0002", county.url).start()
    seen = Collector(county.url, "county/+/events")
    try:
        school.press()
        wait_for(lambda: len(presses(seen.events())) == 1, what="first press")
        seen.close()
        county.stop()
        for _ in range(5):
            school.press()
        up = wait_for(
            lambda: (u := school.status()["providers"]["uplink"]) and not u["connected"] and u["backlog"] >= 10 and u,
            what="backlog while the broker is away",
        )
        assert up["oldest_unsent_at"] is not None
        # The gauges follow the uplink's own rounds, a moment behind /status.
        metrics = wait_for(
            lambda: (m := school.metrics()) and "edge_uplink_connected 0.0" in m and _backlog(m) >= 10 and m,
            what="uplink metrics",
        )
        assert _backlog(metrics) >= 10
        county.start()
        seen = Collector(county.url, "county/+/events")
        wait_for(lambda: school.status()["providers"]["uplink"]["backlog"] == 0, timeout=40, what="catch-up")
        wait_for(lambda: len(presses(seen.events())) >= 5, what="the presses made while away")
        got = [e for e in seen.events() if e["kind"] in ("alarm.press", "alarm.release")]
        # At least once: an event that reached no subscriber (the collector subscribes after the broker is
        # back) is sent again with those after it, so a few may come twice; the county keeps one per id.
        # Each event's last copy came in order: the resend is a whole run from the unheard one on.
        last = {e["id"]: i for i, e in enumerate(got)}
        assert len(last) == 10
        seqs = [got[i]["seq"] for i in sorted(last.values())]
        assert seqs == sorted(seqs)
    finally:
        school.stop()
        seen.close()


def test_events_nobody_subscribes_to_are_held_until_a_county_instance_does(tmp_path: Path, county: Mosquitto) -> None:
    """A broker that accepts events with "no matching subscribers" (a mosquitto restarted forgets the
    county's shared subscription until it subscribes again) has stored nothing: the uplink keeps them."""
    school = School(tmp_path, "sch-0004", county.url).start()
    try:
        wait_for(lambda: school.status()["providers"]["uplink"]["connected"], what="uplink connected")
        for _ in range(3):
            school.press()
        wait_for(lambda: "edge_uplink_unheard_total" in school.metrics(), what="an unheard event counted")
        up = school.status()["providers"]["uplink"]
        assert up["position"] == 0 and up["backlog"] >= 6  # nothing given up
        seen = Collector(county.url, "$share/edge-county/county/+/events")  # as `edge county` subscribes
        try:
            wait_for(lambda: school.status()["providers"]["uplink"]["backlog"] == 0, timeout=20, what="delivered")
            got = [e for e in seen.events() if e["kind"] in ("alarm.press", "alarm.release")]
            assert len(got) == len({e["id"] for e in got}) == 6
        finally:
            seen.close()
    finally:
        school.stop()


class PoliceReceiver:
    """A real DC-09 receiver (tests/peers/sia_receiver.py) as a child process: arrival time of each report."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.peers.sia_receiver", "--account", "12AB"],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        ready = self.proc.stdout.readline().split()
        assert ready and ready[0] == "READY", ready
        self.port = int(ready[1])
        self.reports: list[tuple[float, dict[str, Any]]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            body = json.loads(line)
            if body["message_type"] != "NULL":
                self.reports.append((time.monotonic(), body))

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


def _press_to_police_s(school: School, rx: PoliceReceiver) -> float:
    before = len(rx.reports)
    started = time.monotonic()
    school.press()
    wait_for(lambda: len(rx.reports) > before, timeout=10, what="the press at the police receiver")
    return rx.reports[before][0] - started


def test_police_relaying_never_waits_for_the_uplink(tmp_path: Path) -> None:
    """A county broker that accepts TCP and then never answers (a hung WAN), and afterwards a long
    catch-up: presses reach the police receiver as quickly as ever meanwhile."""
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(64)  # never accepted: the uplink's CONNECT waits for a CONNACK that never comes
    port = hole.getsockname()[1]
    rx = PoliceReceiver()
    school = School(tmp_path, "sch-0005", f"mqtt://127.0.0.1:{port}")
    county: Mosquitto | None = None
    try:
        police = f"police: {{account: '12AB', receivers: ['dc09://127.0.0.1:{rx.port}'], supervision_interval: 0}}\n"
        school.start(extra_uplink=", max_rate: 5, inflight: 5", extra=police)
        hung = [_press_to_police_s(school, rx) for _ in range(10)]
        up = school.status()["providers"]["uplink"]
        assert not up["connected"] and up["backlog"] >= 20
        hole.close()
        county = Mosquitto(tmp_path / "county", port=port).start()
        seen = Collector(county.url, "$share/edge-county/county/+/events")
        try:
            wait_for(lambda: school.status()["providers"]["uplink"]["connected"], timeout=60, what="uplink back")
            catching_up = [_press_to_police_s(school, rx) for _ in range(5)]  # 20+ events at 5/s: seconds
            assert school.status()["providers"]["uplink"]["backlog"] > 0  # measured while still catching up
            wait_for(lambda: school.status()["providers"]["uplink"]["backlog"] == 0, timeout=60, what="caught up")
        finally:
            seen.close()
        assert max(hung) < 3.0, hung
        assert max(catching_up) < 3.0, catching_up
    finally:
        school.stop()
        rx.stop()
        hole.close()
        if county is not None:
            county.stop()


def test_catch_up_is_paced_by_max_rate(tmp_path: Path, county: Mosquitto) -> None:
    school = School(tmp_path, "sch-0003", county.url).start(extra_uplink=", max_rate: 10, inflight: 5")
    try:
        wait_for(lambda: school.status()["providers"]["uplink"]["connected"], what="uplink connected")
        county.stop()
        for _ in range(15):
            school.press()  # 30 events while the county broker is away
        wait_for(lambda: school.status()["providers"]["uplink"]["backlog"] >= 30, what="backlog")
        county.start()
        seen = Collector(county.url, "county/+/events")
        try:
            wait_for(
                lambda: len([e for e in seen.events() if e["kind"].startswith("alarm.")]) >= 30,
                timeout=30,
                what="the backlog at the county",
            )
            # Arrival pacing: 30 events at 10/s with a burst of 5 take at least 2.5 s.
            times = seen.arrivals()
            assert times[-1] - times[0] >= 2.0, times[-1] - times[0]
        finally:
            seen.close()
    finally:
        school.stop()


def test_publish_refused_by_acl_is_reported_and_nothing_is_skipped(tmp_path: Path) -> None:
    acl = tmp_path / "acl"
    acl.write_text("pattern write county/%u/#\nuser reader\ntopic read county/#\n")
    broker = Mosquitto(
        tmp_path / "acl-broker", extra_conf=f"acl_file {acl}\n", passwords={"sch-other": "pw", "reader": "pw"}
    )
    (tmp_path / "pw").write_text("pw\n")
    # The school's account is for another site id: the broker refuses every topic under county/sch-0030/.
    school = School(tmp_path, "sch-0030", broker.url)
    try:
        broker.start()
        school.start(extra_uplink=f", username: sch-other, password_file: {tmp_path / 'pw'}")
        school.press()
        up = wait_for(
            lambda: (u := school.status()["providers"]["uplink"]) and "refused" in u["last_error"] and u,
            what="the refusal in the status",
        )
        assert up["position"] == 0 and up["backlog"] >= 2
    finally:
        school.stop()
        broker.stop()
