"""The picture of the spot at a press, on a real daemon with real peers (mosquitto, the ONVIF and
video simulators behind the camera worker, a DC-09 receiver): the police report carries a signed
[V] link that works without a token and only unaltered; the alarm has the camera's picture within
a couple of seconds; a press whose camera cannot answer is relayed just the same, without one."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import cv2
import httpx
import numpy as np
from playwright.async_api import expect

from edge.media import MediaSigner
from tests.browser import async_chromium
from tests.faults.cameras import CameraPeers, camera_spec
from tests.faults.site import Site, panics, store_rows, until

SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "alarm-centre"


class PictureSite(Site):
    """mqtt-1 is covered by cam-1, mqtt-2 by a camera that refuses our password."""

    def config(self) -> dict[str, Any]:
        doc = super().config()
        cover = {"mqtt-1": "cam-1", "mqtt-2": "cam-auth"}
        for b in doc["buttons"]:
            if b["id"] in cover:
                b["camera"] = cover[b["id"]]
        doc["api"]["public_url"] = f"http://127.0.0.1:{self.api_port}"
        return doc


def _v_link(xdata: tuple[str, ...]) -> str:
    (v,) = [x for x in xdata if x.startswith("V")]
    return unquote(v[1:])


async def test_press_picture_and_signed_link(tmp_path: Path) -> None:
    peers = await CameraPeers(tmp_path, ["cam-1", "cam-auth"], {"cam-auth": {"wrong_password": True}}).start()
    site = await PictureSite(tmp_path, camera_spec(peers)).start()
    receiver = site.receivers[0]
    try:
        await site.start_daemon()
        await site.wait_device("cam-1", "online", timeout=30)
        pressed = time.monotonic()
        await site.mqtt_press("mqtt-1", release=False)
        await until(lambda: bool(panics(receiver, 11)), 5, "the panic at the receiver")
        link = _v_link(panics(receiver, 11)[0].xdata)
        assert link.startswith(f"{site.base}/media/") and "sig=" in link and "exp=" in link

        alarm: dict[str, Any] = {}

        async def pictured() -> bool:
            page = await site.api("/alarms?state=open&category=alarm")
            found = [a for a in page["items"] if a["device_id"] == "mqtt-1" and a["snapshot"]]
            alarm.update(found[0] if found else {})
            return bool(found)

        while not await pictured():
            assert time.monotonic() - pressed < 10, "no picture with the alarm"
            await asyncio.sleep(0.1)
        async with httpx.AsyncClient(timeout=5) as http:
            auth = {"Authorization": f"Bearer {site.token}"}
            pic = await http.get(site.base + alarm["snapshot"], headers=auth)
            assert pic.status_code == 200 and pic.headers["content-type"] == "image/jpeg"
            img = cv2.imdecode(np.frombuffer(pic.content, np.uint8), cv2.IMREAD_COLOR)
            assert img is not None and img.shape[0] > 0
            assert pic.headers["x-snapshot-time"]  # when the camera's frame was taken
            (media,) = store_rows(site.db_path, "SELECT ts_ms, grabbed_ms FROM alarm_media WHERE device_id = 'mqtt-1'")
            assert media["grabbed_ms"] - media["ts_ms"] < 1500, media  # grabbed within ~1 s of the press

            # the police's link: no token needed, the same picture; altered or unsigned, refused
            police = await http.get(link)
            assert police.status_code == 200 and police.content == pic.content
            parts = urlsplit(link)
            q = parse_qs(parts.query)
            later = f"{site.base}{parts.path}?exp={int(q['exp'][0]) + 3600}&sig={q['sig'][0]}"
            assert (await http.get(later)).status_code == 403  # a longer life cannot be forged
            other = link.replace(parts.path.split("/")[-1][:8], "00000000")
            assert (await http.get(other)).status_code in (403, 422)
            assert (await http.get(f"{site.base}{parts.path}")).status_code == 422  # no signature at all

        # the duty screen shows the picture in the panic's card
        async with async_chromium() as browser:
            page = await browser.new_page(viewport={"width": 1366, "height": 800})
            await page.goto(site.base + "/")
            await page.fill("#token", site.token)
            await page.click("#login-btn")
            card = page.locator(f'.alarm[data-id="{alarm["id"]}"] img.a-pic')
            await expect(card).not_to_have_js_property("naturalWidth", 0, timeout=10_000)
            SHOTS.mkdir(parents=True, exist_ok=True)
            await page.locator("#alarms").screenshot(path=str(SHOTS / "panic-with-picture.png"))

        # a camera that refuses us: the press goes to the police as ever, the alarm has no picture
        await site.mqtt_press("mqtt-2", release=False)
        await until(lambda: bool(panics(receiver, 12)), 5, "the second panic at the receiver")
        await asyncio.sleep(2.5)
        page = await site.api("/alarms?state=open&category=alarm")
        (second,) = [a for a in page["items"] if a["device_id"] == "mqtt-2"]
        assert second["snapshot"] is None
    finally:
        await site.stop()
        await peers.stop()


def test_links_expire_and_cannot_be_forged() -> None:
    signer = MediaSigner(b"k" * 32, "https://gw.example:8443", ttl_s=3600)
    link = signer.link("0f0e0d0c-0000-4000-8000-000000000001", press_ms=1_000_000_000)
    assert link is not None
    q = parse_qs(urlsplit(link).query)
    exp, sig = int(q["exp"][0]), q["sig"][0]
    assert exp == 1_000_000 + 3600
    eid = "0f0e0d0c-0000-4000-8000-000000000001"
    assert signer.check(eid, exp, sig, now_s=exp - 1) is None
    assert signer.check(eid, exp, sig, now_s=exp + 1) == "expired"
    assert signer.check(eid, exp + 1, sig, now_s=exp - 1) == "forged"
    assert MediaSigner(b"x" * 32, None, 3600).check(eid, exp, sig, now_s=0) == "forged"  # another gateway's key
    assert MediaSigner(b"x" * 32, None, 3600).link(eid, 0) is None  # no public_url: no [V] link
