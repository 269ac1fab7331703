"""Malformed SIP and MANSCDP XML: the codec raises only its own errors, the endpoint counts and drops
them, and a registered device keeps answering the platform afterwards (real UDP and TCP sockets)."""

from __future__ import annotations

import asyncio
import contextlib
import socket

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.gb28181 import manscdp, records
from edge.gb28181.device import GbDevice
from edge.gb28181.sip import MAX_MESSAGE, SipError, StreamFramer, parse
from edge.sim.gb28181_platform import PlatformSim
from tests.fuzz.counting import bad_inputs
from tests.gb28181.support import CAM, DEVICE_ID, gb_config

GOOD = (
    b"MESSAGE sip:34020000001180000001@3402000000 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\n"
    b"Call-ID: x\r\nCSeq: 1 MESSAGE\r\nContent-Length: 5\r\n\r\nhello"
)
CASES = [
    b"",
    b"\x00\xff" * 50,
    b"GARBAGE\r\n\r\n",
    GOOD.replace(b"CSeq: 1 MESSAGE", b"CSeq: one MESSAGE"),
    GOOD.replace(b"Content-Length: 5", b"Content-Length: 99"),
    GOOD.replace(b"Content-Length: 5", b"Content-Length: -1"),
    GOOD.replace(b"Call-ID: x\r\n", b""),
    GOOD.replace(b"Via:", b"V ia:"),
    GOOD[:-5] + b"\xff" * (MAX_MESSAGE + 1),
    GOOD.replace(b"\r\n\r\n", b"\r\n" + b"X-A: 1\r\n" * 100 + b"\r\n"),
]
XML_CASES = [
    b"",
    b"<Query>",
    b"<?xml version='1.0' encoding='GB2312'?><Query><SN>1</SN></Query>",  # no CmdType
    b"<?xml version='1.0' encoding='NOPE'?><Query><CmdType>Catalog</CmdType></Query>",
    b'<!DOCTYPE l [<!ENTITY a "aaaa">]><Query><CmdType>&a;</CmdType></Query>',
    b"<Other><CmdType>Catalog</CmdType></Other>",
    b"<Query><CmdType>Catalog</CmdType></Query>" + b" " * (manscdp.MAX_BODY + 1),
    b"<?xml version='1.0' encoding='GB2312'?><Query><CmdType>\xff\xfe</CmdType></Query>",  # not GB2312/GB18030
]


@pytest.mark.parametrize("data", CASES)
def test_malformed_sip_is_a_sip_error(data: bytes) -> None:
    with pytest.raises(SipError):
        parse(data)


