"""Wall clock jumping +-1 h under the running daemon (libfaketime, monotonic time left alone).

What must hold:
- forward +1 h: no spurious offline flag (MQTT heartbeats keep coming, the bus keeps answering), no
  early escalation of an open alarm, no spurious police link failure; an alarm pressed after the
  jump still reaches the police (the DC-09 NAK carries the receiver's time and the relay corrects);
- back -1 h: nothing stalls: a press is relayed at once, a silent MQTT button is flagged offline
  within its heartbeat timeout, and an unacknowledged alarm escalates on time.
And the clock itself (edge.clock.SteadyClock): follows small wall-clock corrections at once and
absorbs a jump, closing the gap only slowly.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import warnings
from pathlib import Path

import pytest

from edge.clock import JUMP_MS, SLEW, STEP_MS, SteadyClock
from tests.faults.site import Site, SiteSpec, panics, store_rows, until

LIBFAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")
HEARTBEAT_TIMEOUT_S = 3.0
ESCALATE_AFTER_S = 8.0


def test_steady_clock_absorbs_jumps() -> None:
    wall, mono = [1_000_000_000 * 10**6], [5 * 10**9]
    clock = SteadyClock(lambda: wall[0], lambda: mono[0])
    start = clock()

    def advance(ms: int, wall_extra_ms: int = 0) -> int:
        mono[0] += ms * 10**6
        wall[0] += (ms + wall_extra_ms) * 10**6
        return clock()

    assert advance(1000) - start == 1000
    assert advance(1000, wall_extra_ms=JUMP_MS // 2) - start == 2000 + JUMP_MS // 2, "small steps followed"
    before = clock()
    after = advance(1000, wall_extra_ms=3_600_000)
    assert 1000 <= after - before <= 1000 + 1000 * SLEW + 1, "a +1 h jump is absorbed"
    before = clock()
    after = advance(1000, wall_extra_ms=-7_200_000)
    assert 1000 - 1000 * SLEW - 1 <= after - before <= 1000 + 1000 * SLEW + 1, "a -1 h jump too"


def _faketime_env(spec: Path) -> dict[str, str]:
    return {
        "LD_PRELOAD": str(LIBFAKETIME),
        "FAKETIME_TIMESTAMP_FILE": str(spec),
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",  # asyncio and our durations must see real monotonic time
        "FAKETIME_NO_CACHE": "1",
    }


async def _heartbeats(site: Site, button: str, stop: asyncio.Event) -> None:
    while not stop.is_set():
        await asyncio.to_thread(site.mqtt[button].heartbeat)
        await asyncio.sleep(0.5)


async def _start_under_faketime(site: Site, spec: Path) -> None:
    """Start the daemon under libfaketime; a start that hangs is retried once, with its stacks as a warning.

    libfaketime can deadlock a multithreaded process in its own wrappers (wolfcw/libfaketime#331, #373):
    seen once in CI (no answer from /healthz for 20 s), never in 60 loaded starts here, never without the
    preload. A second hang fails the test; the warning keeps the first one's stacks in the run's output.
    """
    try:
        await site.start_daemon(env=_faketime_env(spec))
        return
    except AssertionError as exc:
        if site.daemon is None or not site.daemon.alive():
            raise  # it exited: a real start-up failure, not a hang
        warnings.warn(f"daemon start under libfaketime hung; retrying once:\n{exc}", stacklevel=1)
    site.kill_daemon()
    await site.start_daemon(env=_faketime_env(spec))


async def test_wall_clock_jumps(tmp_path: Path) -> None:
    assert LIBFAKETIME.exists() and shutil.which("faketime"), "libfaketime is required (scripts/apt-test.txt)"
    spec = tmp_path / "faketime.rc"
    spec.write_text("+0\n")
    site_spec = SiteSpec(
        mqtt_buttons=2,
        serial_buttons=1,
        heartbeat_timeout=HEARTBEAT_TIMEOUT_S,
        police={"supervision_interval": 1},
        extra={"alarms": {"escalate_after": ESCALATE_AFTER_S}},
    )
    site = await Site(tmp_path, site_spec).start()
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []
    try:
        await _start_under_faketime(site, spec)
        rx = site.receivers[0]
        beating, silent = site.buttons[0], site.buttons[1]
        beats = asyncio.create_task(_heartbeats(site, beating.id, stop))
        quiet = asyncio.create_task(_heartbeats(site, silent.id, stop))
        tasks += [beats, quiet]
        await site.wait_device(beating.id, "online")
        await site.wait_device("rs485-1", "online")
        await site.mqtt_press(beating.id)
        await until(lambda: len(panics(rx)) == 1, 10, "alarm before the jump")

        # A flag the start-up raced into (a heartbeat late on a loaded box) is not the jump's doing.
        before = {dev: {f["id"] for f in site.flags(dev)} for dev in (beating.id, "rs485-1", "police-receiver-1")}
        spec.write_text("+3600\n")  # forward one hour
        await asyncio.sleep(HEARTBEAT_TIMEOUT_S + 2)
        await site.mqtt_press(beating.id)
        await until(lambda: len(panics(rx)) == 2, 10, "alarm after the forward jump")
        for dev in (beating.id, "rs485-1", "police-receiver-1"):
            new = [f for f in site.flags(dev) if f["id"] not in before[dev]]
            assert not new, f"no spurious flag for {dev} after +1 h: {new}\n{site.log_tail()}"
        # "Early" is judged per alarm: escalated sooner after opening than escalate_after allows. An
        # alarm may escalate on time meanwhile (the relay's NAK round after the jump takes a while).
        early = store_rows(
            site.db_path,
            "SELECT id, escalated_ms - opened_ms AS after_ms FROM alarms "
            "WHERE escalated_ms IS NOT NULL AND escalated_ms - opened_ms < ?",
            (ESCALATE_AFTER_S * 1000 * (1 - SLEW) - 50,),
        )
        assert not early, f"no early escalation after +1 h: {early}"

        spec.write_text("-3600\n")  # and back, two hours: an hour behind real time
        started = asyncio.get_running_loop().time()
        await site.mqtt_press(beating.id)
        await until(lambda: len(panics(rx)) == 3, 5, "alarm right after the backward jump (no stalled retry)")
        quiet.cancel()  # the second button falls silent: it must be flagged within its timeout, not an hour later
        # Read the state from the store, not the API: what must hold is the daemon's verdict, and a
        # polled HTTP call that misses a beat on a loaded box is not what this test is about.
        state_sql = "SELECT state FROM device_state WHERE device_id = ?"
        await until(
            lambda: [r["state"] for r in store_rows(site.db_path, state_sql, (silent.id,))] == ["offline"],
            HEARTBEAT_TIMEOUT_S + 5,
            f"{silent.id} offline within its heartbeat timeout after the backward jump\n{site.log_tail()}",
        )
        await until(
            lambda: bool(store_rows(site.db_path, "SELECT id FROM alarms WHERE escalated_ms IS NOT NULL")),
            ESCALATE_AFTER_S + 5,
            "open alarms escalate on time after the backward jump",
        )
        assert asyncio.get_running_loop().time() - started < ESCALATE_AFTER_S + 5
        assert not site.flags(beating.id), "the beating button never went offline"
    finally:
        stop.set()
        for t in tasks:
            t.cancel()
        await site.stop()


@pytest.mark.heavy
def test_steady_clock_many_jumps() -> None:
    """Random jumps of up to +-1 h: every measured interval stays within SLEW of the monotonic one."""

    wall, mono = [10**18], [10**9]
    clock = SteadyClock(lambda: wall[0], lambda: mono[0])
    last = clock()
    for _ in range(100_000):
        step = random.randint(1, 2000)
        jump = random.choice([0, 0, 0, random.randint(-3_600_000, 3_600_000)])
        mono[0] += step * 10**6
        wall[0] += (step + jump) * 10**6
        now = clock()
        assert abs((now - last) - step) <= max(JUMP_MS, step * SLEW + 1)
        last = now


def test_setting_the_clock_is_followed_at_once() -> None:
    """A gateway without an RTC boots in the past; when NTP sets the time, events must use it at once."""
    wall = [0]
    mono = [1_000_000_000]
    clock = SteadyClock(lambda: wall[0], lambda: mono[0])
    before = clock()
    wall[0] += (STEP_MS + 86_400_000) * 1_000_000  # set a day and more forward
    mono[0] += 1_000_000
    assert clock() - before >= STEP_MS + 86_400_000
