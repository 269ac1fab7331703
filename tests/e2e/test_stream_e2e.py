"""The live stream (SSE) delivers a real MQTT press to a dashboard within a second."""

from __future__ import annotations

import json
import threading
import time

import httpx

from edge.api.tokens import Role
from tests.e2e.site import Site, wait_until

SSE_BAR_S = 1.0  # what an operator watching the dashboard may wait for a press to show


def test_stream_delivers_a_press_within_a_second(site: Site) -> None:
    button = "canteen"
    seen: list[tuple[float, dict[str, object]]] = []
    ready = threading.Event()
    stop = threading.Event()

    def listen() -> None:
        headers = {"Authorization": f"Bearer {site.tokens[Role.VIEWER]}"}
        with httpx.stream("GET", f"{site.url}/api/v1/stream", headers=headers, timeout=10) as r:
            for line in r.iter_lines():
                if line.startswith("event: hello"):
                    ready.set()
                if line.startswith("data: ") and "seq" in line:
                    body = json.loads(line[6:])
                    if button in json.dumps(body, ensure_ascii=False) and "alarm.press" in line:
                        seen.append((time.monotonic(), body))
                if seen or stop.is_set():
                    return

    t = threading.Thread(target=listen, daemon=True)
    t.start()
    assert ready.wait(5), "no hello from the stream"
    pressed = time.monotonic()
    site.buttons[button].press()
    try:
        wait_until(lambda: seen, 3, "press on the stream")
    finally:
        stop.set()
    assert seen[0][0] - pressed < SSE_BAR_S
    t.join(timeout=2)
