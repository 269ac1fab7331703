"""Read prometheus counters by label, to check that a rejection moved them."""

from __future__ import annotations

from prometheus_client import Counter

from edge.metrics import BAD_INPUT


def total(counter: Counter, **labels: str) -> float:
    """Sum of the counter's `_total` samples whose labels include `labels` (a prefix match on `source`)."""
    out = 0.0
    for metric in counter.collect():
        for s in metric.samples:
            if not s.name.endswith("_total"):
                continue
            ok = True
            for k, v in labels.items():
                got = s.labels.get(k, "")
                ok = ok and (got.startswith(v) if k == "source" else got == v)
            if ok:
                out += s.value
    return out


def bad_inputs(source: str) -> float:
    return total(BAD_INPUT, source=source)
