"""`edge commission discover` against the ONVIF simulator answering WS-Discovery on loopback (unicast probe)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from wsdiscovery.actions import constructProbe
from wsdiscovery.message import createSOAPMessage
from wsdiscovery.qname import QName

from edge.cli import main
from edge.commission.discover import probe
from edge.config import load_config
from edge.sim.onvif.server import OnvifSimulator
from edge.sim.onvif.state import Faults, SimCamera
from edge.sim.wsd import CameraMeta, WsdResponder


@pytest.fixture
async def site() -> AsyncIterator[tuple[OnvifSimulator, WsdResponder]]:
    sim = OnvifSimulator()
    await sim.add(SimCamera("cam-gate", model="DS-2CD2T47"))
    await sim.add(SimCamera("cam-hall"))
    await sim.add(SimCamera("cam-dead", faults=Faults(offline="refused")))
    wsd = await WsdResponder(sim, {"cam-gate": CameraMeta("南门枪机", "南门 岗亭")}).start("127.0.0.1", 0)
    yield sim, wsd
    wsd.stop()
    await sim.close()


def _config(tmp_path: Path, onvif: str) -> Path:
    cfg = tmp_path / "edge.yaml"
    cfg.write_text(
        f"site: {{id: s1}}\nstorage: {{path: {tmp_path}/edge.db}}\napi: {{listen: '127.0.0.1:8080'}}\n"
        f"cameras:\n  - {{id: cam-gate, name: 南门, onvif: '{onvif}'}}\n"
    )
    return cfg


async def test_probe_lists_every_live_camera_with_scopes(
    site: tuple[OnvifSimulator, WsdResponder], tmp_path: Path
) -> None:
    sim, wsd = site
    config = load_config(_config(tmp_path, sim.url("cam-gate")))
    found = await asyncio.to_thread(probe, "127.0.0.1", wsd.port, 0.7, config)
    assert sorted(f.xaddr for f in found) == sorted([sim.url("cam-gate"), sim.url("cam-hall")])  # not the dead one
    gate = next(f for f in found if f.xaddr == sim.url("cam-gate"))
    assert (gate.scope("hardware"), gate.scope("name"), gate.scope("location")) == (
        "DS-2CD2T47",
        "南门枪机",
        "南门 岗亭",
    )
    assert gate.in_config == "cam-gate"
    hall = next(f for f in found if f.xaddr == sim.url("cam-hall"))
    assert hall.in_config is None and hall.scope("name") == "cam-hall"
    assert gate.epr.startswith("urn:uuid:") and gate.epr != hall.epr


async def test_cli_prints_the_table(
    site: tuple[OnvifSimulator, WsdResponder], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim, wsd = site
    cfg = _config(tmp_path, sim.url("cam-gate"))
    argv = [
        "commission",
        "discover",
        "--address",
        "127.0.0.1",
        "--port",
        str(wsd.port),
        "--wait",
        "0.7",
        "-c",
        str(cfg),
    ]
    rc = await asyncio.to_thread(main, argv)
    out = capsys.readouterr().out
    assert rc == 0
    assert "2 ONVIF device(s) found" in out
    assert "名称 name: 南门枪机" in out and "已在配置中: cam-gate" in out and "不在配置中" in out


async def test_details_read_model_and_firmware(
    site: tuple[OnvifSimulator, WsdResponder], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim, wsd = site
    pw = tmp_path / "pw"
    pw.write_text("admin123")
    argv = ["commission", "discover", "--address", "127.0.0.1", "--port", str(wsd.port), "--wait", "0.5"]
    argv += ["--details", "--password-file", str(pw)]
    sim.cameras["cam-hall"].faults.wrong_password = True
    rc = await asyncio.to_thread(main, argv)
    out = capsys.readouterr().out
    assert rc == 0
    assert "设备 device: EdgeSim DS-2CD2T47  固件 firmware: 1.0.0" in out
    assert "device information failed: auth_failed" in out


async def test_no_answer_is_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = await asyncio.to_thread(
        main, ["commission", "discover", "--address", "127.0.0.1", "--port", "9", "--wait", "0.3"]
    )
    assert rc == 1 and "no ONVIF device answered" in capsys.readouterr().out


async def test_probe_for_other_device_types_is_ignored(site: tuple[OnvifSimulator, WsdResponder]) -> None:
    _, wsd = site
    env = constructProbe([QName("http://example.com/printers", "Printer", "p")], [])
    loop = asyncio.get_running_loop()
    replies: list[bytes] = []

    class Client(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: object) -> None:
            replies.append(data)

    transport, _ = await loop.create_datagram_endpoint(Client, remote_addr=("127.0.0.1", wsd.port))
    transport.sendto(createSOAPMessage(env).encode())
    transport.sendto(b"<not xml")
    await asyncio.sleep(0.3)
    transport.close()
    assert replies == [] and wsd.probes == 0


async def test_without_a_config_it_says_there_is_nothing_to_compare(
    site: tuple[OnvifSimulator, WsdResponder], capsys: pytest.CaptureFixture[str]
) -> None:
    _, wsd = site
    argv = ["commission", "discover", "--address", "127.0.0.1", "--port", str(wsd.port), "--wait", "0.5"]
    rc = await asyncio.to_thread(main, argv)
    out = capsys.readouterr().out
    assert rc == 0 and "2 ONVIF device(s) found" in out
    assert "no config given (-c FILE): nothing to compare against" in out and "不在配置中" not in out
