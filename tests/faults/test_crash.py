"""Crash: random `kill -9` of the daemon during a stream of MQTT and RS-485 presses.

What must hold (DESIGN.md section 7):
- after every restart the daemon resumes (healthy again, the outbox drains);
- every press reaches the police receiver as a PANIC for the button's zone: each MQTT press (the
  persistent QoS 1 session delivers presses made while the daemon was dead) and each RS-485 press
  (held until the receiver has it, so a press made while the daemon is dead is seen when it polls
  again; a momentary RS-485 press while the daemon is dead is physically unobservable);
- every alarm.press in the store has its police report delivered, and the receiver holds that very
  report (same DC-09 sequence, zone and code);
- any other PANIC the receiver got is only a retry of the same event: the receiver itself saw the
  same sequence and data before (a resend), or it was sent just before a kill and the same
  zone's event was delivered again later (at most one such report per kill); two stored events of
  one MQTT press are only the broker redelivering it (same button, seq and device timestamp).
"""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path

import pytest

from edge.sim.receiver import Report
from tests.faults.site import ButtonSpec, Site, SiteSpec, panics, store_rows, until

# A restart of the daemon subprocess costs ~1-2 s of imports on a 2-core box; the schedule leaves it running
# for at least this long between kills so it gets work done (and at most 4x that).
MIN_UP_S = 0.8


async def _mqtt_presses(
    site: Site, buttons: list[ButtonSpec], n: int, pace_s: float, sent: list[tuple[str, int]]
) -> None:
    for i in range(n):
        b = buttons[i % len(buttons)]
        await site.mqtt_press(b.id)
        sent.append((b.id, site.mqtt[b.id].seq - 1))  # the press's seq (the release took the next one)
        await asyncio.sleep(pace_s)


async def _serial_presses(site: Site, buttons: list[ButtonSpec], n: int, done: list[str]) -> None:
    """Hold each press until the receiver has a new PANIC for its zone, then release."""
    rx = site.receivers[0]
    for i in range(n):
        b = buttons[i % len(buttons)]
        before = len(panics(rx, b.zone))
        site.serial_hold(b, True)

        def pressed(b: ButtonSpec = b, before: int = before) -> bool:
            return len(panics(rx, b.zone)) > before

        await until(pressed, 60, f"RS-485 press {i} on {b.id}")
        site.serial_hold(b, False)
        done.append(b.id)
        await asyncio.sleep(0.3)  # three polls: the release is seen (unless the daemon is dead right now)


async def _killer(site: Site, kills: int) -> int:
    done = 0
    while done < kills:
        await asyncio.sleep(random.uniform(MIN_UP_S, 4 * MIN_UP_S))
        site.kill_daemon()
        done += 1
        await asyncio.sleep(random.uniform(0, 0.5))
        await site.start_daemon()
    return done


def _check(site: Site, kills: int, mqtt_sent: list[tuple[str, int]], serial_done: list[str]) -> None:
    db = site.db_path
    zone = {b.id: b.zone for b in site.buttons}
    presses = store_rows(db, "SELECT id, device_id, ts_ms, payload FROM events WHERE kind = 'alarm.press'")
    # Every MQTT press is in the store; several events of one press only by broker redelivery.
    by_press: dict[tuple[str, int], set[int]] = {}
    for e in presses:
        p = json.loads(e["payload"])
        if p.get("transport") == "mqtt":
            by_press.setdefault((e["device_id"], int(p["seq"])), set()).add(int(p["device_ts"]))
    assert set(by_press) == set(mqtt_sent), "every MQTT press is stored, and nothing else"
    assert all(len(ts) == 1 for ts in by_press.values()), "a repeated MQTT press event is a redelivery of the same one"
    for bid in set(serial_done):
        assert sum(e["device_id"] == bid for e in presses) >= serial_done.count(bid)
    # Every press's report is delivered and the receiver has exactly that report.
    rows = store_rows(
        db, "SELECT event_id, state, sequence, message FROM outbox WHERE transport = 'dc09' AND priority = 0"
    )
    by_event = {r["event_id"]: r for r in rows}
    rx = site.receivers[0].reports
    key_index: dict[tuple[int, int | None, str | None], int] = {}
    for i, r in enumerate(rx):
        key_index[(r.sequence, r.zone, r.name)] = i  # the last report with this key
    matched: set[int] = set()
    for e in presses:
        row = by_event.get(e["id"])
        assert row is not None and row["state"] == "delivered", f"press {e['id']} of {e['device_id']} not delivered"
        key = (row["sequence"], zone[e["device_id"]], "PANIC")
        assert key in key_index, f"the receiver lacks the report of press {e['id']} (seq {row['sequence']})"
        matched.add(key_index[key])
    # Anything else the receiver got is a retry of one of those events.
    extra: list[tuple[int, Report]] = [
        (i, r) for i, r in enumerate(rx) if r.name == "PANIC" and i not in matched and not r.duplicate
    ]
    for i, r in extra:
        assert any(j > i and rx[j].zone == r.zone for j in matched), (
            f"report {r} is not a retry of a later-delivered event"
        )
    assert len(extra) <= kills, f"{len(extra)} unmatched reports for {kills} kills"


