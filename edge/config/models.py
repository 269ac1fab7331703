"""The whole config document."""

from __future__ import annotations

import re
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationInfo, field_validator, model_validator

from edge.config.alarms import AlarmSettings, DeviceStateSettings
from edge.config.base import ConfigPath, Identifier, Seconds, Strict
from edge.config.devices import Button, Camera, MqttButton, SerialBus, SerialButton
from edge.config.gb28181 import ALARM_INPUT_TYPE, CAMERA_TYPES, Gb28181, type_digits
from edge.config.patrol import Patrol
from edge.config.police import Police
from edge.config.rules import Rule
from edge.config.uplink import Uplink


class Site(Strict):
    id: Identifier
    name: str = ""
    timezone: str = "Asia/Shanghai"

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {v!r}") from exc
        return v


class Storage(Strict):
    path: ConfigPath
    event_retention_days: int = Field(400, ge=1, le=3650)


_LISTEN = re.compile(r"^(?P<host>\[[0-9a-fA-F:]+\]|[A-Za-z0-9.\-]+):(?P<port>\d{1,5})$")


class Api(Strict):
    listen: str = "127.0.0.1:8080"
    tokens_file: ConfigPath | None = None
    tls_cert_file: ConfigPath | None = None
    tls_key_file: ConfigPath | None = None
    scrape_token_file: ConfigPath | None = Field(None, description="Optional token that may read /metrics only")
    users_file: ConfigPath | None = Field(
        None, description="People's accounts (`edge user`); default: users.yaml beside tokens_file"
    )
    session_idle_minutes: int = Field(30, ge=1, le=24 * 60, description="An unused login session ends after this")
    kiosk_days: int = Field(30, ge=1, le=365, description="A duty-screen (kiosk) session ends after this unused")
    public_url: str | None = Field(
        None,
        pattern=r"^https?://[^/?#\s]+$",
        description="The gateway as the police reach it, e.g. https://203.0.113.7:8443: DC-09 [V] picture links",
    )
    verify_link_hours: int = Field(72, ge=1, le=24 * 30, description="How long a [V] link works after the press")

    @field_validator("listen")
    @classmethod
    def _listen(cls, v: str) -> str:
        m = _LISTEN.match(v)
        if not m or not 0 < int(m["port"]) < 65_536:
            raise ValueError("must be HOST:PORT, e.g. 127.0.0.1:8080")
        return v

    @model_validator(mode="after")
    def _tls_pair(self) -> Api:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("tls_cert_file and tls_key_file go together: set both or neither")
        return self

    @property
    def users_path(self) -> Path | None:
        if self.users_file is not None:
            return self.users_file
        return self.tokens_file.with_name("users.yaml") if self.tokens_file is not None else None

    @property
    def host(self) -> str:
        return self.listen.rsplit(":", 1)[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.listen.rsplit(":", 1)[1])


class Mqtt(Strict):
    url: str = "mqtt://127.0.0.1:1883"
    username: str | None = None
    password_file: ConfigPath | None = None
    topic_prefix: str = Field("edge", pattern=r"^[^#+]+$")
    client_id: str | None = None
    ca_file: ConfigPath | None = None
    keepalive: int = Field(30, ge=5, le=3600)
    reconnect_min_delay: float = Field(1.0, ge=0.05, le=60, description="First wait before reconnecting (s)")
    reconnect_max_delay: float = Field(30.0, ge=0.1, le=3600, description="Longest wait between reconnects (s)")

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not re.match(r"^mqtts?://[^/:]+(:\d+)?/?$", v):
            raise ValueError("must be mqtt://HOST[:PORT] or mqtts://HOST[:PORT]")
        return v


