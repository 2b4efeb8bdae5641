"""The inbox and write gate that replace asyncio.Queue and asyncio.Event in the signaling
WebSocket protocol: the same behaviour where uvicorn relies on it."""

from __future__ import annotations

import asyncio

import pytest
from uvicorn.config import Config
from uvicorn.server import ServerState

from conclave.signaling.websocket_protocol import (
    SignalingWebSocketProtocol,
    _Inbox,
    _WriteGate,
)


def test_the_inbox_keeps_order_and_wakes_its_reader() -> None:
    async def scenario() -> None:
        inbox = _Inbox()
        assert inbox.empty()
        inbox.put_nowait(1)
        inbox.put_nowait(2)
        assert not inbox.empty()
        assert [await inbox.get(), await inbox.get()] == [1, 2]
        assert inbox.empty()
        reader = asyncio.ensure_future(inbox.get())
        await asyncio.sleep(0)
        assert not reader.done()
        inbox.put_nowait(3)
        assert await reader == 3

    asyncio.run(scenario())


def test_a_cancelled_read_loses_nothing_and_one_reader_at_a_time() -> None:
    async def scenario() -> None:
        inbox = _Inbox()
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.01):
                await inbox.get()
        inbox.put_nowait("after")
        assert await inbox.get() == "after"
        first = asyncio.ensure_future(inbox.get())
        await asyncio.sleep(0)
        with pytest.raises(RuntimeError):
            await inbox.get()
        inbox.put_nowait("x")
        assert await first == "x"

    asyncio.run(scenario())


def test_the_write_gate_holds_writers_while_closed() -> None:
    async def scenario() -> None:
        gate = _WriteGate()
        assert gate.is_set()
        await gate.wait()  # open: no wait
        gate.clear()
        writers = [asyncio.ensure_future(gate.wait()) for _ in range(2)]
        cancelled = asyncio.ensure_future(gate.wait())
        await asyncio.sleep(0)
        assert not any(w.done() for w in writers)
        cancelled.cancel()
        await asyncio.sleep(0)
        gate.set()
        await asyncio.gather(*writers)
        assert gate.is_set() and cancelled.cancelled()

    asyncio.run(scenario())


def test_the_protocol_uses_them() -> None:
    async def app(scope: object, receive: object, send: object) -> None:
        raise AssertionError("not called")

    async def scenario() -> None:
        config = Config(app, ws=SignalingWebSocketProtocol, ws_per_message_deflate=False)
        protocol = SignalingWebSocketProtocol(config, ServerState(), {})
        assert isinstance(protocol.queue, _Inbox)
        assert isinstance(protocol.writable, _WriteGate) and protocol.writable.is_set()

    asyncio.run(scenario())
