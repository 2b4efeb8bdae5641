"""uvicorn's sans-I/O WebSocket protocol (websockets), with a lighter inbox and write gate.

A meeting holds its connections for hours and a server holds a thousand of them, so what
each one keeps counts (docs/performance.md, bench.signaling). uvicorn gives every
connection an ``asyncio.Queue`` for the messages the application has not read yet and an
``asyncio.Event`` that pauses writing while the socket's buffer is full. On Python 3.11
those hold five ``collections.deque`` between them, each allocating room for 64 entries up
front: about 4 kB per connection, for a queue that is nearly always empty and an event
that nearly always is set. ``_Inbox`` and ``_WriteGate`` do the same with a list and
futures made only while someone waits.

uvicorn uses exactly ``put_nowait``, ``get`` and ``empty`` of the queue and ``set``,
``clear`` and ``wait`` of the event (uvicorn 0.52 to 0.54); tests/system runs a real
``conclave serve`` through all of it (handshake, refusal, messages, close codes, a client
that vanishes, shutdown).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol


class _Inbox:
    """What ``asyncio.Queue`` does for uvicorn: unbounded, one reader (the application)."""

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: list[Any] = []
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: Any) -> None:
        self._items.append(item)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def empty(self) -> bool:
        return not self._items

    async def get(self) -> Any:
        while not self._items:
            if self._waiter is not None:
                raise RuntimeError("one reader at a time")
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.pop(0)


class _WriteGate:
    """What ``asyncio.Event`` does for uvicorn's write flow control."""

    __slots__ = ("_open", "_waiters")

    def __init__(self) -> None:
        self._open = True
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        return self._open

    def set(self) -> None:
        self._open = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self._open = False

    async def wait(self) -> None:
        if self._open:
            return
        waiter = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            if self._waiters is not None and waiter in self._waiters:
                self._waiters.remove(waiter)


class SignalingWebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = _Inbox()  # type: ignore[assignment]
        self.writable = _WriteGate()  # type: ignore[assignment]
