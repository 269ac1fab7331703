"""The RecordInfo query (GB/T 28181-2016/2022 A.2.4.5 query, A.2.6.7 response): what is recorded of a
camera channel between StartTime and EndTime.

The answer comes from the camera's recorder through the camera worker (ONVIF Profile G search runs
only there, never in the alarm core), awaited with a deadline; this path is never the alarm path.
Each recorded span is one Item (Type `time`: the recorders we search keep continuous recordings, so
a query for `alarm` or `manual` recordings lists none). Paged like Catalog. When there is no recorder
answer (no worker, deadline, unreachable recorder, no search service) the platform gets SumNum 0 and
an empty RecordList, and the cause is counted in edge_gb28181_record_queries_total{result}.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from prometheus_client import Counter

from edge.camworker import protocol as p
from edge.camworker.host import CameraWorker, SearchError
from edge.gb28181 import manscdp
from edge.gb28181.channels import Channel
from edge.metrics import bad_input

log = logging.getLogger(__name__)

DEADLINE_S: Final = 6.0  # platforms give a RecordInfo answer about 10 s before they give up on it
MAX_RANGE_S: Final = 31 * 86_400  # a wider query is refused as malformed: no platform UI asks for more
TYPES: Final = ("all", "time", "alarm", "manual")
LATEST: Final = 4_102_444_800.0  # 2100-01-01 UTC: a query beyond is malformed

RECORD_QUERIES = Counter("edge_gb28181_record_queries_total", "RecordInfo queries answered, by result", ["result"])

WorkerRef = Callable[[], CameraWorker | None]


class QueryError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class RecordQuery:
    channel: str
    start: float  # epoch seconds
    end: float
    type: str


def parse_time(value: str) -> float:
    """MANSCDP local time (2009-12-04T16:23:32, no zone, as AlarmTime); a zone suffix is honoured."""
    try:
        dt = datetime.fromisoformat(value.strip())
        ts = (dt if dt.tzinfo else dt.astimezone()).timestamp()
    except (ValueError, OverflowError, OSError):  # not a time, or one the platform's clock cannot mean
        raise QueryError(f"bad time {value[:30]!r}") from None
    if not 0 <= ts < LATEST:
        raise QueryError(f"time {value[:30]!r} is outside 1970..2100")
    return ts


def local_time(ts: float) -> str:
    return datetime.fromtimestamp(ts).astimezone().strftime("%Y-%m-%dT%H:%M:%S")


def parse_query(doc: manscdp.Document) -> RecordQuery:
    f = doc.fields
    if "StartTime" not in f or "EndTime" not in f:
        raise QueryError("StartTime and EndTime are required")
    start, end = parse_time(f["StartTime"]), parse_time(f["EndTime"])
    if not start < end <= start + MAX_RANGE_S:
        raise QueryError(f"range {f['StartTime']}..{f['EndTime']} is empty or longer than 31 days")
    kind = (f.get("Type") or "all").lower()
    if kind not in TYPES:
        raise QueryError(f"unknown Type {kind[:20]!r}")
    return RecordQuery(doc.device_id, start, end, kind)


async def search(worker: WorkerRef, camera_id: str, q: RecordQuery) -> tuple[p.RecordSpan, ...]:
    """The camera's recorded spans in the query's range; () with the cause counted when unknown."""
    if q.type in ("alarm", "manual"):
        RECORD_QUERIES.labels("none_of_type").inc()
        return ()
    w = worker()
    if w is None:
        RECORD_QUERIES.labels("no_worker").inc()
        return ()
    try:
        reply = await w.recordings(camera_id, q.start, q.end, DEADLINE_S)
    except SearchError as exc:
        RECORD_QUERIES.labels("no_answer").inc()
        log.warning("gb28181: RecordInfo for %s: %s", camera_id, exc)
        return ()
    if reply.error:
        RECORD_QUERIES.labels("no_search" if reply.error == "no_search" else "recorder_error").inc()
        log.warning("gb28181: RecordInfo for %s: recorder %s: %s", camera_id, reply.recorder, reply.error)
        return ()
    RECORD_QUERIES.labels("found" if reply.spans else "empty").inc()
    return reply.spans


def bodies(
    device_id: str, ch: Channel, sn: int, spans: tuple[p.RecordSpan, ...], charset: str, page: int
) -> list[bytes]:
    """The Response MESSAGE bodies: SumNum = all spans, at most `page` Items each; one empty list for none."""
    items = [_item(device_id, ch, s) for s in spans]
    pages = [items[i : i + page] for i in range(0, len(items), page)] or [[]]
    out = []
    for part in pages:
        body: list[tuple[str, object]] = [
            ("CmdType", "RecordInfo"),
            ("SN", sn),
            ("DeviceID", ch.gb_id),
            ("Name", ch.name),
            ("SumNum", len(items)),
            ("RecordList", [("Item", item) for item in part]),
        ]
        out.append(manscdp.encode("Response", body, charset, {"RecordList": {"Num": str(len(part))}}))
    return out


def _item(device_id: str, ch: Channel, s: p.RecordSpan) -> list[tuple[str, object]]:
    stamp = datetime.fromtimestamp(s.start_s).astimezone().strftime("%Y%m%dT%H%M%S")
    return [
        ("DeviceID", ch.gb_id),
        ("Name", ch.name),
        ("FilePath", f"{s.recording}/{stamp}"),
        ("Address", ch.location or "-"),
        ("StartTime", local_time(s.start_s)),
        ("EndTime", local_time(s.end_s)),
        ("Secrecy", 0),
        ("Type", "time"),
        ("RecorderID", device_id),
    ]


def bad_query(reason: str, detail: str) -> None:
    RECORD_QUERIES.labels("bad_query").inc()
    bad_input(log, "gb28181-xml", reason, detail[:80])
