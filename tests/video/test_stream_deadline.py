"""A stream grab runs in a process of its own: stalled and garbage peers, and a decoder that never
answers, end within the grab's deadline with a typed error and leave no busy process or thread
behind; a process that answered serves the next grab, and exits on its own when none comes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.sim.rtsp_server import RtspServer
from edge.video import stream, stream_grab
from edge.video.errors import GrabError
from edge.video.grab import grab_frames


def _children() -> set[int]:
    """Our live child processes (zombies are reaped ones we have not waited for: none may be left)."""
    me = os.getpid()
    out = set()
    for task in Path(f"/proc/{me}/task").iterdir():
        with contextlib.suppress(OSError):
            out |= {int(p) for p in (task / "children").read_text().split()}
    return out


def _running(pid: int) -> bool:
    """Alive and not a zombie (exited, waiting to be reaped)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@contextlib.contextmanager
def _peer(kind: str) -> Iterator[int]:
    """A TCP peer on a free port that accepts and then stays silent ("stall") or sends endless junk."""
    srv = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()
    conns: list[socket.socket] = []

    def serve() -> None:
        srv.settimeout(0.1)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                conn, _ = srv.accept()
                conns.append(conn)
            for c in conns if kind == "garbage" else []:
                with contextlib.suppress(OSError):
                    c.sendall(os.urandom(4096))

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        yield srv.getsockname()[1]
    finally:
        stop.set()
        t.join()
        for c in conns:
            c.close()
        srv.close()


@pytest.mark.parametrize("kind", ["stall", "garbage"])
async def test_bad_rtsp_peers_end_within_the_deadline(kind: str) -> None:
    before = _children()
    with _peer(kind) as port:
        started = time.monotonic()
        with pytest.raises(GrabError) as exc:
            await grab_frames(f"rtsp://127.0.0.1:{port}/live", count=2, interval=0.5, timeout=1.5)
        elapsed = time.monotonic() - started
    assert exc.value.reason in {"open_failed", "read_failed", "read_timeout", "decode_failed", "timeout"}
    assert elapsed < 1.5 * 3 + 0.5 + 1.0  # the grab's budget: open + two reads + the wait between
    assert _children() - stream.POOL.pids() <= before  # at most an idle one that answered, ready again


async def test_a_decoder_that_never_answers_is_killed_at_the_deadline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hung = tmp_path / "hung.py"
    hung.write_text("import sys, time\nsys.stdin.readline()\ntime.sleep(600)\n")
    monkeypatch.setattr(stream, "SCRIPT", hung)
    before = _children()
    started = time.monotonic()
    with pytest.raises(GrabError) as exc:
        await asyncio.to_thread(stream.read_stream, "rtsp://192.0.2.1/x", None, 1, 0.0, 0.5, threading.Event())
    assert exc.value.reason == "timeout"
    assert time.monotonic() - started < 0.5 * 2 + 1.0
    assert _children() <= before  # killed and reaped


async def test_cancel_kills_the_decoder_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hung = tmp_path / "hung.py"
    hung.write_text("import sys, time\nsys.stdin.readline()\ntime.sleep(600)\n")
    monkeypatch.setattr(stream, "SCRIPT", hung)
    cancel = threading.Event()
    job = asyncio.ensure_future(asyncio.to_thread(stream.read_stream, "rtsp://192.0.2.1/x", None, 1, 0.0, 60.0, cancel))
    await asyncio.sleep(0.3)
    cancel.set()
    started = time.monotonic()
    with pytest.raises(GrabError) as exc:
        await job
    assert exc.value.reason == "cancelled"
    assert time.monotonic() - started < 1.0


async def test_garbled_decoder_output_is_a_typed_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    liar = tmp_path / "liar.py"
    liar.write_text(
        "import sys\nsys.stdin.readline()\n"
        'sys.stdout.write(\'{"frame": 0, "width": 100000, "height": 100000, "stride": 300000}\\n\')\n'
    )
    monkeypatch.setattr(stream, "SCRIPT", liar)
    with pytest.raises(GrabError) as exc:
        await asyncio.to_thread(stream.read_stream, "rtsp://192.0.2.1/x", None, 1, 0.0, 2.0, threading.Event())
    assert exc.value.reason == "decode_failed"  # a frame over the size cap is refused before its bytes


async def test_one_process_serves_a_sweep_and_exits_when_idle(rtsp_server: RtspServer) -> None:
    stream.POOL.close()
    before = _children()
    pids = set()
    for name in ("moving", "black", "moving", "no-such-stream", "static"):
        with contextlib.suppress(GrabError):
            await grab_frames(rtsp_server.url(name), count=1, timeout=5.0)
        pids |= _children() - before
    assert len(pids) == 1, pids  # one after another: one process, errors included
    deadline = time.monotonic() + stream_grab.IDLE_EXIT_S + 5.0
    while any(_running(p) for p in stream.POOL.pids()):
        assert time.monotonic() < deadline, "the idle grab process did not exit"
        await asyncio.sleep(0.2)
    await grab_frames(rtsp_server.url("moving"), count=1, timeout=5.0)  # a new one for the next sweep
    assert _children() - before - pids
