"""Scan a Modbus RTU line: which unit ids answer, their inputs now, the line's error rate, config lines.

Each unit id gets one read; a unit that answers gets `samples` more, so the error rate (failed reads
over reads to units that answered at least once) says how clean the wiring is: a healthy RS-485
line shows 0 %; a few percent means termination, biasing or a long stub to look at.

A reply that arrives but fails its CRC still proves a unit is there: the client's raw receive trace
tells a garbled reply (bytes addressed to this id) from silence, so such a unit is listed and its
CRC errors count in the line error rate instead of making it look absent.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from pymodbus.client import AsyncModbusSerialClient
from pymodbus.exceptions import ModbusException

log = logging.getLogger(__name__)

# Two silent tries before calling an id empty: one garbled reply must not hide a unit.
ABSENT_AFTER = 2
SILENT_PAUSE_S = 0.01
# Under 1 % failed reads the poller's retries hide it; above, presses may arrive a poll late.
ACCEPTABLE_ERROR_RATE = 0.01  # RTU inter-frame gap plus margin before the next unit id after a timeout


@dataclass(slots=True)
class UnitResult:
    unit: int
    reads: int = 0
    failures: int = 0
    inputs: list[bool] = field(default_factory=list)  # last good read
    exception: str | None = None  # a Modbus exception reply (the unit is there but refuses the function)
    latency_ms: list[float] = field(default_factory=list)
    crc_errors: int = 0  # replies addressed to this id that arrived garbled (failed CRC or framing)

    @property
    def good(self) -> int:
        return self.reads - self.failures

    @property
    def answered(self) -> bool:
        return self.good > 0 or self.crc_errors > 0 or self.exception is not None


@dataclass(slots=True)
class ScanResult:
    port: str
    baudrate: int
    parity: str
    input_type: str
    units: list[UnitResult]

    @property
    def found(self) -> list[UnitResult]:
        return [u for u in self.units if u.answered]

    @property
    def error_rate(self) -> float | None:
        reads = sum(u.reads for u in self.found)
        return sum(u.failures for u in self.found) / reads if reads else None


def parse_units(text: str) -> list[int]:
    """'1-32', '1,2,5-7' -> unit ids (1..247)."""
    units: set[int] = set()
    for part in text.split(","):
        lo, _, hi = part.strip().partition("-")
        try:
            first, last = int(lo), int(hi or lo)
        except ValueError:
            raise ValueError(f"地址范围 {part!r} 不是数字 / unit range {part!r} is not a number (e.g. 1-32)") from None
        if not 1 <= first <= last <= 247:
            raise ValueError(f"地址范围 {part!r} 须在 1-247 之内 / unit range {part!r} must be within 1-247")
        units.update(range(first, last + 1))
    return sorted(units)


async def _read(client: AsyncModbusSerialClient, unit: int, input_type: str, count: int) -> list[bool]:
    if input_type == "coil":
        rr = await client.read_coils(0, count=count, device_id=unit)
    else:
        rr = await client.read_discrete_inputs(0, count=count, device_id=unit)
    if rr.isError():
        raise _Refused(str(rr))
    return list(rr.bits[:count])


class _Refused(Exception):
    """The unit answered with a Modbus exception."""


class _RxTrace:
    """What the client received during the current request (pymodbus hands every raw chunk here)."""

    def __init__(self) -> None:
        self.first = b""

    def reset(self) -> None:
        self.first = b""

    def __call__(self, sending: bool, data: bytes) -> bytes:
        if not sending and data and not self.first:
            self.first = bytes(data[:2])
        return data

    def garbled_from(self, unit: int) -> bool:
        """Bytes came back starting with this unit's address: a reply was there, but unreadable."""
        return self.first[:1] == bytes([unit])


