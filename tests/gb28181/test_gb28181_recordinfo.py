"""RecordInfo through a real `edge run`: the platform simulator asks for a camera channel's recordings,
the daemon's camera worker searches the recorder (the ONVIF simulator's NVR, Profile G, our real SOAP client) and
the answer comes back as MANSCDP; a camera whose recorder has no search service, an unreachable
recorder and a malformed range get SumNum 0, counted."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from edge.sim.onvif.server import OnvifSimulator
from edge.sim.onvif.state import Faults, SimCamera
from tests.gb28181.support import DEVICE_ID, GB_SECTION, SimThread
from tests.helpers import daemon_process, edge_cmd, free_port

CAM_NVR = "34020000001320000001"
CAM_OWN = "34020000001320000002"
CAM_GONE = "34020000001320000003"

CONFIG = (
    """\
site: {{id: sch-1, name: 第一实验小学, timezone: Asia/Shanghai}}
storage: {{path: {dir}/edge.db}}
api: {{listen: "127.0.0.1:{port}", tokens_file: {dir}/tokens.yaml}}
cameras:
  - {{id: cam-001, name: 南门枪机, location: 南门, onvif: "{cam1}", password_file: {dir}/cam.pass,
      gb28181_id: "{nvr_id}",
      recorder: {{onvif: "{nvr}", password_file: {dir}/cam.pass, recording_token: REC-cam-001}}}}
  - {{id: cam-002, name: 操场球机, location: 操场, onvif: "{cam2}", password_file: {dir}/cam.pass,
      gb28181_id: "{own_id}"}}
  - {{id: cam-003, name: 后门枪机, location: 后门, onvif: "http://127.0.0.1:9/onvif/device_service",
      gb28181_id: "{gone_id}", recorder: {{onvif: "http://127.0.0.1:9/onvif/device_service"}}}}
