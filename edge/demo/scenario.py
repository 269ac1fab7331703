"""The gentle scenario that keeps the demo screen alive: presses, a camera going dark, a power cut.

One step every STEP_S seconds, round and round. Each step is undone a little later, so the site
returns to its calm state between steps (the alarms a press opens stay open until an operator
closes them, as GB 50394 requires).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from edge.demo.plan import PATROL_CHECKPOINTS, SERIAL_BUTTONS
from edge.demo.site import DemoSite

log = logging.getLogger(__name__)

FIRST_STEP_S = 20.0  # let the dashboard fill with the first camera checks before anything happens
STEP_S = 45.0  # one thing at a time, slow enough to follow on screen
PRESS_HOLD_S = 2.0  # a person holds an emergency button for a moment
DARK_S = 60.0  # long enough for one quality round (checks.quality_interval = 60 in the demo)
POWER_CUT_S = 30.0  # past the 10 s offline deadline of a Modbus unit, so it shows offline and back

Say = Callable[[str], None]


class Scenario:
    def __init__(self, site: DemoSite, say: Say, speed: float = 1.0) -> None:
        """`speed` > 1 shortens every wait (tests); the demo runs at 1."""
        self.site, self.say = site, say
        self.first, self.step = FIRST_STEP_S / speed, STEP_S / speed
        self.hold, self.dark, self.cut = PRESS_HOLD_S / speed, DARK_S / speed, POWER_CUT_S / speed

    async def run(self) -> None:
        steps: list[Callable[[], Awaitable[None]]] = [
            self.press_serial,
            self.camera_dark,
            self.press_mqtt,
            self.patrol_round,
            self.power_cut,
        ]
        await asyncio.sleep(self.first)
        i = 0
        while True:
            try:
                await steps[i % len(steps)]()
            except (RuntimeError, OSError, KeyError, ValueError) as exc:
                log.warning("scenario step failed: %s", exc)
            i += 1
            await asyncio.sleep(self.step)

    async def press_serial(self) -> None:
        b = SERIAL_BUTTONS[0]
        sim = self.site.modbus[b.bus]
        self.say(f"按下 {b.name} (RS-485 {b.bus} unit {b.unit}) / pressing {b.id}")
        sim.press(b.unit, b.input)
        await asyncio.sleep(self.hold)
        sim.release(b.unit, b.input)
        self.say(f"松开 {b.name} / released {b.id}")

    async def press_mqtt(self) -> None:
        button = next(iter(self.site.mqtt.values()))
        self.say(f"按下 MQTT 按钮 {button.id} / pressing {button.id}")
        await asyncio.to_thread(button.press)
        await asyncio.sleep(self.hold)
        await asyncio.to_thread(button.release)
        self.say(f"松开 / released {button.id}")

    async def camera_dark(self) -> None:
        cam = "cam-playground"
        self.say(f"摄像机 {cam} 画面变黑 / camera {cam} goes dark")
        await self.site.onvif.set_faults(cam, video_mode="black")
        await asyncio.sleep(self.dark)
        await self.site.onvif.set_faults(cam, video_mode="normal")
        self.say(f"摄像机 {cam} 画面恢复 / camera {cam} picture back")

    async def patrol_round(self) -> None:
        """A guard walks the key areas with an NFC reader that reports over MQTT."""
        self.say("保安巡查重点部位 / a guard patrols the key areas")
        for cp in PATROL_CHECKPOINTS:
            await self.site.patrol_checkin(str(cp["tag"]), "值班保安 王师傅")
            await asyncio.sleep(self.hold)
        self.say("巡查一轮完成 / patrol round done")

    async def power_cut(self) -> None:
        b = SERIAL_BUTTONS[-1]
        sim = self.site.modbus[b.bus]
        self.say(f"{b.name} 所在模块断电 / module {b.bus} unit {b.unit} loses power")
        sim.set_silent(b.unit, True)
        await asyncio.sleep(self.cut)
        sim.set_silent(b.unit, False)
        self.say(f"模块恢复供电 / module {b.bus} unit {b.unit} power back")