class Checks(Strict):
    camera_interval: Seconds = 60.0
    quality_interval: Seconds = 900.0
    retention_time: str = Field("03:30", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    startup_delay: float = Field(5.0, ge=0, le=3600, description="Delay before the first run of each check")
    call_timeout: Seconds = Field(5.0, description="Per ONVIF call")
    frame_timeout: Seconds = Field(10.0, description="Opening a stream and reading frames")
    max_clock_drift: Seconds = 5.0
    max_recording_lag: Seconds = 600.0
    retention_days: int = Field(30, ge=1, le=3650)
    key_area_retention_days: int = Field(90, ge=1, le=3650)
    offline_after_rounds: int = Field(3, ge=1, le=100)
    max_concurrent_decodes: int = Field(4, ge=1, le=64)
    max_concurrent_checks: int = Field(32, ge=1, le=1024)
    # The camera worker process (DESIGN.md section 8): replaced when it misses heartbeats this long
    # or grows past this much resident memory (a decoder leaking on one camera's stream).
    worker_heartbeat_timeout: Seconds = Field(10.0, description="Camera worker silence before it is replaced")
    worker_max_rss_mb: int = Field(300, ge=50, le=8192, description="Camera worker memory cap (MB, resident)")


class Config(Strict):
    site: Site
    storage: Storage
    api: Api
    mqtt: Mqtt | None = None
    serial_buses: list[SerialBus] = []
    buttons: list[Button] = []
    cameras: list[Camera] = []
    police: Police | None = None
    checks: Checks = Checks()
    rules: list[Rule] = Field(default_factory=list, description="Site rules, run before the built-in defaults")
    alarms: AlarmSettings = AlarmSettings()
    device_states: DeviceStateSettings = DeviceStateSettings()
    patrol: Patrol | None = None
    gb28181: Gb28181 | None = None
    uplink: Uplink | None = None

    @model_validator(mode="after")
    def _cross_refs(self, info: ValidationInfo) -> Config:
        problems = self.cross_check()
        sink = (info.context or {}).get("cross_errors")
        if isinstance(sink, list):
            sink.extend(problems)  # the loader reports each with its own line
        elif problems:
            raise ValueError("; ".join(f"{'.'.join(map(str, loc))}: {msg}" for loc, msg in problems))
        return self

    def cross_check(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Rules that span sections: unique ids and zones, and references that must exist."""
        problems: list[tuple[tuple[str | int, ...], str]] = []
        seen: dict[str, str] = {}
        for section, items in (
            ("serial_buses", self.serial_buses),
            ("buttons", self.buttons),
            ("cameras", self.cameras),
        ):
            for i, item in enumerate(items):
                if item.id in seen:
                    problems.append(((section, i, "id"), f"duplicate id {item.id!r} (also in {seen[item.id]})"))
                seen.setdefault(item.id, section)
        bus_ids = {b.id for b in self.serial_buses}
        camera_ids = {c.id for c in self.cameras}
        zones: dict[int, str] = {}
        for i, b in enumerate(self.buttons):
            if b.zone in zones:
                problems.append((("buttons", i, "zone"), f"zone {b.zone} is already used by {zones[b.zone]!r}"))
            zones.setdefault(b.zone, b.id)
            if isinstance(b, SerialButton) and b.bus not in bus_ids:
                problems.append((("buttons", i, "bus"), f"bus {b.bus!r} is not in serial_buses"))
            if isinstance(b, MqttButton) and self.mqtt is None:
                problems.append((("buttons", i, "transport"), "transport mqtt needs an 'mqtt' section"))
            if b.camera is not None and b.camera not in camera_ids:
                problems.append((("buttons", i, "camera"), f"camera {b.camera!r} is not in cameras"))
        problems.extend(self._rule_problems(set(seen)))
        problems.extend(self._gb28181_problems())
        if self.patrol is not None:
            problems.extend((("patrol", *loc), msg) for loc, msg in self.patrol.problems(camera_ids))
        return problems

    def _rule_problems(self, device_ids: set[str]) -> list[tuple[tuple[str | int, ...], str]]:
        """Rule names are unique and not the defaults'; named devices exist (a typo would never match)."""
        problems: list[tuple[tuple[str | int, ...], str]] = []
        names: set[str] = set()
        # The relay's device ids (edge.relay.links): police-receiver-N (1 = primary) and police-webhook.
        count = len(self.police.receivers) if self.police else 0
        receivers = {"police-webhook", "police-gb28181"} | {f"police-receiver-{i + 1}" for i in range(count)}
        for i, rule in enumerate(self.rules):
            if rule.name in names or rule.name.startswith("default-"):
                problems.append(
                    (
                        ("rules", i, "name"),
                        f"rule name {rule.name!r} is taken (names are unique; "
                        "'default-' is reserved for the built-in rules)",
                    )
                )
            names.add(rule.name)
            for dev in rule.when.device or []:
                if dev not in device_ids and dev not in receivers:
                    problems.append((("rules", i, "when", "device"), f"device {dev!r} is not configured"))
        return problems

    def _gb28181_problems(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Channel IDs are unique, carry the right type digits and differ from the gateway's own."""
        problems: list[tuple[tuple[str | int, ...], str]] = []
        taken: dict[str, str] = {}
        if self.gb28181 is not None:
            taken[self.gb28181.device_id] = "gb28181.device_id"
            if self.gb28181.server_id == self.gb28181.device_id:
                problems.append((("gb28181", "device_id"), "device_id must differ from server_id"))
        channels: list[tuple[str, int, str | None, tuple[str, ...]]] = [
            *(("cameras", i, c.gb28181_id, CAMERA_TYPES) for i, c in enumerate(self.cameras)),
            *(("buttons", i, b.gb28181_id, (ALARM_INPUT_TYPE,)) for i, b in enumerate(self.buttons)),
        ]
        for section, i, gb_id, types in channels:
            if gb_id is None:
                continue
            if type_digits(gb_id) not in types:
                problems.append(
                    (
                        (section, i, "gb28181_id"),
                        f"{gb_id}: digits 11-13 are the device type and must be {' or '.join(types)} "
                        f"(not {type_digits(gb_id)})",
                    )
                )
            if gb_id in taken:
                problems.append(((section, i, "gb28181_id"), f"{gb_id} is already used by {taken[gb_id]}"))
            taken.setdefault(gb_id, f"{section}[{i}]")
        return problems

    def secret_paths(self) -> list[Path]:
        """Every secret file the config names (for startup checks and redaction)."""
        paths: list[Path | None] = [self.api.tokens_file, self.api.scrape_token_file]
        if self.mqtt:
            paths.append(self.mqtt.password_file)
        if self.uplink:
            paths.append(self.uplink.password_file)
        for c in self.cameras:
            paths.append(c.password_file)
            if c.recorder:
                paths.append(c.recorder.password_file)
        paths.extend(h.secret_file for h in self.alarms.escalation)
        for rule in self.rules:
            if rule.then.escalate:
                paths.extend(h.secret_file for h in rule.then.escalate.webhooks)
        if self.police:
            paths.append(self.police.key_file)
            if self.police.webhook:
                paths.append(self.police.webhook.secret_file)
        if self.gb28181:
            paths.append(self.gb28181.password_file)
        return [p for p in paths if p is not None]


# Exposed for modules that only need durations.
__all__ = ["Api", "Checks", "Config", "Mqtt", "Seconds", "Site", "Storage"]
