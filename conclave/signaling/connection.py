"""One participant's WebSocket: an outbox drained by its own writer task.

Nothing else ever writes to the socket, so no locks are shared between connections
(Galène's one-owner-per-connection loop). The writer also sends the periodic ``ping``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass

from starlette.websockets import WebSocket, WebSocketDisconnect

from conclave.signaling.protocol import CloseCode, Ping

OUTBOX_LIMIT = 1024
PING_SECONDS = 10.0


@dataclass(frozen=True)
class _Closing:
    code: int
    reason: str


class Connection:
    def __init__(
        self,
        websocket: WebSocket,
        *,
        pid: str,
        user_id: int,
        session_id: int,
        meeting_id: str,
        fresh_resume: Callable[[], str],
    ) -> None:
        self.websocket = websocket
        self.pid = pid
        self.user_id = user_id
        self.session_id = session_id
        self.meeting_id = meeting_id
        self.closing = False
        self._fresh_resume = fresh_resume
        self._outbox: asyncio.Queue[str | _Closing] = asyncio.Queue(OUTBOX_LIMIT)

    def send(self, text: str) -> None:
        if self.closing:
            return
        try:
            self._outbox.put_nowait(text)
        except asyncio.QueueFull:  # a client that does not read: drop it, not the room
            self._drain()
            self.close(CloseCode.TIMEOUT, "not reading")

    def close(self, code: int, reason: str) -> None:
        """Deliver what is queued, then close. Idempotent."""
        if self.closing:
            return
        self.closing = True
        with contextlib.suppress(asyncio.QueueFull):
            self._outbox.put_nowait(_Closing(code, reason[:120]))

    def _drain(self) -> None:
        while not self._outbox.empty():
            self._outbox.get_nowait()

    async def write_loop(self) -> None:
        """Runs as this connection's task until the close frame is sent. A ``ping`` goes
        out every PING_SECONDS however busy the connection is: clients answer pings, and a
        client that only listens says nothing else (the hub drops silent clients)."""
        loop = asyncio.get_running_loop()
        next_ping = loop.time() + PING_SECONDS
        try:
            while True:
                item: str | _Closing
                try:
                    wait = max(0.0, next_ping - loop.time())
                    item = await asyncio.wait_for(self._outbox.get(), wait)
                except TimeoutError:
                    item = Ping(resume=self._fresh_resume()).to_json()
                    next_ping = loop.time() + PING_SECONDS
                if isinstance(item, _Closing):
                    await self.websocket.close(item.code, item.reason)
                    return
                await self.websocket.send_text(item)
        except (OSError, RuntimeError, WebSocketDisconnect):  # the peer went away
            self.closing = True
