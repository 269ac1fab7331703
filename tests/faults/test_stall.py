"""The daemon itself stopped (SIGSTOP/SIGCONT, as a VM pause or heavy swapping would) under real peers.

What must hold (issue 12 item 6, issue 13 "loop stalls are the gateway's fault"):
- buttons that kept beating while the daemon was stopped are not reported: no `1380` trouble to the
  police receiver, no offline event, no offline flag, and the day's report shows no outage for them;
- a button that really went silent is still flagged offline within its heartbeat timeout after the
  resume (and reported once, as itself);
- the stall is recorded as a `gateway.stall` event the operator sees in the API.

A short stall runs in the default suite; the 60 s one of the issue runs with `--heavy`.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from edge.commands.report import build
from edge.config import load_config
from edge.events import now_ms
from tests.faults.site import Site, SiteSpec, store_rows, until

HEARTBEAT_TIMEOUT_S = 3.0
BEAT_S = 0.5
# A loaded 2-core box: the silent button's flag may come this much after its timeout.
SLACK_S = 2.5


async def _beat(site: Site, button: str, stop: asyncio.Event) -> None:
    while not stop.is_set():
        await asyncio.to_thread(site.mqtt[button].heartbeat)
        await asyncio.sleep(BEAT_S)


def _offline_events(site: Site) -> list[dict[str, object]]:
    return store_rows(site.db_path, "SELECT device_id, ts_ms FROM events WHERE kind = 'device.offline' ORDER BY seq")


async def _stall(tmp_path: Path, stall_s: float) -> None:
    site = await Site(
        tmp_path, SiteSpec(mqtt_buttons=3, serial_buttons=1, heartbeat_timeout=HEARTBEAT_TIMEOUT_S)
    ).start()
    stop_beats, stop_silent = asyncio.Event(), asyncio.Event()
    beats: list[asyncio.Task[None]] = []
    try:
        beats += [asyncio.create_task(_beat(site, b, stop_beats)) for b in ("mqtt-1", "mqtt-2")]
        silent = asyncio.create_task(_beat(site, "mqtt-3", stop_silent))
        await site.start_daemon()
        for b in ("mqtt-1", "mqtt-2", "mqtt-3", "rs485-1"):
            await site.wait_device(b, "online")
        await asyncio.sleep(HEARTBEAT_TIMEOUT_S)  # every button beat through at least one timeout
        assert _offline_events(site) == [], site.log_tail()

        # mqtt-3 goes silent just before the daemon stops: its silence is real, the others' is ours.
        stop_silent.set()
        await silent
        silent_since = time.time()
        assert site.daemon is not None
        os.kill(site.daemon.pid, signal.SIGSTOP)
        try:
            await asyncio.sleep(stall_s)
        finally:
            os.kill(site.daemon.pid, signal.SIGCONT)
        resumed = time.time()
        assert resumed - silent_since < stall_s + 1

        await until(lambda: any(e["device_id"] == "mqtt-3" for e in _offline_events(site)),
                    HEARTBEAT_TIMEOUT_S + SLACK_S + 5, "the silent button flagged offline")  # fmt: skip
        flagged = next(e for e in _offline_events(site) if e["device_id"] == "mqtt-3")
        after_resume = int(str(flagged["ts_ms"])) / 1000 - resumed
        assert after_resume <= HEARTBEAT_TIMEOUT_S + SLACK_S, f"flagged {after_resume:.1f} s after the resume"
        await asyncio.sleep(HEARTBEAT_TIMEOUT_S + 1)  # time for any wrong flag to come

        offline = [e["device_id"] for e in _offline_events(site)]
        assert offline == ["mqtt-3"], (offline, site.log_tail())
        troubles = [r.zone for r in site.receivers[0].reports if r.name == "TROUBLE"]
        assert troubles == [13], troubles  # the police hear of the silent button only
        flags = {b: site.flags(b) for b in ("mqtt-1", "mqtt-2", "rs485-1")}
        assert flags == {"mqtt-1": [], "mqtt-2": [], "rs485-1": []}
        for b in ("mqtt-1", "mqtt-2", "rs485-1"):
            assert (await site.device(b))["state"] == "online"

        stalls = (await site.api("/events?kind=gateway.stall"))["items"]
        assert len(stalls) == 1, stalls
        assert stalls[0]["device_id"] == "gateway"
        assert stall_s - 1 <= stalls[0]["payload"]["seconds"] <= stall_s + 3

        # Events in the right order: per device, state changes committed in time order, and the stall
        # before the offline it led to.
        rows = store_rows(
            site.db_path,
            "SELECT seq, ts_ms, device_id, kind FROM events WHERE kind IN ('device.online', 'device.offline', "
            "'gateway.stall') ORDER BY seq",
        )
        for dev in {str(r["device_id"]) for r in rows}:
            times = [int(str(r["ts_ms"])) for r in rows if r["device_id"] == dev]
            assert times == sorted(times), (dev, rows)
        kinds = [(r["device_id"], r["kind"]) for r in rows]
        assert kinds.index(("gateway", "gateway.stall")) < kinds.index(("mqtt-3", "device.offline")), kinds

        # The day's report: the beating buttons had no outage; the silent one is offline, ongoing.
        config = load_config(site.config_path)
        today = datetime.now(ZoneInfo(config.site.timezone)).date()
        report = build(config, today, now_ms())
        outages = {d.device_id: d.outages for d in report.devices}
        assert outages["mqtt-1"] == () and outages["mqtt-2"] == () and outages["rs485-1"] == ()
        for d in report.devices:
            if d.device_id in ("mqtt-1", "mqtt-2", "rs485-1"):
                assert d.offline_ms == 0 and d.segments[-1].state == "online", d
        [silent_outage] = outages["mqtt-3"]
        assert silent_outage.end_ms is None and silent_outage.start_ms == flagged["ts_ms"]
    finally:
        stop_beats.set()
        stop_silent.set()
        await asyncio.gather(*beats)
        await site.stop()


async def test_short_stall_reports_no_button_offline(tmp_path: Path) -> None:
    await _stall(tmp_path, 8.0)


@pytest.mark.heavy
async def test_sixty_second_stall_reports_no_button_offline(tmp_path: Path) -> None:
    await _stall(tmp_path, 60.0)
