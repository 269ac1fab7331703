"""The core's clip fetch (edge.press_clip) as pure logic, with a fake worker and a recording runtime:
it waits for the recorder to flush, asks again when the clip stops short or the recorder has
nothing yet, keeps the longest clip, and gives up at once on what asking again cannot fix."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from typing import Any, cast

from edge.camworker.host import CameraWorker, ClipError
from edge.camworker.protocol import ClipReply
from edge.config import Config
from edge.events import Event, EventKind, now_ms
from edge.press_clip import PressClips
from edge.runtime import Runtime
from edge.store.clips import ClipState


class Saves:
    """Stands in for Runtime.command: runs each write against a spy connection and keeps the rows."""

    def __init__(self) -> None:
        self.rows: list[tuple[Any, ...]] = []

    async def command(self, change: Callable[[sqlite3.Connection, int], None], **_: Any) -> None:
        outer = self

        class Conn:
            def execute(self, _sql: str, params: tuple[Any, ...]) -> None:
                outer.rows.append(params)

        change(cast(sqlite3.Connection, Conn()), now_ms())

    def states(self) -> list[str]:
        return [str(r[4]) for r in self.rows]


class Worker:
    def __init__(self, answers: list[ClipReply | ClipError]) -> None:
        self.answers = answers
        self.asked: list[tuple[str, int, int]] = []

    async def clip(self, camera: str, start_ms: int, end_ms: int, deadline_s: float) -> ClipReply:
        self.asked.append((camera, start_ms, end_ms))
        answer = self.answers.pop(0)
        if isinstance(answer, ClipError):
            raise answer
        return answer


def _config() -> Config:
    return Config.model_validate(
        {
            "site": {"id": "s", "name": "s"}, "storage": {"path": "/tmp/x.db"}, "api": {},
            "mqtt": {"url": "mqtt://127.0.0.1:1883"},
            "buttons": [{"id": "b1", "name": "b1", "zone": 1, "transport": "mqtt", "camera": "cam-1"},
                        {"id": "b2", "name": "b2", "zone": 2, "transport": "mqtt", "camera": "cam-2"}],
            "cameras": [{"id": "cam-1", "name": "c", "onvif": "http://127.0.0.1/onvif/device_service",
                         "recorder": {"onvif": "http://127.0.0.1:1/onvif/device_service", "recording_token": "R",
                                      "clip_before": 10, "clip_after": 2}},
                        {"id": "cam-2", "name": "c2", "onvif": "http://127.0.0.1/onvif/device_service"}],
        }
    )  # fmt: skip


async def _run(answers: list[ClipReply | ClipError], button: str = "b1") -> tuple[Saves, Worker, Event]:
    saves, worker = Saves(), Worker(answers)
    clips = PressClips(_config(), cast(Runtime, saves), lambda: cast(CameraWorker, worker))
    clips.flush_wait_s = clips.retry_s = 0.0
    press = Event(EventKind.ALARM_PRESS, button, ts_ms=now_ms() - 5_000)
    clips.on_press(press)
    await asyncio.gather(*clips._tasks)
    return saves, worker, press


async def test_short_clips_are_asked_again_and_the_longest_kept() -> None:
    t = now_ms()
    short = ClipReply(1, "cam-1", b"short", "", t - 15_000, t - 9_000)
    full = ClipReply(2, "cam-1", b"full", "", t - 15_000, t - 3_100)
    saves, worker, press = await _run([ClipError("empty"), short, full])
    assert [a[1:] for a in worker.asked] == [(press.ts_ms - 10_000, press.ts_ms + 2_000)] * 3
    assert saves.states() == ["pending", "pending", "pending", "ready"]
    assert saves.rows[-1][6] == b"full" and saves.rows[-1][5] == 3 and saves.rows[-1][9] is None


async def test_what_asking_again_cannot_fix_ends_at_once() -> None:
    saves, worker, _ = await _run([ClipError("no_replay_service")])
    assert len(worker.asked) == 1 and saves.states() == ["pending", str(ClipState.FAILED)]
    assert saves.rows[-1][9] == "no_replay_service"


async def test_the_best_short_clip_is_kept_after_the_last_try() -> None:
    t = now_ms()
    short = ClipReply(1, "cam-1", b"short", "", t - 15_000, t - 9_000)
    saves, worker, _ = await _run([short, ClipError("deadline"), ClipError("deadline"), ClipError("deadline"), short])
    assert len(worker.asked) == 5 and saves.states()[-1] == "ready" and saves.rows[-1][9] == "incomplete"


async def test_a_camera_without_recorder_is_not_asked() -> None:
    saves, worker, _ = await _run([], button="b2")
    assert worker.asked == [] and saves.rows == []
