"""`edge commission mqtt -c FILE`: is the site's broker closed to strangers?

Any client that may publish `<prefix>/buttons/<id>/event` can raise a panic the gateway relays to the
police. The check connects with the gateway's own credentials and subscribes to the event topic of a
button id nobody has, then connects anonymously and publishes there. The verdict rests on whether
the message arrives: MQTT 3.1.1 brokers acknowledge a publish their ACL drops, so a PUBACK proves
nothing. The probe id is unknown to the daemon, so a running gateway only counts it (unknown_button).
"""

from __future__ import annotations

import secrets
import ssl
import threading
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from edge.commission.lines import FAIL, PASS, WARN, Line
from edge.config.models import Mqtt
from edge.config.secrets import read_secret
from edge.mqtt_close import close_client

ACL_FIX = (
    "在 broker 上设 allow_anonymous false、password_file 与 acl_file（每个按钮只能发布自己的主题，见 README）/ "
    "set allow_anonymous false, password_file and acl_file on the broker (each button may publish only its own "
    "topics, see the README and config/mosquitto/)"
)


@dataclass(slots=True)
class _Client:
    """A paho client whose connect outcome and messages are waited for from the calling thread."""

    client: paho.Client
    connected: threading.Event = field(default_factory=threading.Event)
    subscribed: threading.Event = field(default_factory=threading.Event)
    got: threading.Event = field(default_factory=threading.Event)
    refused: str = ""
    sub_refused: bool = False


def _client(cfg: Mqtt, name: str, username: str | None, password: str | None) -> _Client:
    c = _Client(paho.Client(CallbackAPIVersion.VERSION2, client_id=f"{name}-{secrets.token_hex(4)}"))
    if username is not None:
        c.client.username_pw_set(username, password)
    if urlsplit(cfg.url).scheme == "mqtts":
        c.client.tls_set(ca_certs=str(cfg.ca_file) if cfg.ca_file else None, tls_version=ssl.PROTOCOL_TLS_CLIENT)

    def on_connect(_c: paho.Client, _u: object, _f: object, rc: ReasonCode, _p: object = None) -> None:
        if rc.is_failure:
            c.refused = str(rc)
        c.connected.set()

    def on_subscribe(_c: paho.Client, _u: object, _m: int, rcs: list[ReasonCode], _p: object = None) -> None:
        c.sub_refused = any(rc.is_failure for rc in rcs)
        c.subscribed.set()

    c.client.on_connect = on_connect
    c.client.on_subscribe = on_subscribe
    c.client.on_message = lambda *_a: c.got.set()
    return c


def _connect(c: _Client, cfg: Mqtt, timeout: float) -> str | None:
    """None when connected, else why not (refused by the broker, or unreachable)."""
    parts = urlsplit(cfg.url)
    port = parts.port or (8883 if parts.scheme == "mqtts" else 1883)
    try:
        c.client.connect(parts.hostname or "127.0.0.1", port, keepalive=10)
    except (OSError, ssl.SSLError) as exc:
        return f"unreachable: {exc}"
    c.client.loop_start()
    if not c.connected.wait(timeout):
        return "unreachable: no CONNACK"
    return c.refused or None


def _close(c: _Client) -> None:
    close_client(c.client)


def check_broker(cfg: Mqtt, timeout: float = 3.0) -> list[Line]:
    probe = f"{cfg.topic_prefix}/buttons/commission-probe-{secrets.token_hex(4)}/event"
    lines: list[Line] = []
    gw = _client(cfg, "edge-commission", cfg.username, read_secret(cfg.password_file))
    why = _connect(gw, cfg, timeout)
    try:
        if why is not None:
            fix = (
                "检查 mqtt.url、broker 是否运行、防火墙 / check mqtt.url, that the broker runs, the firewall"
                if why.startswith("unreachable")
                else "检查 mqtt.username 与 password_file，及 broker 的 password_file / check mqtt.username and "
                "password_file against the broker's password_file"
            )
            return [Line(FAIL, "连接 connect", "网关无法连接 broker", f"the gateway cannot connect ({why})", fix)]
        lines.append(Line(PASS, "连接 connect", "网关已连接 broker", f"the gateway connects to {cfg.url}"))
        if cfg.username is None:
            lines.append(Line(WARN, "认证 auth", "网关以匿名身份连接", "the gateway connects without a username",
                              "为网关设 mqtt.username 与 password_file / give the gateway mqtt.username and "
                              "password_file, " + ACL_FIX))  # fmt: skip
        gw.client.subscribe(probe, qos=1)
        if not gw.subscribed.wait(timeout) or gw.sub_refused:
            refused = "the broker refuses the gateway's subscription to button events"
            acl = "ACL: user edge / topic read edge/buttons/+/event"
            lines.append(Line(FAIL, "订阅 subscribe", "网关无权读取按钮主题", refused, acl))
            return lines
        lines.append(_anonymous(cfg, gw, probe, timeout))
    finally:
        _close(gw)
    return lines


def _anonymous(cfg: Mqtt, gw: _Client, probe: str, timeout: float) -> Line:
    anon = _client(cfg, "anonymous-probe", None, None)
    why = _connect(anon, cfg, timeout)
    try:
        if why is None:
            # Control: a broker also drops deliveries the gateway may not read; without seeing its own
            # message arrive, "nothing arrived" would prove nothing.
            gw.client.publish(probe, b'{"type": "heartbeat"}', qos=1).wait_for_publish(timeout)
            if not gw.got.wait(timeout):
                return Line(WARN, "匿名 anonymous", "匿名客户端可连接，无法确认其能否发布按钮事件",
                            "anonymous clients connect; whether they can publish button events could not be "
                            "confirmed (the gateway cannot publish a control message)", ACL_FIX)  # fmt: skip
            gw.got.clear()
        if why is not None:
            return Line(
                PASS, "匿名 anonymous", "broker 拒绝匿名客户端", f"the broker refuses anonymous clients ({why})"
            )
        anon.client.publish(probe, b'{"type": "heartbeat"}', qos=1).wait_for_publish(timeout)
        if gw.got.wait(timeout):
            return Line(WARN, "匿名 anonymous", "匿名客户端可以发布按钮事件：任何人都能伪造报警",
                        "an anonymous client can publish button events: anyone on the network can fake a panic",
                        ACL_FIX)  # fmt: skip
        return Line(PASS, "匿名 anonymous", "匿名客户端可连接，但 ACL 丢弃其按钮事件",
                    "anonymous clients connect, but the ACL drops their button events")  # fmt: skip
    finally:
        _close(anon)
