"""DC-09 channel edge cases a well-behaved receiver never shows: a scripted TCP peer.

pysiaalarm cannot be made to send a stale ACK, split a reply or say DUH to a mapped code, so a small
scripted server (using our codec for its replies) plays those parts. This is a protocol unit test.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from edge.relay.dc09.content import null_frame
from edge.relay.dc09.frame import Frame, decode, encode
from edge.relay.service import Relay
from edge.relay.transport_dc09 import Clock, Dc09Channel, Dc09Error, Receiver
from edge.store import Database
from tests.peers.sia_receiver import free_port
from tests.relay.relay_support import ACCOUNT, Emitted, depth, message, police, running, submit, until

Script = Callable[[Frame, asyncio.StreamWriter], "asyncio.Future[None] | None"]


def ack(seq: int, account: str = ACCOUNT) -> bytes:
    return encode(Frame("ACK", seq, account, line="0"))


@pytest.fixture
async def peer() -> AsyncIterator[tuple[int, list[Frame], list[object]]]:
    """(port, frames received, script): each script entry answers one frame (bytes list, or 'close')."""
    received: list[Frame] = []
    script: list[object] = []
    port = free_port()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        buf = b""
        try:
            while True:
                chunk = await reader.read(100)
                if not chunk:
                    return
                buf += chunk
                while b"\r" in buf:
                    raw, buf = buf[: buf.index(b"\r") + 1], buf[buf.index(b"\r") + 1 :]
                    frame = decode(raw)
                    assert isinstance(frame, Frame)
                    received.append(frame)
                    action = script.pop(0) if script else [ack(frame.sequence)]
                    if action == "close":
                        writer.close()
                        return
                    for part in action:  # type: ignore[attr-defined]
                        writer.write(part(frame) if callable(part) else part)
                        await writer.drain()
                        await asyncio.sleep(0.01)
        except ConnectionError:
            return

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    yield port, received, script
    server.close()


def channel(port: int, db: Database, clock: Clock | None = None) -> Dc09Channel:
    return Dc09Channel(
        Receiver.parse(f"dc09://127.0.0.1:{port}"),
        account=ACCOUNT,
        key=None,
        clock=clock or Clock(),
        connect_timeout=0.5,
        ack_timeout=0.5,
    )


def build(seq: int, ts: datetime) -> Frame:
    return null_frame(account=ACCOUNT, sequence=seq, timestamp=ts, line="0")


async def test_stale_and_foreign_acks_are_ignored(peer: tuple[int, list[Frame], list[object]], db: Database) -> None:
    port, _received, script = peer
    script.append([ack(9998), ack(1, "FFFF"), lambda f: ack(f.sequence)])
    ch = channel(port, db)
    before = {r: _bad(r) for r in ("wrong_sequence", "wrong_account")}
    reply = await ch.send(build, 1)
    assert reply.kind == "ACK" and reply.sequence == 1
    assert {r: _bad(r) - n for r, n in before.items()} == {"wrong_sequence": 1, "wrong_account": 1}
    await ch.close()


def _bad(reason: str) -> float:
    return REGISTRY.get_sample_value("edge_bad_input_total", {"source": "dc09", "reason": reason}) or 0.0


async def test_alarm_is_not_queued_behind_a_slow_null(db: Database) -> None:
    """The receiver takes 0.8 s to ACK a NULL; an alarm raised meanwhile is ACKed at once."""
    port = free_port()
    got: list[tuple[str, float]] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                raw = await reader.readuntil(b"\r")
                frame = decode(raw)
                assert isinstance(frame, Frame)
                got.append((frame.kind, time.monotonic()))
                if frame.kind == "NULL":
                    await asyncio.sleep(0.8)
                writer.write(ack(frame.sequence))
                await writer.drain()

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    cfg = police([f"dc09://127.0.0.1:{port}"], supervision_interval=5, ack_timeout=2.0)
    relay = Relay(cfg, db, Emitted(), "sch-1")
    async with running(relay):
        await until(lambda: [k for k, _ in got] == ["NULL"])
        t0 = time.monotonic()
        submit(db, relay, [message(1)], cfg)
        await until(lambda: depth(db) == 0, timeout=3)
        latency = time.monotonic() - t0
    server.close()
    assert latency < 0.3, latency


async def test_reply_split_across_writes_and_two_in_one(
    peer: tuple[int, list[Frame], list[object]], db: Database
) -> None:
    port, _received, script = peer
    whole = ack(1)
    script.append([whole[:3], whole[3:11], whole[11:]])
    script.append([lambda f: ack(1) + ack(f.sequence)])  # a late duplicate and the real one together
    ch = channel(port, db)
    assert (await ch.send(build, 1)).sequence == 1
    assert (await ch.send(build, 2)).sequence == 2
    await ch.close()


@pytest.mark.parametrize(
    ("action", "reason"),
    [
        ([lambda f: encode(Frame("DUH", f.sequence, ACCOUNT))], "duh"),
        ([b"\n\r"], "bad_reply"),  # pysiaalarm's answer to a frame it could not check
        ([b"\nGARBAGE\r"], "bad_reply"),
        ([], "timeout"),
        ([b'"NAK"'], "nak"),
    ],
)
async def test_failures_are_typed(
    peer: tuple[int, list[Frame], list[object]], db: Database, action: list[object], reason: str
) -> None:
    port, _, script = peer
    script.append(action)
    ch = channel(port, db)
    with pytest.raises(Dc09Error) as err:
        await ch.send(build, 1)
    assert err.value.reason == reason
    await ch.close()


async def test_nak_time_corrects_clock_and_same_sequence_is_resent(
    peer: tuple[int, list[Frame], list[object]], db: Database
) -> None:
    port, received, script = peer
    receiver_time = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)
    script.append([encode(Frame("NAK", 0, None, line="0", timestamp=receiver_time))])
    clock = Clock()
    ch = channel(port, db, clock)
    seq = (await ch.send(build, 5)).sequence
    assert [f.sequence for f in received] == [seq, seq]
    assert abs((received[1].timestamp - receiver_time).total_seconds()) <= 2  # type: ignore[operator]
    await ch.close()


async def test_receiver_closing_an_idle_connection_is_not_a_failure(
    peer: tuple[int, list[Frame], list[object]], db: Database
) -> None:
    port, received, script = peer
    ch = channel(port, db)
    await ch.send(build, 1)
    script.extend(["close"])  # the next frame finds the connection closed: reconnect and send again
    seq = 2
    reply = await ch.send(build, seq)
    assert reply.sequence == seq and [f.sequence for f in received][-2:] == [seq, seq]
    await ch.close()


async def test_refused_connection(db: Database, tmp_path: Path) -> None:
    ch = channel(free_port(), db)
    with pytest.raises(Dc09Error) as err:
        await ch.send(build, 1)
    assert err.value.reason == "connect"
