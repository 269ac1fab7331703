"""Connects the daemon's parts: the rule clock, the police relay, maintenance through the rule engine.

Kept apart from `edge.daemon` so the supervisor stays about lifecycle; `wire(daemon)` is called once
from `Daemon.__init__`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from edge.daemon import Daemon


def wire(daemon: Daemon) -> None:
    from edge.relay.service import Relay  # noqa: PLC0415 - the relay pulls in cryptography and httpx

    daemon.services["rules"] = daemon.runtime.run
    daemon.app_state.runtime = daemon.runtime  # maintenance on/off through the engine takes effect at once
    police = daemon.config.police
    if police is not None and (police.receivers or police.webhook is not None):
        relay = Relay(police, daemon.db, daemon.runtime.emit, daemon.config.site.id)
        daemon.runtime.after_commit.append(relay.notify)
        daemon.services["relay"] = relay.run
        daemon.app_state.status_providers["police"] = relay.status
