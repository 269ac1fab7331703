"""Session-wide real peers for the video tests: the HTTP video simulator and the GStreamer RTSP server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from edge.sim.rtsp_server import RtspServer
from edge.sim.video_auth import HttpAuth
from edge.sim.video_server import ThreadedVideoServer, VideoServer

USER, PASSWORD = "admin", "s3cret-pass"


@pytest.fixture(scope="session")
def video_server() -> Iterator[VideoServer]:
    """Open cameras: one per quality mode, plus fault cameras and 20 for the concurrency test."""
    server = VideoServer(fps=10.0)
    for mode in ("normal", "static", "black", "blurred", "frozen", "covered"):
        server.add_camera(mode, mode)
    for fault in ("garbage", "error", "empty", "hang"):
        server.add_camera(fault)
        server.set_fault(fault, fault)
    server.add_camera("switchable")
    for i in range(20):
        server.add_camera(f"many-{i}", seed=100 + i)
    with ThreadedVideoServer(server) as running:
        yield running


@pytest.fixture(scope="session", params=["digest", "basic"])
def auth_server(request: pytest.FixtureRequest) -> Iterator[VideoServer]:
    server = VideoServer(fps=10.0, auth=HttpAuth(USER, PASSWORD, request.param))
    server.add_camera("cam")
    with ThreadedVideoServer(server) as running:
        yield running


@pytest.fixture(scope="session")
def credentials() -> tuple[str, str]:
    return USER, PASSWORD


@pytest.fixture(scope="session")
def rtsp_server() -> Iterator[RtspServer]:
    with RtspServer() as server:
        yield server
