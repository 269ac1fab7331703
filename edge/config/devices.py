"""Buttons, serial buses and cameras."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from edge.config.base import ConfigPath, Identifier, Seconds, Strict
from edge.config.gb28181 import GbId

InputType = Literal["discrete_input", "coil", "input_register_bit", "holding_register_bit"]


class SerialBus(Strict):
    id: Identifier
    port: str = Field(description="Serial device, e.g. /dev/ttyUSB0")
    baudrate: int = Field(9600, ge=1200, le=921_600)
    parity: Literal["N", "E", "O"] = "N"
    stopbits: Literal[1, 2] = 1
    bytesize: Literal[7, 8] = 8
    poll_interval: Seconds = Field(0.2, description="Target time for one full round of all units on the bus")
    timeout: Seconds = Field(0.1, description="Per-request response timeout")
    offline_after: int | None = Field(
        None, ge=1, le=100_000, description="Consecutive failed polls before a unit is offline; default: 10 s worth"
    )
    reopen_max_delay: Seconds = Field(10.0, description="Longest wait between attempts to reopen a vanished port")


class InputRef(Strict):
    type: InputType
    address: int = Field(ge=0, le=65_535)
    bit: int | None = Field(None, ge=0, le=15)
    inverted: bool = Field(False, description="True for normally-closed contacts: 0 means active")

    @model_validator(mode="after")
    def _bit_only_for_registers(self) -> InputRef:
        is_reg = self.type.endswith("_bit")
        if is_reg and self.bit is None:
            raise ValueError(f"'bit' is required for type {self.type}")
        if not is_reg and self.bit is not None:
            raise ValueError(f"'bit' only applies to *_register_bit types, not {self.type}")
        return self


class Coordinates(Strict):
    x: float = Field(description="Longitude (DC-09 [X])", ge=-180, le=180)
    y: float = Field(description="Latitude (DC-09 [Y])", ge=-90, le=90)


class ButtonCommon(Strict):
    id: Identifier
    name: str = Field(min_length=1, max_length=64)
    location: str = ""
    zone: int = Field(ge=1, le=999, description="Zone number the police see (Contact ID has three digits)")
    tags: list[str] = []
    coordinates: Coordinates | None = None
    verify_url: str | None = Field(None, description="DC-09 [V] link the police can open, e.g. the covering camera")
    camera: Identifier | None = Field(None, description="Camera covering this button")
    gb28181_id: GbId | None = Field(None, description="GB/T 28181 channel ID (type 134, alarm input)")


class SerialButton(ButtonCommon):
    transport: Literal["serial"]
    bus: Identifier
    unit: int = Field(ge=1, le=247, description="Modbus unit id")
    input: InputRef
    tamper: InputRef | None = None
    fault: InputRef | None = None
    latching: bool = Field(False, description="Stays pressed until reset with a key")
    debounce: int = Field(1, ge=1, le=50, description="Consecutive equal samples before a change counts")


class PayloadMapping(Strict):
    """Lets a vendor's own payload shape be read without code changes."""

    format: Literal["json", "text"] = "json"
    type_field: str = "type"
    ts_field: str | None = "ts"
    seq_field: str | None = "seq"
    values: dict[str, Literal["press", "release", "tamper", "heartbeat"]] = Field(
        default_factory=dict, description="Vendor value -> our event type, e.g. {'1': press, '0': release}"
    )


class MqttButton(ButtonCommon):
    transport: Literal["mqtt"]
    heartbeat_timeout: Seconds = 30.0
    mapping: PayloadMapping | None = None


Button = Annotated[SerialButton | MqttButton, Field(discriminator="transport")]


class Recorder(Strict):
    onvif: str
    username: str = "admin"
    password_file: ConfigPath | None = None
    recording_token: str | None = None
    clip_before: Seconds = Field(10.0, le=60, description="Seconds of video before a press kept with the alarm")
    clip_after: Seconds = Field(2.0, le=30, description="Seconds of video after the press kept with it")


class QualityThresholds(Strict):
    """Image-quality limits (the README section on image quality explains each and how to tune it per camera).

    Defaults are tuned on the synthetic scenes in edge/sim/video.py (raw and JPEG q80) with sensor
    noise sigma 0.7-5 grey levels: no false alarm on a healthy static scene, every fault caught.
    """

    black_luma: float = Field(20.0, ge=0, le=255, description="Mean luma below this is black")
    overexposed_luma: float = Field(235.0, ge=0, le=255, description="Mean luma above this is over-exposed")
    blur_laplacian: float = Field(
        40.0, ge=0, description="Variance of the Laplacian (3x3-denoised, <=640 px wide) below this is blurred"
    )
    frozen_diff: float = Field(
        1.0, ge=0, description="Frozen also needs a mean abs grey difference between the frames below this"
    )
    frozen_changed_fraction: float = Field(
        0.01,
        ge=0,
        le=1,
        description="Share of pixels changed by more than one grey level below which frames are frozen; live "
        "sensor noise changes >= 2 % even on a motionless scene, an OSD clock < 1 %",
    )
    covered_fraction: float = Field(0.75, gt=0, le=1, description="Share of the frame featureless to call it covered")
    covered_block_std: float = Field(
        6.0, gt=0, le=128, description="A 16x9 grid cell with grey std below this is featureless"
    )
    covered_edge_density: float = Field(
        0.02, gt=0, le=1, description="A covered picture also has a Canny edge density below this"
    )
    colour_cast: float = Field(
        0.45, gt=0, le=1, description="Chroma offset / (offset + spread + 2) above this is a colour cast"
    )
    colour_cast_min_offset: float = Field(
        10.0, ge=0, le=180, description="A colour cast also needs a mean Lab chroma offset of at least this"
    )


class Camera(Strict):
    id: Identifier
    name: str = Field(min_length=1, max_length=64)
    location: str = ""
    onvif: str = Field(description="Device service URL, http://HOST/onvif/device_service")
    username: str = "admin"
    password_file: ConfigPath | None = None
    key_area: bool = Field(False, description="重点部位: 90-day retention instead of 30")
    recorder: Recorder | None = None
    profile: str | None = Field(None, description="Media profile token; default the first")
    stream_uri: str | None = Field(None, description="Override the stream URI ONVIF reports")
    retention_days: int | None = Field(None, ge=1, le=3650, description="Override the required retention")
    thresholds: QualityThresholds = QualityThresholds()
    tags: list[str] = []
    gb28181_id: GbId | None = Field(None, description="GB/T 28181 channel ID (type 132); offered only with one")