def _diagnosis(site: Site, mqtt_sent: list[tuple[str, int]], serial_done: list[str]) -> str:
    """What a CI log needs when a press is missing: which press, where it stopped, the daemon's log."""
    db = site.db_path
    payloads = [
        (e["device_id"], json.loads(e["payload"]))
        for e in store_rows(db, "SELECT device_id, payload FROM events WHERE kind = 'alarm.press'")
    ]
    stored = {(bid, int(p["seq"])) for bid, p in payloads if p.get("transport") == "mqtt"}  # as _check reads them
    undelivered = store_rows(
        db,
        "SELECT event_id, state, sequence, attempts, last_error FROM outbox"
        " WHERE transport = 'dc09' AND state != 'delivered'",
    )
    rx = site.receivers[0]
    by_zone: dict[int | None, list[int]] = {}
    for r in panics(rx):
        by_zone.setdefault(r.zone, []).append(r.sequence)
    return "\n".join(
        [
            f"MQTT presses sent {len(mqtt_sent)}, not in the store: {sorted(set(mqtt_sent) - stored)}",
            f"RS-485 presses confirmed: {len(serial_done)}",
            f"outbox rows not delivered: {undelivered}",
            f"receiver PANIC sequences by zone: {by_zone}",
            f"daemon starts: {site.starts}",
            site.log_tail(80),
        ]
    )


async def _crash_run(tmp_path: Path, presses: int, kills: int) -> None:
    site = await Site(tmp_path, SiteSpec(mqtt_buttons=2, serial_buttons=2)).start()
    try:
        await site.start_daemon()
        mqtt_buttons = [b for b in site.buttons if b.transport == "mqtt"]
        serial_buttons = [b for b in site.buttons if b.transport == "serial"]
        n_serial = presses // 4
        mqtt_sent: list[tuple[str, int]] = []
        serial_done: list[str] = []
        # Spread the MQTT stream over the kill schedule (a kill cycle: ~2.5 x MIN_UP_S up, ~1.5 s restart);
        # RS-485 presses run alongside.
        pace = max(0.02, kills * (2.5 * MIN_UP_S + 1.5) / max(1, presses - n_serial))
        killed, _, _ = await asyncio.gather(
            _killer(site, kills),
            _mqtt_presses(site, mqtt_buttons, presses - n_serial, pace, mqtt_sent),
            _serial_presses(site, serial_buttons, n_serial, serial_done),
        )
        if site.daemon is None or not site.daemon.alive():
            await site.start_daemon()
        rx = site.receivers[0]
        want = len(mqtt_sent) + len(serial_done)
        try:
            await until(
                lambda: len({(r.zone, r.sequence) for r in panics(rx)}) >= want, 60, "the receiver has every press"
            )
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{_diagnosis(site, mqtt_sent, serial_done)}") from None

        async def drained() -> bool:
            return int((await site.api("/status"))["police"]["outbox_depth"]) == 0

        async with asyncio.timeout(60):
            while not await drained():
                await asyncio.sleep(0.2)
        await site.stop_daemon()
        assert killed == kills
        _check(site, killed, mqtt_sent, serial_done)
    finally:
        await site.stop()


async def test_kill_9_during_press_stream_loses_no_alarm(tmp_path: Path) -> None:
    await _crash_run(tmp_path, presses=100, kills=6)


@pytest.mark.heavy
async def test_kill_9_heavy(tmp_path: Path) -> None:
    await _crash_run(tmp_path, presses=1000, kills=100)
