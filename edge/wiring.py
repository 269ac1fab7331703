"""Connects the daemon's parts: the rule clock, the police relay, maintenance through the rule engine.

Kept apart from `edge.daemon` so the supervisor stays about lifecycle; `wire(daemon)` is called once
from `Daemon.__init__`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from edge.rules.maintenance import MaintenanceError

if TYPE_CHECKING:
    from edge.daemon import Daemon
    from edge.runtime import Runtime


class RuntimeMaintenance:
    """The API's MaintenanceControl on the running rule engine, so maintenance takes effect at once."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def set(self, device_id: str, minutes: int, actor: str) -> int | None:
        if device_id not in self.runtime.engine.ctx.devices:
            return None
        limit = self.runtime.config.device_states.max_maintenance_minutes
        minutes = min(minutes, limit)  # the API allows a week; the site's own limit wins
        try:
            self.runtime.set_maintenance(device_id, minutes, actor)
        except MaintenanceError:
            return None
        return self.runtime.clock() + minutes * 60_000

    def clear(self, device_id: str, actor: str) -> bool:
        if device_id not in self.runtime.engine.ctx.devices:
            return False
        self.runtime.clear_maintenance(device_id, actor)
        return True


def wire(daemon: Daemon) -> None:
    from edge.relay.service import Relay  # noqa: PLC0415 - the relay pulls in cryptography and httpx

    daemon.services["rules"] = daemon.runtime.run
    daemon.app_state.maintenance = RuntimeMaintenance(daemon.runtime)
    police = daemon.config.police
    if police is not None and (police.receivers or police.webhook is not None):
        relay = Relay(police, daemon.db, daemon.runtime.emit, daemon.config.site.id)
        daemon.runtime.after_commit.append(relay.notify)
        daemon.services["relay"] = relay.run
        daemon.app_state.status_providers["police"] = relay.status