checks: {{camera_interval: 3600, startup_delay: 3600, call_timeout: 2}}
"""
    + GB_SECTION
    + "  keepalive_interval: 5\n"
)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[dict[str, Any]]:
    sim = SimThread("udp")
    onvif: OnvifSimulator = sim.call(_onvif())  # type: ignore[assignment]
    (tmp_path / "gb.pass").write_text(sim.sim.password + "\n", encoding="utf-8")
    (tmp_path / "cam.pass").write_text("admin123\n", encoding="utf-8")
    port = free_port()
    cfg = tmp_path / "edge.yaml"
    cfg.write_text(
        CONFIG.format(
            dir=tmp_path,
            port=port,
            server=sim.sim.url,
            device=DEVICE_ID,
            cam1=onvif.url("cam-001"),
            cam2=onvif.url("cam-002"),
            nvr=onvif.url("nvr"),
            nvr_id=CAM_NVR,
            own_id=CAM_OWN,
            gone_id=CAM_GONE,
        ),
        encoding="utf-8",
    )
    token = subprocess.run(
        edge_cmd("token", "create", "--name", "平台", "--role", "viewer", "-c", str(cfg)),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    try:
        with daemon_process(cfg, port):
            sim.wait(lambda: DEVICE_ID in sim.sim.devices, timeout=30)
            yield {"sim": sim, "onvif": onvif, "port": port, "token": token}
    finally:
        sim.call(onvif.close())
        sim.close()


async def _onvif() -> OnvifSimulator:
    onvif = OnvifSimulator()
    # Ten days recorded, stopped an hour ago, and a power cut from 7 to 5 hours ago.
    faults = Faults(retention_days=10, stalled_s=3600, gaps=[(7 * 3600, 5 * 3600)])
    await onvif.add(SimCamera("cam-001", faults=faults))
    await onvif.add(SimCamera("cam-002", faults=Faults(search=False)))
    await onvif.add(SimCamera("nvr", model="SIM-NVR-1"), records=("cam-001", "cam-002"))
    return onvif


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text).astimezone().timestamp()


def _local(ts: float) -> str:
    return datetime.fromtimestamp(ts).astimezone().strftime("%Y-%m-%dT%H:%M:%S")


def _ask(s: dict[str, Any], channel: str, start: float, end: float, kind: str = "all") -> tuple[list[Any], Any]:
    sim: SimThread = s["sim"]
    sn: int = sim.call(sim.sim.record_info(DEVICE_ID, channel, _local(start), _local(end), kind))  # type: ignore[assignment]
    sim.wait(lambda: len(sim.sim.responses_for(sn)) >= 1, timeout=20)
    docs = sim.sim.responses_for(sn)
    total = int(docs[0].fields["SumNum"])
    sim.wait(lambda: len(sim.sim.records_for(sn)) >= total, timeout=20)
    return sim.sim.records_for(sn), sim.sim.responses_for(sn)


def _metric(s: dict[str, Any], result: str) -> float:
    auth = {"Authorization": f"Bearer {s['token']}"}
    text = httpx.get(f"http://127.0.0.1:{s['port']}/api/v1/metrics", headers=auth).text
    line = f'edge_gb28181_record_queries_total{{result="{result}"}}'
    return sum(float(x.rsplit(" ", 1)[1]) for x in text.splitlines() if x.startswith(line))


def test_record_info_from_the_nvr_and_the_empty_answers(site: dict[str, Any]) -> None:
    now = time.time()
    # The NVR holds cam-001 from 10 days ago until an hour ago (recording stopped), with a gap from 7 to
    # 5 hours ago: a day's query lists the two spans around the gap, clipped to the range asked for.
    deadline = time.monotonic() + 40
    items, docs = _ask(site, CAM_NVR, now - 86_400, now)
    while not items and time.monotonic() < deadline:  # the camera worker may still be starting
        time.sleep(0.5)
        items, docs = _ask(site, CAM_NVR, now - 86_400, now)
    assert len(items) == 2 and docs[0].fields["SumNum"] == "2"
    doc = docs[0]
    assert (doc.root, doc.cmd_type, doc.device_id) == ("Response", "RecordInfo", CAM_NVR)
    assert doc.fields["Name"] == "南门枪机"
    first, second = items
    assert first["DeviceID"] == CAM_NVR and first["Type"] == "time" and first["Secrecy"] == "0"
    assert first["StartTime"] == _local(now - 86_400)
    bounds = [_epoch(first["EndTime"]), _epoch(second["StartTime"]), _epoch(second["EndTime"])]
    for got, want in zip(bounds, [now - 7 * 3600, now - 5 * 3600, now - 3600], strict=True):
        assert abs(got - want) < 60, (got, want)
    assert first["FilePath"].startswith("REC-cam-001/") and first["RecorderID"] == DEVICE_ID
    assert first["Address"] == "南门"
    assert site["onvif"].cameras["nvr"].calls["FindEvents"] >= 1
    assert site["onvif"].cameras["nvr"].calls["FindRecordings"] >= 1

    # Before the recorder's oldest data, only alarm recordings, no search service, unreachable recorder:
    # SumNum 0 with an empty RecordList, every cause counted.
    for channel, start, end, kind in [
        (CAM_NVR, now - 20 * 86_400, now - 15 * 86_400, "all"),
        (CAM_NVR, now - 86_400, now, "alarm"),
        (CAM_OWN, now - 86_400, now, "all"),
        (CAM_GONE, now - 86_400, now, "all"),
        (CAM_NVR, now, now - 60, "all"),  # end before start: a malformed query
    ]:
        items, docs = _ask(site, channel, start, end, kind)
        assert items == [] and docs[0].fields["SumNum"] == "0", (channel, kind)
        found = docs[0].element.find("RecordList")
        assert found is not None and found.get("Num") == "0"
    for result in ("found", "empty", "none_of_type", "no_search", "recorder_error", "bad_query"):
        assert _metric(site, result) >= 1, result

    # The daemon keeps answering after all that.
    items, _ = _ask(site, CAM_NVR, now - 2 * 86_400, now - 86_400)
    assert len(items) == 1
