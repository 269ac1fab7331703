"""The explicit registry of driver families: type key -> class. An unknown type fails loudly."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from edge.drivers.base import Driver, DriverContext

if TYPE_CHECKING:
    from edge.config import Config

REGISTRY: dict[str, type[Driver]] = {}


class UnknownDriverError(LookupError):
    pass


def register(cls: type[Driver]) -> type[Driver]:
    if cls.type in REGISTRY and REGISTRY[cls.type] is not cls:
        raise ValueError(f"driver type {cls.type!r} registered twice")
    REGISTRY[cls.type] = cls
    return cls


def get(type_key: str) -> type[Driver]:
    try:
        return REGISTRY[type_key]
    except KeyError:
        raise UnknownDriverError(f"no driver registered for type {type_key!r}") from None


def load_builtin() -> None:
    """Import the built-in driver modules so they register themselves."""

    for module in BUILTIN_MODULES:
        importlib.import_module(module)


# Each module registers one family with @register. Listed here, explicitly, in start order. The
# cameras' driver (edge.drivers.camera) is not among them: it runs in the camera worker process
# (edge.camworker), which the daemon starts when the config has cameras.
BUILTIN_MODULES: list[str] = ["edge.drivers.modbus_rtu", "edge.drivers.mqtt_buttons", "edge.drivers.mqtt_patrol"]


def build_drivers(config: Config, ctx: DriverContext) -> list[Driver]:
    load_builtin()
    drivers: list[Driver] = []
    for cls in REGISTRY.values():
        drivers.extend(cls.from_config(config, ctx))
    return drivers
