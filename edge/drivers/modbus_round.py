"""One poll round of a bus run from the link's callbacks: each reply starts the next request at once.

Awaiting every transaction would wake the polling task once per unit (a loop pass, a future and a
task step each time); at 16 units x 5 Hz that was most of an idle gateway's CPU. So a round sends the
next request from inside the callback that received the previous reply, and resolves its future only
when a unit's poll produced events (they are emitted before the next unit is asked: a press is not
held back by the rest of the round) or when the round is over.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from edge.drivers.modbus_link import Outcome, PortLost, SerialLink
from edge.drivers.modbus_poll import Read
from edge.drivers.modbus_units import UnitState
from edge.events import Event

# (unit, read, its outcome, the values of the unit's reads so far) -> None: ask the unit's next read;
# a list: the unit is done, with these events.
Judge = Callable[[UnitState, Read, Outcome, list[tuple[int, ...]]], list[Event] | None]


class Round:
    """Polls `units[start:]` in order; `done` gets (index of the next unit to poll, events to emit)."""

    __slots__ = ("_done", "_i", "_judge", "_k", "_link", "_on_unit", "_results", "_timeout", "_units")

    def __init__(
        self,
        link: SerialLink,
        units: Sequence[UnitState],
        start: int,
        timeout: Callable[[Read], float],
        judge: Judge,
        on_unit: Callable[[], None],
        done: asyncio.Future[tuple[int, list[Event]]],
    ) -> None:
        self._link, self._units, self._i, self._k = link, units, start, 0
        self._timeout, self._judge, self._on_unit, self._done = timeout, judge, on_unit, done
        self._results: list[tuple[int, ...]] = []

    def start(self) -> None:
        self._next_unit()

    def _next_unit(self) -> None:
        if self._i >= len(self._units):
            self._done.set_result((self._i, []))
            return
        self._k, self._results = 0, []
        self._on_unit()
        self._send()

    def _send(self) -> None:
        unit = self._units[self._i]
        read = unit.reads[self._k]
        try:
            self._link.start(unit.unit, read.function, read.address, read.count, self._timeout(read), self._reply)
        except PortLost as exc:
            self._done.set_exception(exc)

    def _reply(self, outcome: Outcome | PortLost) -> None:
        if self._done.done():  # the driver stopped waiting (cancelled)
            return
        try:
            if isinstance(outcome, PortLost):
                raise outcome
            unit = self._units[self._i]
            events = self._judge(unit, unit.reads[self._k], outcome, self._results)
            if events is None:
                self._k += 1
                self._send()
                return
            self._i += 1
            if events:
                self._done.set_result((self._i, events))
                return
            self._next_unit()
        except Exception as exc:  # noqa: BLE001 - a callback's error must reach the awaiting driver, not the loop's log
            self._done.set_exception(exc)


async def poll_units(
    link: SerialLink,
    units: Sequence[UnitState],
    timeout_of: Callable[[Read], float],
    judge: Judge,
    on_unit: Callable[[], None],
    emit: Callable[[list[Event]], Awaitable[None]],
) -> None:
    """Poll every unit once, in order, emitting each unit's events before the next unit is asked."""
    loop = asyncio.get_running_loop()
    i = 0
    while i < len(units):
        done: asyncio.Future[tuple[int, list[Event]]] = loop.create_future()
        Round(link, units, i, timeout_of, judge, on_unit, done).start()
        try:
            i, events = await done
        finally:
            if not done.done():
                link.cancel()
        await emit(events)
