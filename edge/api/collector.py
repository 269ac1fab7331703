"""Store figures for Prometheus, read at scrape time: devices by state, open alarms, the outbox.

The collector lives in a registry of its own per app (so several apps in one process, as in tests,
do not clash); GET /metrics serves it after the default registry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from edge.events import now_ms
from edge.states import AlarmCategory, AlarmState, DeviceState
from edge.store import Database, outbox, queries


class StoreCollector(Collector):
    def __init__(self, db: Database, uptime_s: Callable[[], float]) -> None:
        self.db = db
        self.uptime_s = uptime_s

    def collect(self) -> Iterator[Metric]:
        db = self.db
        devices = GaugeMetricFamily("edge_devices", "Devices by type and state", labels=["type", "state"])
        counts = queries.device_state_counts(db)
        for dtype in sorted({t for t, _ in counts}):
            for dev_state in DeviceState:  # every state, zeros too, so alerts on `== 0` and rate() work
                devices.add_metric([dtype, dev_state], counts.get((dtype, dev_state), 0))
        yield devices
        alarms = GaugeMetricFamily("edge_alarms_open", "Alarms not yet closed", labels=["category", "state"])
        found = queries.open_alarm_counts(db)
        for cat in AlarmCategory:
            for alarm_state in (AlarmState.OPEN, AlarmState.ACKNOWLEDGED):
                alarms.add_metric([cat, alarm_state], found.get((cat, alarm_state), 0))
        yield alarms
        queue = outbox.status(db, now_ms())
        yield GaugeMetricFamily("edge_outbox_depth", "Reports waiting for a receiver ACK", value=queue["depth"])
        age = queue["oldest_age_s"] or 0.0
        yield GaugeMetricFamily(
            "edge_outbox_oldest_age_seconds", "Age of the oldest message waiting for an ACK (0 if none)", value=age
        )
        yield GaugeMetricFamily("edge_uptime_seconds", "Seconds since the API started", value=self.uptime_s())


def store_registry(db: Database, uptime_s: Callable[[], float]) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(db, uptime_s))
    return registry
