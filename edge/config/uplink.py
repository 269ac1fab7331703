"""The `uplink:` section (DESIGN.md section 10): the school's feed to the county broker."""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from edge.config.base import ConfigPath, Seconds, Strict

MQTT_URL = re.compile(r"^mqtts?://[^/:]+(:\d+)?/?$")


class Uplink(Strict):
    url: str
    username: str | None = None
    password_file: ConfigPath | None = None
    ca_file: ConfigPath | None = None
    # No wildcards or a leading '$' (reserved for broker topics such as $share and $SYS).
    topic_prefix: str = Field("county", pattern=r"^[^#+$/][^#+]*$")
    client_id: str | None = Field(None, description="Default: edge-uplink-<site.id>; must stay the same (session)")
    max_rate: float = Field(200.0, ge=1, le=10_000, description="Events per second at most while catching up")
    inflight: int = Field(20, ge=1, le=1000, description="Events published but not yet acknowledged, at most")
    status_interval: Seconds = Field(30.0, description="Status republished at least this often (s)")
    keepalive: int = Field(30, ge=5, le=3600)

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not MQTT_URL.match(v):
            raise ValueError("must be mqtt://HOST[:PORT] or mqtts://HOST[:PORT]")
        return v

    @field_validator("topic_prefix")
    @classmethod
    def _prefix(cls, v: str) -> str:
        return v.rstrip("/")
