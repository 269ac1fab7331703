"""Real peers for the camera tests: the ONVIF simulator on loopback ports, talked to by our real SOAP client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from edge.sim.onvif.server import OnvifSimulator


@pytest.fixture
async def sim() -> AsyncIterator[OnvifSimulator]:
    s = OnvifSimulator()
    yield s
    await s.close()