@given(st.binary(max_size=2000))
@settings(max_examples=300, deadline=None)
def test_any_bytes_parse_or_sip_error(data: bytes) -> None:
    with contextlib.suppress(SipError):
        parse(GOOD[: len(GOOD) // 2] + data)
    with contextlib.suppress(SipError):
        StreamFramer().feed(data)


@pytest.mark.parametrize("body", XML_CASES)
def test_malformed_xml_is_a_manscdp_error(body: bytes) -> None:
    with pytest.raises(manscdp.ManscdpError):
        manscdp.decode(body)


@given(
    st.binary(max_size=1000) | st.text(max_size=300).map(lambda t: f"<Query><CmdType>{t}</CmdType></Query>".encode())
)
@settings(max_examples=300, deadline=None)
def test_any_body_decodes_or_manscdp_error(body: bytes) -> None:
    with contextlib.suppress(manscdp.ManscdpError):
        manscdp.decode(body)


def test_gb2312_round_trip() -> None:
    body = manscdp.encode("Notify", [("CmdType", "Alarm"), ("AlarmDescription", "南门一键报警")], "GB2312")
    assert body.startswith(b'<?xml version="1.0" encoding="GB2312"?>') and "南门".encode("gb2312") in body
    assert manscdp.decode(body).fields["AlarmDescription"] == "南门一键报警"


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_device_counts_garbage_and_keeps_answering(transport: str) -> None:
    sim = await PlatformSim(transport=transport).start()
    device = GbDevice(gb_config(sim), sim.password, [CAM])
    task = asyncio.create_task(device.run())
    try:
        await sim.wait_for(lambda: DEVICE_ID in sim.devices)
        addr = sim.devices[DEVICE_ID].addr
        before_sip, before_xml = bad_inputs("gb28181"), bad_inputs("gb28181-xml")
        if transport == "udp":
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                for data in CASES[1:8]:
                    s.sendto(data, addr)
        else:  # a second connection to the device is not how TCP works here: garbage through the platform's own
            assert sim.endpoint is not None
            writer = sim.endpoint._writers[addr]
            writer.write(CASES[2])  # framed (ends in CRLFCRLF) but not SIP: counted, dropped
        for body in XML_CASES[1:6]:
            await sim.message(sim.devices[DEVICE_ID], body, within=5)
        await asyncio.sleep(0.3)
        assert bad_inputs("gb28181") > before_sip
        assert bad_inputs("gb28181-xml") >= before_xml + 5
        sn = await sim.query(DEVICE_ID, "DeviceInfo")
        await sim.wait_for(lambda: sim.responses_for(sn))
        assert not task.done()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await sim.stop()


_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=40)


_TIME = st.one_of(
    _TEXT,
    st.datetimes().map(lambda d: d.isoformat(timespec="seconds")),
    st.sampled_from(["0001-01-01T00:00:00", "9999-12-31T23:59:59-14:00", "2026-12-01T08:00:00+99:00"]),
)


@given(start=_TIME, end=_TIME, kind=_TEXT)
@settings(max_examples=300, deadline=None)
def test_any_record_query_parses_or_query_error(start: str, end: str, kind: str) -> None:
    items: list[tuple[str, object]] = [("CmdType", "RecordInfo"), ("SN", 1), ("DeviceID", CAM.gb_id)]
    items += [("StartTime", start), ("EndTime", end), ("Type", kind)]
    try:
        doc = manscdp.decode(manscdp.encode("Query", items, "UTF-8"))
    except manscdp.ManscdpError:
        return
    with contextlib.suppress(records.QueryError):
        q = records.parse_query(doc)
        assert q.start < q.end <= q.start + records.MAX_RANGE_S and q.type in records.TYPES


async def test_malformed_record_queries_are_counted_and_answered_empty() -> None:
    sim = await PlatformSim().start()
    device = GbDevice(gb_config(sim), sim.password, [CAM])  # no camera worker: nothing to search
    task = asyncio.create_task(device.run())
    try:
        await sim.wait_for(lambda: DEVICE_ID in sim.devices)
        before = bad_inputs("gb28181-xml")
        ranges = [("yesterday", "today"), ("2026-12-01T09:00:00", "2026-12-01T08:00:00"), ("", "")]
        sns = [await sim.record_info(DEVICE_ID, CAM.gb_id, a, b) for a, b in ranges]
        sns.append(await sim.record_info(DEVICE_ID, CAM.gb_id, "2026-12-01T08:00:00", "2026-12-01T09:00:00", "x" * 30))
        await sim.record_info(DEVICE_ID, "34020000001329999999", "2026-12-01T08:00:00", "2026-12-01T09:00:00")
        await sim.wait_for(lambda: all(sim.responses_for(sn) for sn in sns))
        assert all(sim.responses_for(sn)[0].fields["SumNum"] == "0" for sn in sns)
        assert bad_inputs("gb28181-xml") >= before + 5  # four bad ranges/types and one unknown channel
        ok = await sim.record_info(DEVICE_ID, CAM.gb_id, "2026-12-01T08:00:00", "2026-12-01T09:00:00")
        await sim.wait_for(lambda: sim.responses_for(ok))  # no worker: an empty answer, still an answer
        assert not task.done()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await sim.stop()
