"""RecordInfo pieces: the worker message pair, query parsing, paging; and the ONVIF search itself
against the ONVIF simulator with our real SOAP client."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from edge.camworker import protocol as p
from edge.gb28181 import manscdp, records
from edge.onvif.recordings import NoSearch, Span, absent, cut, recorded_spans
from edge.sim.onvif.server import OnvifSimulator
from tests.gb28181.support import CAM, DEVICE_ID
from tests.onvif.helpers import add, session


def test_recordings_messages_round_trip_and_refuse_garbage() -> None:
    req = p.RecordingsRequest(7, "cam-gate", 1.5, 90.0, 6.0)
    assert p.decode(p.encode(req)) == req
    reply = p.RecordingsReply(
        7, "cam-gate", (p.RecordSpan(1.5, 2.5, "REC-1"), p.RecordSpan(3, 4, "REC-1")), "http://nvr"
    )
    assert p.decode(p.encode(reply)) == reply
    failed = p.RecordingsReply(8, "cam-gate", error="FindRecordings: timeout")
    assert p.decode(p.encode(failed)) == failed
    for bad in (
        b'{"v":1,"type":"recordings_reply","req":1,"device_id":"c","recorder":"","error":"","spans":[[1,"x","r"]]}',
        b'{"v":1,"type":"recordings_reply","req":1,"device_id":"c","recorder":"","error":"","spans":{}}',
        b'{"v":1,"type":"recordings_request","req":1,"device_id":"c","start_s":"0","end_s":1,"deadline_s":1}',
    ):
        with pytest.raises(p.ProtocolError):
            p.decode(bad)
    huge = [[0, 1, "r"]] * (p.MAX_SPANS + 1)
    line = p.encode(p.RecordingsReply(1, "c", ())).replace(b'"spans":[]', f'"spans":{huge}'.encode())
    with pytest.raises(p.ProtocolError):
        p.decode(line)


def _query(**fields: str) -> manscdp.Document:
    items: list[tuple[str, object]] = [("CmdType", "RecordInfo"), ("SN", 3), ("DeviceID", CAM.gb_id)]
    items += list(fields.items())
    return manscdp.decode(manscdp.encode("Query", items, "GB2312"))


def test_query_parsing() -> None:
    q = records.parse_query(_query(StartTime="2026-12-01T08:00:00", EndTime="2026-12-01T09:00:00", Type="time"))
    assert (q.channel, q.end - q.start, q.type) == (CAM.gb_id, 3600, "time")
    assert records.parse_query(_query(StartTime="2026-12-01T08:00:00", EndTime="2026-12-02T08:00:00")).type == "all"
    for bad in (
        {"StartTime": "2026-12-01T08:00:00"},
        {"StartTime": "yesterday", "EndTime": "2026-12-01T09:00:00"},
        {"StartTime": "2026-12-01T09:00:00", "EndTime": "2026-12-01T08:00:00"},
        {"StartTime": "2026-01-01T00:00:00", "EndTime": "2026-12-01T00:00:00"},
        {"StartTime": "2026-12-01T08:00:00", "EndTime": "2026-12-01T09:00:00", "Type": "everything"},
    ):
        with pytest.raises(records.QueryError):
            records.parse_query(_query(**bad))


def test_paged_like_catalog() -> None:
    spans = tuple(p.RecordSpan(1_700_000_000 + i * 600, 1_700_000_300 + i * 600, "REC-1") for i in range(9))
    pages = [manscdp.decode(b) for b in records.bodies(DEVICE_ID, CAM, 5, spans, "GB2312", 4)]
    assert [d.fields["SumNum"] for d in pages] == ["9", "9", "9"]
    assert [d.element.find("RecordList").get("Num") for d in pages] == ["4", "4", "1"]  # type: ignore[union-attr]
    items = [i for d in pages for i in d.element.iter("Item")]
    assert [i.findtext("StartTime") for i in items] == [records.local_time(s.start_s) for s in spans]
    assert {i.findtext("Name") for i in items} == {CAM.name}
    empty = manscdp.decode(records.bodies(DEVICE_ID, CAM, 6, (), "UTF-8", 4)[0])
    assert empty.fields["SumNum"] == "0" and empty.element.find("RecordList") is not None


def test_gaps_cut_spans() -> None:
    assert absent([(10, True), (20, False), (30, True), (40, False)], end=50) == [(20, 30), (40, 50)]
    assert absent([(0, False), (5, False), (8, True)], end=9) == [(0, 8)]
    span = Span(0, 100, "R")
    assert cut(span, [(20, 30), (40, 50)]) == [Span(0, 20, "R"), Span(30, 40, "R"), Span(50, 100, "R")]
    assert cut(span, [(-10, 10), (90, 120)]) == [Span(10, 90, "R")]
    assert cut(span, [(0, 100)]) == []


@pytest.fixture
async def sim() -> AsyncIterator[OnvifSimulator]:
    s = OnvifSimulator()
    yield s
    await s.close()


async def test_recorded_spans_from_the_simulator(sim: OnvifSimulator) -> None:
    now = time.time()
    await add(sim, "cam-a", retention_days=2, stalled_s=600)
    await add(sim, "cam-b", retention_days=5, gaps=[[4 * 3600, 3 * 3600], [2 * 3600, 3600]])
    await add(sim, "nvr", records=("cam-a", "cam-b"))
    await add(sim, "bare", search=False)
    nvr = session(sim, "nvr", timeout=5.0)
    try:
        spans = await recorded_spans(nvr, "REC-cam-a", now - 86_400, now)
        assert len(spans) == 1 and spans[0].recording == "REC-cam-a"
        assert spans[0].start == now - 86_400 and abs(spans[0].end - (now - 600)) < 5
        assert await recorded_spans(nvr, "REC-cam-a", now - 4 * 86_400, now - 3 * 86_400) == []
        both = await recorded_spans(nvr, None, now - 3 * 86_400, now)  # no token: everything it records
        assert [s.recording for s in both] == ["REC-cam-b", "REC-cam-a", "REC-cam-b", "REC-cam-b"]  # by start
        b = [s for s in both if s.recording == "REC-cam-b"]
        for got, want in zip([b[0].end, b[1].start, b[1].end, b[2].start], [4, 3, 2, 1], strict=True):
            assert abs(got - (now - want * 3600)) < 5  # the two gaps, from the recorder's FindEvents
        calls = sim.cameras["nvr"].calls
        assert calls["FindEvents"] == 3 and calls["EndSearch"] == calls["FindRecordings"] + calls["FindEvents"]
    finally:
        await nvr.close()
    bare = session(sim, "bare", timeout=5.0)
    try:
        with pytest.raises(NoSearch):
            await recorded_spans(bare, None, now - 60, now)
    finally:
        await bare.close()
