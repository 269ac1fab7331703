"""Pure RTU framing: cross-checked against pymodbus's own framer, and never crashing on noise."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pymodbus.framer import FramerRTU
from pymodbus.pdu import DecodePDU
from pymodbus.pdu.bit_message import ReadDiscreteInputsResponse
from pymodbus.pdu.register_message import ReadHoldingRegistersResponse

from edge.config.devices import InputRef
from edge.drivers.modbus_frame import (
    ExceptionReply,
    Function,
    Pending,
    Reply,
    build_read,
    build_reply,
    crc16,
    decode_reply,
    with_crc,
)
from edge.drivers.modbus_poll import Read, plan_reads, sample


@given(st.binary(max_size=64))
def test_crc_matches_pymodbus(data: bytes) -> None:
    swapped = FramerRTU.compute_CRC(data)
    assert crc16(data) == ((swapped & 0xFF) << 8) | (swapped >> 8)


def test_request_is_what_pymodbus_server_decodes() -> None:
    frame = build_read(7, Function.READ_DISCRETE_INPUTS, 16, 16)
    assert frame[:6] == bytes.fromhex("070200100010") and len(frame) == 8  # unit, fc, addr, count, CRC
    used, pdu = FramerRTU(DecodePDU(True)).handleFrame(frame, 0, 0)
    assert used == len(frame) and pdu is not None
    assert (pdu.dev_id, pdu.function_code, pdu.address, pdu.count) == (7, 2, 16, 16)


@given(st.lists(st.booleans(), min_size=1, max_size=64), st.integers(1, 247))
def test_decodes_pymodbus_bit_replies(bits: list[bool], unit: int) -> None:
    pdu = ReadDiscreteInputsResponse(dev_id=unit, bits=bits + [False] * (-len(bits) % 8))
    frame = FramerRTU(DecodePDU(False)).buildFrame(pdu)
    r = decode_reply(frame, unit, Function.READ_DISCRETE_INPUTS, len(bits))
    assert isinstance(r, Reply) and r.values == tuple(int(b) for b in bits) and r.skipped == 0


@given(st.lists(st.integers(0, 0xFFFF), min_size=1, max_size=20), st.binary(max_size=20))
def test_decodes_register_replies_after_noise(regs: list[int], noise: bytes) -> None:
    frame = FramerRTU(DecodePDU(False)).buildFrame(ReadHoldingRegistersResponse(dev_id=3, registers=regs))
    assert frame == build_reply(3, Function.READ_HOLDING_REGISTERS, regs)
    r = decode_reply(noise + frame, 3, Function.READ_HOLDING_REGISTERS, len(regs))
    # Noise could in theory hold a valid frame by chance; with CRC that needs 2^-16 luck per candidate.
    assert isinstance(r, Reply) and r.values == tuple(regs)


def test_exception_crc_and_partial() -> None:
    exc = with_crc(bytes([1, 0x82, 2]))
    assert decode_reply(exc, 1, Function.READ_DISCRETE_INPUTS, 16) == ExceptionReply(2, 0)
    good = build_reply(1, Function.READ_DISCRETE_INPUTS, [1] * 16)
    assert decode_reply(good[:-2], 1, Function.READ_DISCRETE_INPUTS, 16) == Pending(crc_bad=False)
    bad = good[:-1] + bytes([good[-1] ^ 1])
    assert decode_reply(bad, 1, Function.READ_DISCRETE_INPUTS, 16) == Pending(crc_bad=True)
    other_unit = build_reply(2, Function.READ_DISCRETE_INPUTS, [1] * 16)
    assert decode_reply(other_unit, 1, Function.READ_DISCRETE_INPUTS, 16) == Pending(crc_bad=False)


@given(st.binary(max_size=300), st.integers(1, 247), st.sampled_from(list(Function)), st.integers(1, 125))
def test_decoder_never_crashes(buf: bytes, unit: int, fn: Function, count: int) -> None:
    assert isinstance(decode_reply(buf, unit, fn, count), Reply | ExceptionReply | Pending)


@pytest.mark.parametrize("bad", [(0, 2, 0, 1), (1, 2, 0, 2001), (1, 3, 0, 126), (248, 2, 0, 1)])
def test_build_read_rejects_out_of_range(bad: tuple[int, int, int, int]) -> None:
    with pytest.raises(ValueError, match="bad read"):
        build_read(bad[0], Function(bad[1]), bad[2], bad[3])


def test_plan_merges_near_addresses_and_splits_far_ones() -> None:
    refs = [
        InputRef(type="discrete_input", address=0),
        InputRef(type="discrete_input", address=15),
        InputRef(type="discrete_input", address=1000),
        InputRef(type="holding_register_bit", address=2, bit=3),
        InputRef(type="coil", address=4),
    ]
    reads = plan_reads(refs)
    assert reads == [
        Read(Function.READ_COILS, 4, 1),
        Read(Function.READ_DISCRETE_INPUTS, 0, 16),
        Read(Function.READ_DISCRETE_INPUTS, 1000, 1),
        Read(Function.READ_HOLDING_REGISTERS, 2, 1),
    ]
    results = [(1,), tuple([0] * 15 + [1]), (0,), (0b1000,)]
    assert [sample(r, reads, results) for r in refs] == [False, True, False, True, True]
    nc = InputRef(type="discrete_input", address=0, inverted=True)
    assert sample(nc, reads, results) is True
