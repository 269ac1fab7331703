"""The simulated school: which buttons sit on which bus and input, which cameras, which faults.

Pure data plus `build_config`, which turns the plan and the simulators' addresses into the daemon's
config document (DESIGN.md section 4) on top of config/demo.yaml's embedded defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

# Police account and DC-09 prefixes the demo receiver is set up for (any hex would do).
ACCOUNT = "1234"
CAMERA_USER = "admin"
CAMERA_PASSWORD = "admin123"  # noqa: S105 - the simulator's documented demo credential
# GB/T 28181 IDs (20 digits: centre 3402000000, industry 00, type 200 / 118 / 132 / 134, serial).
GB_SERVER_ID = "34020000002000000001"  # the demo's police video platform
GB_DEVICE_ID = "34020000001180000001"  # the gateway
DEFAULTS = {"site": {"id": "demo-school", "name": "演示学校 Demo School", "timezone": "Asia/Shanghai"}}


@dataclass(frozen=True, slots=True)
class SerialButtonPlan:
    id: str
    name: str
    location: str
    zone: int
    bus: str
    unit: int
    input: int  # the press contact; the tamper contact is the next input
    camera: str | None = None

    @property
    def tamper(self) -> int:
        return self.input + 1


@dataclass(frozen=True, slots=True)
class MqttButtonPlan:
    id: str
    name: str
    location: str
    zone: int
    camera: str | None = None


@dataclass(frozen=True, slots=True)
class CameraPlan:
    id: str
    name: str
    location: str
    key_area: bool = False
    faults: dict[str, Any] = field(default_factory=dict)  # initial simulator faults (edge.sim.onvif.state.Faults)


# The demo's NVR (a simulated Profile G recorder, edge/sim/recorder): it records the south gate's camera,
# whose button is linked to it, so a press there shows the seconds before it in the alarm card.
NVR_ID = "nvr-1"
RECORDED_CAMERA = "cam-gate-south"

BUSES: dict[str, list[int]] = {"bus1": [1, 2], "bus2": [1, 2]}  # bus -> Modbus unit ids on it

SERIAL_BUTTONS = [
    SerialButtonPlan("gate-south", "南门一键报警", "南门岗亭", 1, "bus1", 1, 0, "cam-gate-south"),
    SerialButtonPlan("gate-north", "北门一键报警", "北门岗亭", 2, "bus1", 1, 2, "cam-gate-north"),
    SerialButtonPlan("guard-room", "门卫室一键报警", "门卫室", 3, "bus1", 2, 0, "cam-guard"),
    SerialButtonPlan("office", "校长室一键报警", "行政楼二层", 4, "bus1", 2, 2),
    SerialButtonPlan("teach-1f", "教学楼一层一键报警", "教学楼一层", 5, "bus2", 1, 0, "cam-corridor"),
    SerialButtonPlan("teach-3f", "教学楼三层一键报警", "教学楼三层", 6, "bus2", 1, 2),
    SerialButtonPlan("lab", "实验室一键报警", "实验楼", 7, "bus2", 2, 0),
]
MQTT_BUTTONS = [
    MqttButtonPlan("dorm-a", "宿舍A一键报警", "宿舍A", 8, "cam-dorm"),
    MqttButtonPlan("dorm-b", "宿舍B一键报警", "宿舍B", 9),
    MqttButtonPlan("canteen", "食堂一键报警", "食堂", 10, "cam-canteen"),
]
CAMERAS = [
    CameraPlan("cam-gate-south", "南门枪机", "南门", key_area=True, faults={"retention_days": 120}),
    # Key area recorded for 62 days only: 28 days short of the 90 the work plan asks for.
    CameraPlan("cam-gate-north", "北门枪机", "北门", key_area=True, faults={"retention_days": 62}),
    CameraPlan("cam-guard", "门卫室半球", "门卫室", key_area=True, faults={"retention_days": 95}),
    CameraPlan("cam-corridor", "教学楼走廊", "教学楼一层", faults={"video_mode": "blurred"}),
    CameraPlan("cam-playground", "操场球机", "操场"),
    CameraPlan("cam-canteen", "食堂枪机", "食堂"),
    CameraPlan("cam-dorm", "宿舍楼门口", "宿舍A"),
    CameraPlan("cam-library", "图书馆", "图书馆", faults={"offline": "refused"}),
]


# Patrol checkpoints (NFC tags at the gates and the guard room, QR codes elsewhere) and the county's
# five rounds a day of the key areas.
PATROL_CHECKPOINTS = [
    {"id": "cp-gate-south", "name": "南门", "location": "南门岗亭", "tag": "04A1B2C3D4", "camera": "cam-gate-south"},
    {"id": "cp-gate-north", "name": "北门", "location": "北门岗亭", "tag": "04A1B2C3D5", "camera": "cam-gate-north"},
    {"id": "cp-guard", "name": "门卫室", "location": "门卫室", "tag": "04A1B2C3D6", "camera": "cam-guard"},
    {"id": "cp-lab", "name": "实验楼", "location": "实验楼", "tag": "QR-LAB-01"},
    {"id": "cp-dorm", "name": "宿舍区", "location": "宿舍A", "tag": "QR-DORM-01", "camera": "cam-dorm"},
]
PATROL_PLAN = {
    "id": "key-areas", "name": "重点部位巡查", "checkpoints": [c["id"] for c in PATROL_CHECKPOINTS],
    # All day: the demo runs at any hour (a school would set its own, e.g. 06:00-22:00).
    "rounds_per_day": 5, "window": "00:00-24:00", "round_minutes": 45,
}  # fmt: skip


# The cameras the police may open (key areas and the cameras buttons are linked to), by channel serial.
# Not the corridor camera: its simulated blur lives in the MJPEG video, which a live stream would replace.
GB_CAMERAS = {"cam-gate-south": 1, "cam-gate-north": 2, "cam-guard": 3, "cam-dorm": 4, "cam-canteen": 5}


def gb_camera_id(camera: str) -> str:
    return f"3402000000132{GB_CAMERAS[camera]:07d}"


def gb_button_id(zone: int) -> str:
    return f"3402000000134{zone:07d}"


def load_defaults(path: Path | None) -> dict[str, Any]:
    """config/demo.yaml's site (and any checks/police tuning) when present; built-in values otherwise."""
    doc: dict[str, Any] = {}
    if path is not None and path.exists():
        loaded = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
        doc = loaded if isinstance(loaded, dict) else {}
    site = {**DEFAULTS["site"], **(doc.get("site") or {})}
    return {"site": site, **{k: doc[k] for k in ("checks", "police", "rules") if k in doc}}


