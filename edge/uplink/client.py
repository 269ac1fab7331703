"""A paho-mqtt 2.x MQTT 5 client with a persistent session, shared by the uplink and the county service.

The session outlives disconnects (clean_start off, a long session expiry): the broker keeps the
county's queued QoS 1 messages while a county instance is away, and paho resends a school's
unacknowledged publishes after a reconnect.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge.config.secrets import read_secret

SESSION_EXPIRY_S = 7 * 86_400  # a week: a school offline over a holiday still finds its session
RECONNECT_MIN_S, RECONNECT_MAX_S = 1, 30


@dataclass(frozen=True, slots=True)
class Endpoint:
    url: str
    username: str | None
    password_file: Path | None
    ca_file: Path | None
    client_id: str
    keepalive: int = 30

    @property
    def tls(self) -> bool:
        return urlsplit(self.url).scheme == "mqtts"

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or "127.0.0.1"

    @property
    def port(self) -> int:
        return urlsplit(self.url).port or (8883 if self.tls else 1883)


def build_client(ep: Endpoint, *, manual_ack: bool = False) -> paho.Client:
    client = paho.Client(
        CallbackAPIVersion.VERSION2, client_id=ep.client_id, protocol=paho.MQTTv5, manual_ack=manual_ack
    )
    if ep.username is not None:
        client.username_pw_set(ep.username, read_secret(ep.password_file))
    if ep.tls:
        client.tls_set(ca_certs=str(ep.ca_file) if ep.ca_file else None, tls_version=ssl.PROTOCOL_TLS_CLIENT)
    client.reconnect_delay_set(RECONNECT_MIN_S, RECONNECT_MAX_S)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    return client


def connect_async(client: paho.Client, ep: Endpoint) -> None:
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = SESSION_EXPIRY_S
    client.connect_async(ep.host, ep.port, keepalive=ep.keepalive, clean_start=False, properties=props)
