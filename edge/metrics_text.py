"""The Prometheus text exposition of our registries, written here rather than by prometheus_client.

prometheus_client's `generate_latest` lives in its `exposition` module, which imports `http.server`,
`wsgiref` and `gzip` for servers and push gateways the daemon never runs (~0.5 MB of the alarm core,
DESIGN.md section 1). This writes the same text format, byte for byte (tests/api/test_metrics_text.py
compares the two on the same registries).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample
from prometheus_client.utils import floatToGoString

_go_float: Callable[[float], str] = floatToGoString  # the library's own number format (untyped there)

# What prometheus_client 0.2x answers with for this format.
CONTENT_TYPE = "text/plain; version=1.0.0; charset=utf-8"

# Legacy metric and label names; anything else is written with `_` for each other character, as
# prometheus_client does by default.
_NOT_IN_METRIC = re.compile(r"[^a-zA-Z0-9_:]")
_NOT_IN_LABEL = re.compile(r"[^a-zA-Z0-9_]")
# Munged from OpenMetrics types into the text format's (suffix for the family name, type).
_TYPES = {
    "counter": ("_total", "counter"),
    "info": ("_info", "gauge"),
    "stateset": ("", "gauge"),
    "gaugehistogram": ("", "histogram"),
    "unknown": ("", "untyped"),
}
# OpenMetrics-only samples, each written at the end of its family as a gauge of its own.
_OM_SUFFIXES = ("_created", "_gsum", "_gcount")


def _name(name: str, pattern: re.Pattern[str] = _NOT_IN_METRIC) -> str:
    name = pattern.sub("_", name)
    return "_" + name[1:] if name[:1].isdigit() else name


def _help(text: str) -> str:
    return text.replace("\\", r"\\").replace("\n", r"\n")


def _value(text: str) -> str:
    return text.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _sample(s: Sample) -> str:
    labels = ""
    if s.labels:
        pairs = ",".join(f'{_name(k, _NOT_IN_LABEL)}="{_value(v)}"' for k, v in sorted(s.labels.items()))
        labels = "{" + pairs + "}"
    stamp = "" if s.timestamp is None else f" {int(float(s.timestamp) * 1000):d}"
    return f"{_name(s.name)}{labels} {_go_float(s.value)}{stamp}\n"


def _family(metric: Metric) -> list[str]:
    suffix, kind = _TYPES.get(metric.type, ("", metric.type))
    name = _name(metric.name + suffix)
    out = [f"# HELP {name} {_help(metric.documentation)}\n", f"# TYPE {name} {kind}\n"]
    late: dict[str, list[str]] = {}
    for s in metric.samples:
        om = next((x for x in _OM_SUFFIXES if s.name == metric.name + x), None)
        if om is None:
            out.append(_sample(s))
        else:
            late.setdefault(om, []).append(_sample(s))
    for om, lines in sorted(late.items()):
        om_name = _name(metric.name + om)
        out += [f"# HELP {om_name} {_help(metric.documentation)}\n", f"# TYPE {om_name} gauge\n", *lines]
    return out


def exposition(registries: Iterable[Collector]) -> bytes:
    """Every family of every registry, in order."""
    return "".join(line for r in registries for m in r.collect() for line in _family(m)).encode()