def build_config(
    defaults: dict[str, Any],
    state: Path,
    port: int,
    bus_ports: dict[str, Path],
    mqtt_url: str,
    camera_urls: dict[str, str],
    receiver_url: str,
    key_file: Path,
    host: str = "127.0.0.1",
    police_video: str | None = None,
    stream_uris: dict[str, str] | None = None,
    recorder_url: str | None = None,
) -> dict[str, Any]:
    """`police_video` is the GB/T 28181 platform's udp:// URL (the uplink is configured only with
    it); `stream_uris` the RTSP URLs of the cameras the police may open live; `recorder_url` the
    demo NVR's ONVIF device service (it records RECORDED_CAMERA)."""
    buttons: list[dict[str, Any]] = []
    for b in SERIAL_BUTTONS:
        buttons.append(
            {
                "id": b.id, "name": b.name, "location": b.location, "zone": b.zone, "transport": "serial",
                "bus": b.bus, "unit": b.unit, "input": {"type": "discrete_input", "address": b.input},
                "tamper": {"type": "discrete_input", "address": b.tamper},
                **({"camera": b.camera} if b.camera else {}),
            }
        )  # fmt: skip
    for m in MQTT_BUTTONS:
        buttons.append(
            {
                "id": m.id, "name": m.name, "location": m.location, "zone": m.zone, "transport": "mqtt",
                "heartbeat_timeout": 30, **({"camera": m.camera} if m.camera else {}),
            }
        )  # fmt: skip
    police = {
        "account": ACCOUNT, "format": "ADM-CID", "receiver": "1", "line": "1", "key_file": str(key_file),
        "supervision_interval": 30, "receivers": [receiver_url], **(defaults.get("police") or {}),
    }  # fmt: skip
    if police_video is not None:
        for entry in buttons:
            entry["gb28181_id"] = gb_button_id(entry["zone"])
    checks = {
        # Faster than a real site so the dashboard fills within a minute of starting.
        "camera_interval": 15, "quality_interval": 60, "startup_delay": 1, "call_timeout": 3,
        "frame_timeout": 5, "offline_after_rounds": 2, **(defaults.get("checks") or {}),
    }  # fmt: skip
    cameras: list[dict[str, Any]] = [
        {
            "id": c.id,
            "name": c.name,
            "location": c.location,
            "onvif": camera_urls[c.id],
            "username": CAMERA_USER,
            "password_file": str(state / "camera.pass"),
            "key_area": c.key_area,
            **({"recorder": _recorder(recorder_url, state, c.id)} if recorder_url and c.id == RECORDED_CAMERA else {}),
        }
        for c in CAMERAS
    ]
    doc: dict[str, Any] = {
        "site": defaults["site"],
        "storage": {"path": str(state / "edge.db")},
        "api": {"listen": f"{host}:{port}", "tokens_file": str(state / "tokens.yaml")},
        "mqtt": {"url": mqtt_url, "topic_prefix": "edge"},
        "serial_buses": [
            {"id": bus, "port": str(p), "baudrate": 9600, "poll_interval": 0.2, "timeout": 0.1}
            for bus, p in bus_ports.items()
        ],
        "buttons": buttons,
        "cameras": cameras,
        "police": police,
        "checks": checks,
        "rules": defaults.get("rules", []),
        "patrol": {"checkpoints": PATROL_CHECKPOINTS, "plans": [PATROL_PLAN]},
    }
    if police_video is not None:
        for cam in cameras:
            if cam["id"] in GB_CAMERAS:
                cam["gb28181_id"] = gb_camera_id(cam["id"])
                uri = (stream_uris or {}).get(cam["id"])
                if uri:
                    cam["stream_uri"] = uri
        doc["gb28181"] = {
            "server_id": GB_SERVER_ID, "server": police_video, "device_id": GB_DEVICE_ID,
            "password_file": str(state / "gb28181.pass"), "local_port": 0, "expires": 3600,
            "keepalive_interval": 10, "keepalive_timeout_count": 3, "max_streams": 2,
        }  # fmt: skip
    return doc


def _recorder(url: str, state: Path, camera: str) -> dict[str, Any]:
    return {"onvif": url, "username": CAMERA_USER, "password_file": str(state / "camera.pass"),
            "recording_token": f"REC-{camera}", "clip_before": 10, "clip_after": 2}  # fmt: skip


def write_yaml(doc: dict[str, Any], path: Path) -> None:
    yaml = YAML()
    yaml.default_flow_style = None
    yaml.width = 160
    with path.open("w", encoding="utf-8") as fh:
        fh.write("# Written by `edge demo`: the demo school's config with the simulators' ports.\n")
        yaml.dump(doc, fh)
