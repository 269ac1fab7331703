"""What the uplink publishes, taken from the same code the API answers with."""

from __future__ import annotations

from datetime import date
from typing import Any

from edge.api.routes_status import get_status
from edge.api.state import AppState
from edge.api.tokens import Principal, Role
from edge.api.views import load_devices
from edge.commands.report import build
from edge.config import Config
from edge.events import now_ms
from edge.store.db import Database
from edge.uplink.figures import report_figures

UPLINK = Principal("uplink", Role.VIEWER)


def status_object(state: AppState) -> dict[str, Any]:
    """The `GET /status` body."""
    return get_status(state, UPLINK).model_dump(mode="json")


def device_objects(db: Database) -> list[dict[str, Any]]:
    """Each `GET /devices/{id}` body."""
    return [d.model_dump(mode="json") for d in load_devices(db)]


def report_for(config: Config, day: date) -> dict[str, Any]:
    """The day's figures (today's are partial, up to now), read from the store read-only."""
    return report_figures(build(config, day, now_ms()))
