"""The GB/T 28181 uplink to the police video platform (DESIGN.md section 9)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, field_validator

from edge.config.base import ConfigPath, Seconds, Strict

# A GB/T 28181 code: 20 decimal digits (centre 8, industry 2, type 3, network 1, serial 7).
GbId = Annotated[str, Field(pattern=r"^\d{20}$", description="20-digit GB/T 28181 ID")]

_SERVER = re.compile(r"^(?P<scheme>udp|tcp)://(?P<host>\[[0-9A-Fa-f:.]+\]|[^/:\[\]]+):(?P<port>\d{1,5})$")

# Device type digits (positions 11-13 of the ID) the gateway offers as channels.
CAMERA_TYPES = ("131", "132")  # camera, network camera (IPC)
ALARM_INPUT_TYPE = "134"  # alarm input device


def type_digits(gb_id: str) -> str:
    return gb_id[10:13]


class Gb28181(Strict):
    server_id: GbId = Field(description="The platform's SIP ID")
    server: str = Field(description="udp://HOST:PORT or tcp://HOST:PORT")
    domain: str | None = Field(None, pattern=r"^\d{10}$", description="SIP domain; default the first 10 digits")
    device_id: GbId = Field(description="This gateway's ID")
    password_file: ConfigPath | None = Field(None, description="The registration password")
    local_port: int = Field(5060, ge=0, le=65_535, description="Local SIP port; 0 = any free port")
    expires: int = Field(3600, ge=10, le=86_400, description="REGISTER expiry (s); refreshed before it runs out")
    keepalive_interval: Seconds = 60.0
    keepalive_timeout_count: int = Field(3, ge=1, le=100)
    charset: Literal["GB2312", "UTF-8"] = "GB2312"
    max_streams: int = Field(4, ge=0, le=64, description="Concurrent live streams the platform may pull")

    @field_validator("server")
    @classmethod
    def _server(cls, v: str) -> str:
        m = _SERVER.match(v)
        if not m or not 0 < int(m["port"]) < 65_536:
            raise ValueError("must be udp://HOST:PORT or tcp://HOST:PORT, e.g. udp://192.0.2.50:5060")
        return v

    @property
    def realm(self) -> str:
        return self.domain or self.server_id[:10]

    @property
    def scheme(self) -> str:
        return self.server.split("://", 1)[0]

    @property
    def host(self) -> str:
        m = _SERVER.match(self.server)
        assert m is not None  # validated by _server
        return m["host"].strip("[]")

    @property
    def port(self) -> int:
        return int(self.server.rsplit(":", 1)[1])
