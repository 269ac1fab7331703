"""Whatever a Modbus unit answers on the wire, the bus driver never crashes and counts every bad reply.

The driver's link is opened on one end of a real socat pty pair; the test plays the unit on the other
end: it reads each request and answers with arbitrary bytes (or a valid reply with noise around it).
A poll either succeeds or is counted in edge_modbus_errors_total (and, unless a mere timeout, in
edge_bad_input_total{source="modbus:..."}).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import serial
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge.config.devices import InputRef, SerialBus, SerialButton
from edge.drivers.modbus_frame import crc16
from edge.drivers.modbus_rtu import POLL_ERRORS, ModbusRtuBus
from tests.fuzz.counting import bad_inputs, total
from tests.peers.collect import Collector
from tests.peers.serial import SerialPair

UNIT = 3


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SerialPair]:
    tmp: Path = tmp_path_factory.mktemp("fuzz-modbus")
    with SerialPair(tmp / "unit", tmp / "edge") as p:
        yield p


class Unit:
    """The far end of the line: answers the next request with the given bytes."""

    def __init__(self, port: Path) -> None:
        self.port = serial.Serial(str(port), 9600, timeout=1)

    def answer(self, reply: bytes) -> threading.Thread:
        def serve() -> None:
            request = self.port.read(8)  # every read request the driver sends is 8 bytes
            if len(request) == 8:
                self.port.write(reply)
                self.port.flush()

        t = threading.Thread(target=serve, daemon=True)
        t.start()
        return t


def poll_once(pair: SerialPair, reply: bytes, timeout: float = 0.05) -> tuple[bool, float, float]:
    """(unit failed, modbus error delta, bad-input delta) for one poll answered with `reply`."""
    bus = SerialBus(id="fz", port=str(pair.b), poll_interval=0.05, timeout=timeout, offline_after=1000)
    btn = SerialButton(
        id="b", name="b", zone=1, transport="serial", bus="fz", unit=UNIT,
        input=InputRef(type="discrete_input", address=0),
    )  # fmt: skip
    drv = ModbusRtuBus(bus, [btn], Collector().ctx)
    unit_end = Unit(pair.a)

    async def go() -> bool:
        await drv.link.open(2.0)
        try:
            t = unit_end.answer(reply)
            await drv._poll(drv.units[0])
            await asyncio.to_thread(t.join, 2)
            await asyncio.sleep(0.02)  # bytes still in flight are the next test's "late" noise otherwise
            drv.link._drain()
        finally:
            drv.link.close()
        return drv.units[0].failures > 0

    errors0, bad0 = total(POLL_ERRORS, bus="fz"), bad_inputs("modbus:fz")
    try:
        failed = asyncio.run(go())
    finally:
        unit_end.port.close()
    return failed, total(POLL_ERRORS, bus="fz") - errors0, bad_inputs("modbus:fz") - bad0


def valid_reply(data: int) -> bytes:
    body = bytes([UNIT, 0x02, 1, data & 0xFF])
    return body + crc16(body).to_bytes(2, "little")


def valid_at(reply: bytes) -> int | None:
    """Where a well-formed reply to our request starts in `reply`, if anywhere."""
    for i in range(len(reply) - 5):
        if reply[i : i + 6] == valid_reply(reply[i + 3]):
            return i
    return None


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.binary(min_size=1, max_size=40)
    | st.builds(
        lambda a, d, b: a + valid_reply(d) + b, st.binary(max_size=4), st.integers(0, 255), st.binary(max_size=4)
    )
)
def test_arbitrary_replies_are_counted(pair: SerialPair, reply: bytes) -> None:
    failed, errors, bad = poll_once(pair, reply)
    at = valid_at(reply)
    if failed:
        assert errors >= 1  # every failed poll is counted by reason
    else:  # only a real reply is accepted, and any noise before it was counted
        assert at is not None
        assert bad >= (1 if at > 0 else 0)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(min_size=1, max_size=10), st.integers(0, 1))
def test_noise_before_a_good_reply_is_counted_as_garbage(pair: SerialPair, noise: bytes, bit: int) -> None:
    # Every answer here holds a good reply, so a long timeout costs nothing when it is found; the
    # default 50 ms could pass on a loaded box before the unit's thread answered at all (nothing to count).
    _, errors, bad = poll_once(pair, noise + valid_reply(bit), timeout=0.5)
    assert errors >= 1 and bad >= 1  # whether the reply was still found or not, the noise was counted
