"""Virtual RS-485 line for tests: a socat pty pair (the sim on one end, the driver on the other)."""

from __future__ import annotations

from edge.sim.serial_pair import SerialPair

__all__ = ["SerialPair"]
