"""RS-485 Modbus RTU button bus: one driver per `serial_buses` entry, polling its units round-robin.

Never stops on line trouble: timeouts, CRC errors and noise are counted per unit and logged
rate-limited; a unit silent for `offline_after` polls is offline until it answers again; a port
that vanishes marks the bus offline and is reopened with back-off until it returns.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from typing import TYPE_CHECKING, Any, ClassVar

from prometheus_client import Counter, Gauge

from edge.clock import LOOP_STALLS, StallWatch
from edge.config.devices import SerialBus, SerialButton
from edge.drivers.base import Driver, DriverContext
from edge.drivers.modbus_frame import ExceptionReply, reply_len
from edge.drivers.modbus_link import Failure, Outcome, PortLost, SerialLink
from edge.drivers.modbus_poll import Read
from edge.drivers.modbus_round import poll_units
from edge.drivers.modbus_units import ButtonState, UnitState
from edge.drivers.registry import register
from edge.events import Event, EventKind, now_ms
from edge.metrics import bad_input

if TYPE_CHECKING:
    from edge.config import Config

log = logging.getLogger(__name__)

# Default offline detection: DESIGN.md section 1 promises a dead button flagged within 10 s.
DEFAULT_OFFLINE_S = 10.0
# Modbus RTU frames every character as 11 bits (start, 8 data, parity or a 2nd stop, stop); a read
# request is always 8 bytes.
BITS_PER_CHAR = 11
REQUEST_BYTES = 8
# A unit known offline is asked again about once a second: recovery is seen within ~1 s while a
# dead unit's reply timeout no longer lengthens every round for the live ones.
OFFLINE_PROBE_S = 1.0
# Opening a tty takes microseconds; a USB adapter mid-enumeration may take a second. Bounded either way.
OPEN_TIMEOUT_S = 3.0

POLL_ERRORS = Counter(
    "edge_modbus_errors_total", "Modbus polls without a usable reply, by reason", ["bus", "unit", "reason"]
)
POLLS = Counter("edge_modbus_polls_total", "Modbus unit polls attempted", ["bus"])
CYCLE = Gauge("edge_modbus_cycle_seconds", "Duration of the last full poll round of a bus", ["bus"])


def offline_after(bus: SerialBus) -> int:
    return bus.offline_after or math.ceil(DEFAULT_OFFLINE_S / bus.poll_interval)


@register
class ModbusRtuBus(Driver):
    type: ClassVar[str] = "modbus_rtu"

    def __init__(self, bus: SerialBus, buttons: list[SerialButton], ctx: DriverContext) -> None:
        super().__init__(bus.id, ctx)
        self.bus = bus
        self.link = SerialLink(bus.port, bus.baudrate, bus.parity, bus.stopbits, bus.bytesize)
        by_unit: dict[int, list[ButtonState]] = {}
        for b in buttons:
            by_unit.setdefault(b.unit, []).append(ButtonState(b, bus.id, levels=ctx.last_levels(b.id)))
        n = offline_after(bus)
        after_ms = None if bus.offline_after else int(DEFAULT_OFFLINE_S * 1000)
        self.units = [UnitState(u, bs, n, after_ms) for u, bs in sorted(by_unit.items())]
        self._probe_every = max(1, math.ceil(OFFLINE_PROBE_S / bus.poll_interval))
        self._cycles = 0
        self.bus_online: bool | None = None
        self.last_error = ""
        self.cycle_s = 0.0
        self._reopen_attempts = 0
        self.stalls: StallWatch = LOOP_STALLS
        self._stall_cursor = LOOP_STALLS.count
        # Label lookups take a lock and build a key: done once, not on every poll.
        self._polls_metric = POLLS.labels(bus=bus.id)
        self._cycle_metric = CYCLE.labels(bus=bus.id)
        self._timeouts = {read: self._timeout(read) for unit in self.units for read in unit.reads}

    @classmethod
    def from_config(cls, config: Config, ctx: DriverContext) -> list[Driver]:
        out: list[Driver] = []
        for bus in config.serial_buses:
            mine = [b for b in config.buttons if isinstance(b, SerialButton) and b.bus == bus.id]
            out.append(cls(bus, mine, ctx))
        return out

    async def run(self) -> None:
        try:
            while True:
                if not self.link.is_open:
                    await self._open()
                    continue
                try:
                    await self._cycle()
                except PortLost as exc:
                    self.link.close()
                    await self._bus_lost(str(exc))
        finally:
            self.link.close()

    async def _emit(self, events: list[Event]) -> None:
        for ev in events:
            await self.ctx.emit(ev)

    def _bus_payload(self) -> dict[str, Any]:
        return {"type": "bus", "transport": "serial", "bus": self.bus.id, "port": self.bus.port}

    async def _open(self) -> None:
        try:
            await self.link.open(OPEN_TIMEOUT_S)
        except (PortLost, TimeoutError) as exc:
            await self._bus_lost(str(exc) or "open timed out")
            # Back-off: poll_interval doubling up to reopen_max_delay, jittered so buses desynchronise.
            delay = min(self.bus.reopen_max_delay, self.bus.poll_interval * 2 ** min(self._reopen_attempts, 16))
            self._reopen_attempts += 1
            await asyncio.sleep(random.uniform(delay / 2, delay))  # noqa: S311 - jitter, not crypto
            return
        self._reopen_attempts = 0
        self._cycles = self._probe_every - 1  # the first round after (re)opening asks every unit
        if self.bus_online is not True:
            log.info("bus %s: port %s open", self.bus.id, self.bus.port)
            self.bus_online = True
            await self.ctx.emit(Event(EventKind.DEVICE_ONLINE, self.bus.id, self._bus_payload()))

    async def _bus_lost(self, error: str) -> None:
        self.last_error = error
        if self.bus_online is False:
            log.debug("bus %s still down: %s", self.bus.id, error)
            return
        log.warning("bus %s offline: %s", self.bus.id, error)
        self.bus_online = False
        ts = now_ms()
        payload = {**self._bus_payload(), "reason": "port_lost", "error": error}
        events = [Event(EventKind.DEVICE_OFFLINE, self.bus.id, payload, ts_ms=ts)]
        for unit in self.units:
            unit.failures = 0
            events.extend(unit.mark_offline("bus_offline", ts))
        await self._emit(events)

    async def _cycle(self) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        self._cycles += 1
        self._stalled()
        due = [u for u in self.units if u.due(self._cycles, self._probe_every)]
        await poll_units(self.link, due, self._timeouts.__getitem__, self._judge, self._polls_metric.inc, self._emit)
        self.cycle_s = loop.time() - start
        self._cycle_metric.set(self.cycle_s)
        # As fast as the line allows when the round takes longer than poll_interval.
        await asyncio.sleep(max(0.0, self.bus.poll_interval - self.cycle_s))

    def _stalled(self) -> bool:
        """True after the process itself stalled: failure counts restart from the resume."""
        self._stall_cursor, stalls = self.stalls.since(self._stall_cursor)
        for unit in self.units if stalls else ():
            unit.failures = 0
        return bool(stalls)

    def _count(self, unit: UnitState, reason: str, detail: str) -> None:
        unit.count(reason)
        POLL_ERRORS.labels(bus=self.bus.id, unit=str(unit.unit), reason=reason).inc()
        if reason == "timeout":
            log.debug("bus %s unit %s: no reply", self.bus.id, unit.unit)
        else:
            bad_input(log, f"modbus:{self.bus.id}/{unit.unit}", reason, detail)

    def _timeout(self, read: Read) -> float:
        """The configured reply timeout plus the time the frames themselves take on the wire."""
        chars = REQUEST_BYTES + reply_len(read.function, read.count)
        return self.bus.timeout + chars * BITS_PER_CHAR / self.bus.baudrate

    async def _poll(self, unit: UnitState) -> None:
        """Poll one unit and emit its events."""
        await poll_units(self.link, [unit], self._timeouts.__getitem__, self._judge, self._polls_metric.inc, self._emit)

    def _judge(
        self, unit: UnitState, read: Read, outcome: Outcome, results: list[tuple[int, ...]]
    ) -> list[Event] | None:
        """One read's outcome: None to go on with the unit's next read, else the unit's events."""
        if outcome.stale:
            self._count(unit, "late", f"{outcome.stale} stray bytes before request")
        r = outcome.result
        if isinstance(r, Failure | ExceptionReply):
            if isinstance(r, Failure):
                self._count(unit, r.reason, f"{r.received} bytes, fc {int(read.function)}")
                reason = "no_response"
            else:
                self._count(unit, "exception", f"exception code {r.code}, fc {int(read.function)}")
                reason = "modbus_exception"
            if self._stalled():  # the reply was missed while the process was stopped, not by the unit
                return []
            was_online = unit.online
            events = unit.failed(reason, now_ms())
            if events and was_online is not False:
                log.warning("bus %s unit %s offline after %s failed polls", self.bus.id, unit.unit, unit.failures)
            return events
        if r.skipped:
            self._count(unit, "garbage", f"{r.skipped} noise bytes before reply")
        results.append(r.values)
        if len(results) < len(unit.reads):
            return None
        if unit.online is False:
            log.info("bus %s unit %s answers again", self.bus.id, unit.unit)
        return unit.succeeded(results, now_ms())

    def diagnostics(self) -> dict[str, Any]:
        state = {None: "unknown", True: "online", False: "offline"}[self.bus_online]
        return {
            "type": self.type,
            "name": self.name,
            "port": self.bus.port,
            "baudrate": self.bus.baudrate,
            "state": state,
            "last_error": self.last_error,
            "cycle_s": round(self.cycle_s, 4),
            "offline_after": offline_after(self.bus),
            "units": {str(u.unit): u.diagnostics() for u in self.units},
        }
