"""Closing a paho client whose network thread was started with loop_start()."""

from __future__ import annotations

import contextlib

import paho.mqtt.client as paho


def close_client(client: paho.Client) -> None:
    """DISCONNECT, then wait for paho's thread. Blocking: call off the event loop.

    After a DISCONNECT paho's thread ends by itself and clears its handle on the way out; paho 2.1's
    loop_stop() reads that handle twice (a check, then join), so a thread ending in between makes it
    raise AttributeError on None. That thread has ended, which is all loop_stop() waits for.
    """
    client.disconnect()
    with contextlib.suppress(AttributeError):
        client.loop_stop()
