"""Pure interval arithmetic: state transitions + maintenance windows -> time-weighted segments, outages."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from edge.report.model import MAINTENANCE, OFFLINE, ONLINE, UNKNOWN, Segment


@dataclass(frozen=True, slots=True)
class Transition:
    ts_ms: int
    state: str  # ONLINE or OFFLINE
    reason: str


@dataclass(frozen=True, slots=True)
class Span:
    """A raw offline span from the transitions alone (before maintenance is overlaid)."""

    start_ms: int
    end_ms: int | None
    reason: str


def state_at(transitions: Sequence[Transition], ts_ms: int) -> str:
    """The state in force at `ts_ms`: the last transition strictly before it, or unknown."""
    state = UNKNOWN
    for t in transitions:
        if t.ts_ms >= ts_ms:
            break
        state = t.state
    return state


def base_segments(transitions: Sequence[Transition], start_ms: int, end_ms: int) -> list[Segment]:
    """Online/offline/unknown segments covering [start_ms, end_ms) exactly; transitions sorted by time."""
    segments: list[Segment] = []
    cursor, state = start_ms, state_at(transitions, start_ms)
    for t in transitions:
        if t.ts_ms < start_ms or t.ts_ms >= end_ms or t.state == state:
            continue
        if t.ts_ms > cursor:
            segments.append(Segment(cursor, t.ts_ms, state))
        cursor, state = t.ts_ms, t.state
    if end_ms > cursor:
        segments.append(Segment(cursor, end_ms, state))
    return segments


def overlay(segments: Iterable[Segment], windows: Sequence[tuple[int, int]]) -> list[Segment]:
    """Replace the parts of `segments` inside any window by maintenance, then merge equal neighbours."""
    out: list[Segment] = []
    for seg in segments:
        cursor = seg.start_ms
        for w_start, w_end in sorted(windows):
            lo, hi = max(w_start, cursor), min(w_end, seg.end_ms)
            if lo >= hi:
                continue
            if lo > cursor:
                out.append(Segment(cursor, lo, seg.state))
            out.append(Segment(lo, hi, MAINTENANCE))
            cursor = hi
        if seg.end_ms > cursor:
            out.append(Segment(cursor, seg.end_ms, seg.state))
    merged: list[Segment] = []
    for seg in out:
        if merged and merged[-1].state == seg.state and merged[-1].end_ms == seg.start_ms:
            merged[-1] = Segment(merged[-1].start_ms, seg.end_ms, seg.state)
        else:
            merged.append(seg)
    return merged


def totals(segments: Iterable[Segment]) -> dict[str, int]:
    result = dict.fromkeys((ONLINE, OFFLINE, MAINTENANCE, UNKNOWN), 0)
    for seg in segments:
        result[seg.state] += seg.end_ms - seg.start_ms
    return result


def offline_spans(transitions: Sequence[Transition], start_ms: int, end_ms: int) -> list[Span]:
    """Offline spans that overlap [start_ms, end_ms); end None = not back online before end_ms."""
    spans: list[Span] = []
    current: Transition | None = None
    for t in transitions:
        if t.ts_ms >= end_ms:
            break
        if t.state == OFFLINE and current is None:
            current = t
        elif t.state == ONLINE and current is not None:
            if t.ts_ms > start_ms:
                spans.append(Span(current.ts_ms, t.ts_ms, current.reason))
            current = None
    if current is not None:
        spans.append(Span(current.ts_ms, None, current.reason))
    return spans


def maintenance_windows(changes: Sequence[dict[str, Any]], end_ms: int) -> dict[str, list[tuple[int, int]]]:
    """Per device, [start, end) windows from `changes` rows of type 'device' (sorted by seq).

    A window opens at a change whose data has state "maintenance" and ends at the device's next change
    with another state, at the `maintenance_until_ms` the change carries if that comes first, or at
    `end_ms` when neither happened.
    """
    windows: dict[str, list[tuple[int, int]]] = {}
    open_at: dict[str, tuple[int, int]] = {}
    for row in changes:
        data = _json(row.get("data"))
        state = data.get("state")
        if not isinstance(state, str):
            continue
        ref, ts = str(row["ref"]), int(row["ts_ms"])
        if state == MAINTENANCE:
            until = data.get("maintenance_until_ms")
            limit = until if isinstance(until, int) and until > ts else end_ms
            if ref in open_at:  # extended: close the old window here, the new one carries on
                _close(windows, ref, open_at.pop(ref), ts)
            open_at[ref] = (ts, limit)
        elif ref in open_at:
            _close(windows, ref, open_at.pop(ref), ts)
    for ref, opened in open_at.items():
        _close(windows, ref, opened, end_ms)
    return windows


def _close(windows: dict[str, list[tuple[int, int]]], ref: str, opened: tuple[int, int], ts: int) -> None:
    start, limit = opened
    end = min(ts, limit)
    if end > start:
        windows.setdefault(ref, []).append((start, end))


def _json(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    try:
        parsed = json.loads(value) if isinstance(value, str | bytes) else {}
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}
