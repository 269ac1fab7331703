"""edge.metrics_text writes what prometheus_client's own generate_latest writes, byte for byte, for
every metric type, odd label values, names the text format cannot carry, and the daemon's registries."""

from __future__ import annotations

from collections.abc import Iterator

from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Enum,
    Gauge,
    Histogram,
    Info,
    Summary,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeHistogramMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from edge.metrics_text import CONTENT_TYPE, exposition


def _every_type() -> CollectorRegistry:
    r = CollectorRegistry()
    c = Counter("edge_t_sends", "Sends\nby outcome \\ with a backslash", ["transport", "outcome"], registry=r)
    c.labels("dc09", "delivered").inc(3)
    c.labels("webhook", 'quote " newline \n backslash \\ 中文').inc()
    Gauge("edge_t_depth", "Outbox depth", registry=r).set(1e21)
    Gauge("edge_t_nan", "Not a number", registry=r).set(float("nan"))
    h = Histogram("edge_t_latency_seconds", "Latency", ["transport"], buckets=(0.005, 0.1, 2.5), registry=r)
    h.labels("dc09").observe(0.004)
    h.labels("dc09").observe(7)
    Summary("edge_t_sizes", "Sizes", registry=r).observe(123456789.5)
    Info("edge_t_build", "Build", registry=r).info({"version": "1.2.3"})
    Enum("edge_t_link", "Link state", states=["up", "down"], registry=r).state("down")
    return r


class _Odd(Collector):
    """A collector's own families: a timestamp, a gauge histogram, names outside the legacy set."""

    def collect(self) -> Iterator[Metric]:
        g = GaugeMetricFamily("edge_t_devices", "Devices", labels=["type", "state"])
        g.add_metric(["camera", "online"], 128, timestamp=1733270400.123)
        yield g
        yield GaugeHistogramMetricFamily("edge_t_queue", "Queue", buckets=[("1.0", 4), ("+Inf", 5)], gsum_value=7)
        odd = CounterMetricFamily("1edge.t-odd", "Odd name", labels=["bad-label"])
        odd.add_metric(["v"], 2)
        yield odd


def test_every_metric_type_as_the_library_writes_it() -> None:
    r = _every_type()
    r.register(_Odd())
    assert exposition([r]) == generate_latest(r)


def test_two_registries_are_one_text_in_order() -> None:
    a, b = _every_type(), CollectorRegistry()
    b.register(_Odd())
    assert exposition([a, b]) == generate_latest(a) + generate_latest(b)


def test_the_default_registry_with_the_process_collectors() -> None:
    text = exposition([REGISTRY]).decode()
    assert "# TYPE process_resident_memory_bytes gauge" in text
    assert "# TYPE python_gc_objects_collected_total counter" in text
    # Values move between two calls (CPU time, GC counts); the families and their order do not.
    heads = [line for line in text.splitlines() if line.startswith("#")]
    assert heads == [line for line in generate_latest(REGISTRY).decode().splitlines() if line.startswith("#")]


def test_content_type_is_the_librarys() -> None:
    from prometheus_client import CONTENT_TYPE_LATEST  # noqa: PLC0415

    assert CONTENT_TYPE == CONTENT_TYPE_LATEST


@settings(max_examples=200, deadline=None)
@given(
    value=st.text(max_size=40),
    number=st.floats(allow_nan=False) | st.sampled_from([float("inf"), float("-inf")]),
    doc=st.text(max_size=40),
)
def test_any_label_value_number_and_help(value: str, number: float, doc: str) -> None:
    r = CollectorRegistry()
    g = GaugeMetricFamily("edge_t_any", doc, labels=["v"])
    g.add_metric([value], number)

    class One(Collector):
        def collect(self) -> Iterator[Metric]:
            yield g

    r.register(One())
    assert exposition([r]) == generate_latest(r)
