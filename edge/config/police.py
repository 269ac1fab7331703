"""The police platform relay: SIA DC-09 receivers and the HTTPS webhook."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from edge.config.base import ConfigPath, HexDigits, Seconds, Strict
from edge.config.devices import Coordinates


class Webhook(Strict):
    url: str
    secret_file: ConfigPath | None = None
    ca_file: ConfigPath | None = Field(None, description="Custom CA bundle for the platform's certificate")
    verify_tls: bool = True
    timeout: Seconds = 5.0

    @field_validator("url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        if urlsplit(v).scheme not in ("http", "https") or not urlsplit(v).hostname:
            raise ValueError("must be an http:// or https:// URL")
        return v


def _check_receiver(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("dc09", "dc09+tcp", "dc09+udp"):
        raise ValueError(f"receiver {url!r}: scheme must be dc09:// (TCP) or dc09+udp://")
    if not parts.hostname or parts.port is None:
        raise ValueError(f"receiver {url!r}: needs host and port, e.g. dc09://192.0.2.110:12000")
    return url


class Police(Strict):
    account: HexDigits = Field(min_length=3, max_length=16)
    format: Literal["ADM-CID", "SIA-DCS"] = "ADM-CID"
    receiver: HexDigits | None = Field(None, max_length=6, description="DC-09 R prefix")
    line: HexDigits | None = Field(None, max_length=6, description="DC-09 L prefix")
    key_file: ConfigPath | None = Field(None, description="AES key as 32, 48 or 64 hex digits")
    supervision_interval: float = Field(60.0, ge=0, le=86_400, description="Seconds between NULL messages; 0 = off")
    receivers: list[str] = Field(default_factory=list)
    webhook: Webhook | None = None
    connect_timeout: Seconds = 3.0
    ack_timeout: Seconds = 5.0
    failover_after_failures: int = Field(2, ge=1, le=100)
    failover_after_seconds: Seconds = 10.0
    retry_max_interval: Seconds = 30.0
    give_up_after: Seconds | None = Field(None, description="Non-alarm traffic fails after this; alarms never")
    coordinates: Coordinates | None = None

    @field_validator("receivers")
    @classmethod
    def _receivers(cls, v: list[str]) -> list[str]:
        return [_check_receiver(u) for u in v]
