"""A peer nobody here wrote: Debian's sipp (package sip-tester) plays the platform for REGISTER with
a 401 digest challenge (qop=auth, answer checked by sipp's verifyauth) and a Keepalive MESSAGE."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

import pytest

from edge.config.gb28181 import Gb28181
from edge.gb28181.device import GbDevice
from tests.gb28181.support import CAM, DEVICE_ID
from tests.helpers import free_port

SCENARIO = Path(__file__).parent / "sipp" / "platform_uas.xml"
pytestmark = pytest.mark.skipif(shutil.which("sipp") is None, reason="sipp not installed (apt-get install sip-tester)")


def _sipp(port: int, calls: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            "sipp",
            "-sf",
            str(SCENARIO),
            "-i",
            "127.0.0.1",
            "-p",
            str(port),
            "-t",
            "u1",
            "-m",
            str(calls),
            "-nostdin",
            "-timeout",
            "20s",
            "-timeout_error",
            "-bind_local",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _config(port: int) -> Gb28181:
    return Gb28181(
        server_id="34020000002000000001",
        server=f"udp://127.0.0.1:{port}",
        device_id=DEVICE_ID,
        local_port=0,
        expires=60,
        keepalive_interval=0.3,
    )


async def _run(device: GbDevice, proc: subprocess.Popen[bytes]) -> int:
    task = asyncio.create_task(device.run())
    try:
        return await asyncio.to_thread(proc.wait, 25)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_register_with_challenge_and_keepalive_against_sipp() -> None:
    port = free_port(2)
    proc = _sipp(port, calls=2)  # the REGISTER dialogue and one Keepalive MESSAGE
    await asyncio.sleep(0.3)
    device = GbDevice(_config(port), "12345678", [CAM])
    rc = await _run(device, proc)
    assert rc == 0, proc.stderr.read().decode() if proc.stderr else rc
    assert device.registered_at_ms is not None and device.last_keepalive_ms is not None


async def test_wrong_password_fails_sipps_verifyauth() -> None:
    port = free_port(2)
    proc = _sipp(port, calls=1)
    await asyncio.sleep(0.3)
    device = GbDevice(_config(port), "not-the-password", [CAM])
    rc = await _run(device, proc)
    assert rc != 0 and device.registered_at_ms is None and "auth" in device.last_error
