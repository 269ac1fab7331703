"""The broker ACL the README documents, and `edge commission mqtt`, against a real mosquitto (#12 item 14)."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from edge.cli import main
from tests.peers.mosquitto import Mosquitto

EXAMPLE = Path(__file__).parents[2] / "config" / "mosquitto"
USERS = {"edge": "gw-secret", "gate-a": "a-secret", "gate-b": "b-secret"}


class AclBroker(Mosquitto):
    """mosquitto run on the shipped example (config/mosquitto/edge.conf + edge.acl), paths moved to tmp."""

    def _auth_conf(self) -> str:
        pw = self.workdir / "edge.passwd"
        pw.write_text("")
        for user, password in USERS.items():
            subprocess.run(["mosquitto_passwd", "-b", str(pw), user, password], check=True, capture_output=True)
        acl = self.workdir / "edge.acl"
        acl.write_text((EXAMPLE / "edge.acl").read_text())
        conf = (EXAMPLE / "edge.conf").read_text().replace("/etc/mosquitto/", f"{self.workdir}/")
        # The example's own listener and persistence are replaced by the harness's port and folder.
        keep = [ln for ln in conf.splitlines() if not ln.startswith(("listener", "persistence", "max_queued"))]
        return "\n".join(keep) + "\n"


def _client(broker: Mosquitto, user: str | None, client_id: str) -> tuple[paho.Client, int]:
    c = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
    if user is not None:
        c.username_pw_set(user, USERS[user])
    done = threading.Event()
    result: list[int] = []

    def on_connect(_c: paho.Client, _u: object, _f: object, rc: ReasonCode, _p: object = None) -> None:
        result.append(rc.value)
        done.set()

    c.on_connect = on_connect
    c.connect("127.0.0.1", broker.port)
    c.loop_start()
    assert done.wait(5)
    return c, result[0]


@pytest.fixture
def acl_broker(tmp_path: Path) -> Iterator[Mosquitto]:
    with AclBroker(tmp_path / "acl") as broker:
        yield broker


def test_each_button_publishes_only_its_own_topics(acl_broker: Mosquitto) -> None:
    got: list[tuple[str, bytes | bytearray]] = []
    arrived = threading.Event()
    gw, rc = _client(acl_broker, "edge", "edge-gw")
    assert rc == 0

    def on_message(_c: paho.Client, _u: object, msg: paho.MQTTMessage) -> None:
        got.append((msg.topic, msg.payload))
        arrived.set()

    gw.on_message = on_message
    gw.subscribe([("edge/buttons/+/event", 1), ("edge/buttons/+/status", 1)])
    a, rc = _client(acl_broker, "gate-a", "gate-a")
    assert rc == 0
    # Another button's topics first: if the ACL let them through they would arrive before gate-a's own.
    a.publish("edge/buttons/gate-b/event", b'{"type": "press"}', qos=1).wait_for_publish(5)
    a.publish("edge/buttons/gate-b/status", b"offline", qos=1, retain=True).wait_for_publish(5)
    a.publish("edge/buttons/gate-a/status", b"online", qos=1, retain=True).wait_for_publish(5)
    a.publish("edge/buttons/gate-a/event", b'{"type": "press", "seq": 1}', qos=1).wait_for_publish(5)
    deadline = threading.Event()
    for _ in range(50):
        if len(got) >= 2:
            break
        deadline.wait(0.1)
    deadline.wait(0.5)  # anything else still in flight
    assert got == [
        ("edge/buttons/gate-a/status", b"online"),
        ("edge/buttons/gate-a/event", b'{"type": "press", "seq": 1}'),
    ]
    # Anonymous clients and wrong passwords are refused at CONNECT.
    anon, rc = _client(acl_broker, None, "anon")
    assert rc != 0
    for c in (gw, a, anon):
        c.disconnect()
        c.loop_stop()


def _config(tmp_path: Path, broker: Mosquitto, user: str | None) -> Path:
    mqtt = f"url: {broker.url}"
    if user is not None:
        (tmp_path / "mqtt.pass").write_text(USERS[user] + "\n")
        mqtt += f", username: {user}, password_file: {tmp_path}/mqtt.pass"
    cfg = tmp_path / "edge.yaml"
    cfg.write_text(f"site: {{id: s}}\nstorage: {{path: {tmp_path}/e.db}}\napi: {{}}\nmqtt: {{{mqtt}}}\n")
    return cfg


def test_commission_mqtt_warns_when_anonymous_can_publish(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with Mosquitto(tmp_path / "open") as broker:  # allow_anonymous true, no ACL
        rc = main(["commission", "mqtt", "-c", str(_config(tmp_path, broker, None)), "--timeout", "2"])
    out = capsys.readouterr().out
    assert rc == 1
    assert "[注意 WARN] 匿名 anonymous: 匿名客户端可以发布按钮事件" in out
    assert "an anonymous client can publish button events" in out and "allow_anonymous false" in out
    assert "the gateway connects without a username" in out


def test_commission_mqtt_passes_with_the_example_acl(
    acl_broker: Mosquitto, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(["commission", "mqtt", "-c", str(_config(tmp_path, acl_broker, "edge")), "--timeout", "2"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "[通过 PASS] 匿名 anonymous: broker 拒绝匿名客户端" in out and "WARN" not in out


def test_anonymous_connect_allowed_but_acl_drops_its_events(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pw = tmp_path / "passwd"
    pw.write_text("")
    subprocess.run(["mosquitto_passwd", "-b", str(pw), "edge", USERS["edge"]], check=True, capture_output=True)
    acl = tmp_path / "edge.acl"
    # The example plus write for the gateway (the check's control message); nothing for anonymous clients.
    acl.write_text((EXAMPLE / "edge.acl").read_text().replace("user edge\n", "user edge\ntopic write edge/#\n"))
    with Mosquitto(tmp_path / "half", extra_conf=f"password_file {pw}\nacl_file {acl}\n") as broker:
        rc = main(["commission", "mqtt", "-c", str(_config(tmp_path, broker, "edge")), "--timeout", "1.5"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "[通过 PASS] 匿名 anonymous: 匿名客户端可连接，但 ACL 丢弃其按钮事件" in out


def test_unverifiable_drop_is_not_a_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The gateway may read but not write: a dropped anonymous publish cannot be told from a lost one."""
    pw = tmp_path / "passwd"
    pw.write_text("")
    subprocess.run(["mosquitto_passwd", "-b", str(pw), "edge", USERS["edge"]], check=True, capture_output=True)
    acl = tmp_path / "edge.acl"
    acl.write_text((EXAMPLE / "edge.acl").read_text())
    with Mosquitto(tmp_path / "half", extra_conf=f"password_file {pw}\nacl_file {acl}\n") as broker:
        rc = main(["commission", "mqtt", "-c", str(_config(tmp_path, broker, "edge")), "--timeout", "1"])
    out = capsys.readouterr().out
    assert rc == 1 and "could not be confirmed" in out


def test_unreachable_broker_is_a_clear_failure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broker = Mosquitto(tmp_path / "down")  # never started: nothing listens on its port
    rc = main(["commission", "mqtt", "-c", str(_config(tmp_path, broker, None)), "--timeout", "1"])
    out = capsys.readouterr().out
    assert rc == 1 and "[失败 FAIL] 连接 connect" in out and "check mqtt.url" in out