async def scan(
    port: str,
    units: list[int],
    baudrate: int = 9600,
    parity: str = "N",
    reply_timeout: float = 0.2,
    samples: int = 5,
    input_type: str = "discrete_input",
    count: int = 16,
) -> ScanResult:
    rx = _RxTrace()
    client = AsyncModbusSerialClient(
        port, baudrate=baudrate, parity=parity, timeout=reply_timeout, retries=0, trace_packet=rx
    )
    if not await client.connect():
        raise OSError(
            f"无法打开串口 {port} / cannot open serial port {port} — 处理 fix: 检查设备名，若守护进程正在使用"
            "请先停止 / check the device name; stop the daemon first if it holds the port"
        )
    results: list[UnitResult] = []
    try:
        for unit in units:
            res = UnitResult(unit)
            results.append(res)
            for _ in range(1 + samples):
                started = time.perf_counter()
                res.reads += 1
                rx.reset()
                try:
                    res.inputs = await _read(client, unit, input_type, count)
                    res.latency_ms.append((time.perf_counter() - started) * 1000)
                except _Refused as exc:
                    res.exception = str(exc)
                    break
                except ModbusException as exc:
                    res.failures += 1
                    if rx.garbled_from(unit):
                        res.crc_errors += 1
                    log.debug("unit %d: %s", unit, exc)
                    time.sleep(SILENT_PAUSE_S)  # noqa: ASYNC251 - the line must be quiet; nothing else runs
                if res.failures >= ABSENT_AFTER and res.failures == res.reads and res.crc_errors == 0:
                    break  # silent on every try so far: nobody at this id
    finally:
        client.close()
    return ScanResult(port, baudrate, parity, input_type, results)


def format_scan(res: ScanResult) -> str:
    found = res.found
    lines = [
        f"串口 {res.port} {res.baudrate} 8{res.parity}1: 扫描 {len(res.units)} 个地址 / scanned {len(res.units)} ids"
    ]
    if not found:
        lines.append(
            "没有设备应答：检查接线 A/B、波特率、校验位 / nobody answered: check A/B wiring, baud rate, parity"
        )
        return "\n".join(lines)
    for u in found:
        if u.exception:
            lines.append(f"  地址 unit {u.unit}: 应答但拒绝读取 / answers but refuses the read: {u.exception}")
            continue
        counts = f"错误 errors {u.failures}/{u.reads} (CRC {u.crc_errors}, 超时 timeout {u.failures - u.crc_errors})"
        if not u.good:
            lines.append(
                f"  地址 unit {u.unit}: 只有校验错误的应答 / only garbled replies (failed CRC)  {counts}\n"
                "      处理 fix: 检查波特率、校验位、A/B 接线与终端电阻 / "
                "check baud rate, parity, A/B wiring, termination"
            )
            continue
        active = [i for i, on in enumerate(u.inputs) if on]
        bits = "".join("1" if on else "0" for on in u.inputs)
        avg = sum(u.latency_ms) / len(u.latency_ms) if u.latency_ms else 0.0
        lines.append(
            f"  地址 unit {u.unit}: 输入 inputs {bits}  动作中 active {active or '-'}  {counts}  应答 {avg:.0f} ms"
        )
    rate = res.error_rate
    if rate is None:
        lines.append("线路误码率 line error rate: 无读数 / no reads to measure")
        return "\n".join(lines)
    if rate == 0:
        verdict = "正常 / clean"
    elif rate < ACCEPTABLE_ERROR_RATE:
        verdict = "可接受 / acceptable"
    else:
        verdict = (
            "偏高：检查终端电阻 (120 Ω)、偏置电阻、A/B 接线与屏蔽 / "
            "high: check termination (120 Ω), biasing, A/B wiring and shield"
        )
    crc = sum(u.crc_errors for u in found)
    lines.append(f"线路误码率 line error rate: {rate:.1%} (CRC {crc}) — {verdict}")
    return "\n".join(lines)


def suggest_yaml(res: ScanResult, bus_id: str = "bus1", per_unit: int = 1, first_zone: int = 1) -> str:
    """Config lines for what answered: button k of a unit on input 2k, its tamper contact on 2k+1."""
    kind = res.input_type
    out = [
        "serial_buses:",
        f"  - {{id: {bus_id}, port: {res.port}, baudrate: {res.baudrate}, parity: {res.parity}}}",
        "buttons:",
    ]
    zone = first_zone
    for u in res.found:
        if u.exception or not u.good:
            continue
        for k in range(per_unit):
            press, tamper = 2 * k, 2 * k + 1
            # Active while nobody presses it: a normally-closed contact, which reads inverted.
            nc = ", inverted: true" if press < len(u.inputs) and u.inputs[press] else ""
            out.append(
                f"  - {{id: {bus_id}-u{u.unit}-b{k + 1}, name: 一键报警 {u.unit}-{k + 1}, location: '', zone: {zone}, "
                f"transport: serial, bus: {bus_id}, unit: {u.unit}, input: {{type: {kind}, address: {press}{nc}}}, "
                f"tamper: {{type: {kind}, address: {tamper}}}}}"
            )
            zone += 1
    return "\n".join(out)
