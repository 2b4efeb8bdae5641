"""One participant's WebSocket: an outbox drained by its own writer task.

Nothing else ever writes to the socket, so no locks are shared between connections
(Galène's one-owner-per-connection loop). One timer per connection sends the periodic
``ping`` and notices a client that has said nothing for too long. No task waits with a
timeout: on Python 3.11 every ``asyncio.wait_for`` is a task of its own, and the server
holds a thousand connections (docs/performance.md, bench.signaling).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from starlette.websockets import WebSocket, WebSocketDisconnect

from conclave.meetings.resume import ResumeTokens
from conclave.signaling.protocol import CloseCode, Ping

OUTBOX_LIMIT = 1024
PING_SECONDS = 10.0


class _Closing:
    __slots__ = ("code", "reason")

    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        self.reason = reason


class Connection:
    __slots__ = (
        "_loop",
        "_next_ping",
        "_on_silent",
        "_outbox",
        "_resume",
        "_timer",
        "_waiter",
        "closing",
        "idle_seconds",
        "last_heard",
        "meeting_id",
        "pid",
        "resumable",
        "session_id",
        "user_id",
        "websocket",
    )

    def __init__(
        self,
        websocket: WebSocket,
        *,
        pid: str,
        user_id: int,
        session_id: int,
        meeting_id: str,
        resume: ResumeTokens,
        idle_seconds: float,
        on_silent: Callable[[Connection], None],
    ) -> None:
        """``on_silent`` is called when the client has sent nothing for ``idle_seconds``
        (the connection is closed right after)."""
        self.websocket = websocket
        self.pid = pid
        self.user_id = user_id
        self.session_id = session_id
        self.meeting_id = meeting_id
        self.closing = False
        # Set by the hub once this connection is a participant (its welcome was sent):
        # only then do its pings carry a resume token. A lobby entry never holds one, so
        # reconnecting cannot skip a decision a host has not made (or made against it).
        self.resumable = False
        self.idle_seconds = idle_seconds
        self._resume = resume
        self._on_silent = on_silent
        self._loop = asyncio.get_running_loop()
        self.last_heard = self._loop.time()
        self._next_ping = self.last_heard + PING_SECONDS
        self._outbox: list[str | _Closing] = []  # a list: an empty deque takes 760 bytes
        self._waiter: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None

    def heard(self) -> None:
        """The client sent something: it is alive."""
        self.last_heard = self._loop.time()

    def send(self, text: str) -> None:
        if self.closing:
            return
        if len(self._outbox) >= OUTBOX_LIMIT:  # a client that does not read: drop it, not the room
            self._outbox.clear()
            self.close(CloseCode.TIMEOUT, "not reading")
            return
        self._outbox.append(text)
        self._wake()

    def close(self, code: int, reason: str) -> None:
        """Deliver what is queued, then close. Idempotent."""
        if self.closing:
            return
        self.closing = True
        self._outbox.append(_Closing(code, reason[:120]))
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _tick(self) -> None:
        """The connection's timer: a ``ping`` every PING_SECONDS however busy the connection
        is (clients answer pings, and a client that only listens says nothing else), and
        the end for a client that has said nothing for ``idle_seconds``."""
        self._timer = None
        if self.closing:
            return
        now = self._loop.time()
        if now - self.last_heard >= self.idle_seconds:
            self._on_silent(self)
            self.close(CloseCode.TIMEOUT, "no answer to ping")
            return
        if now >= self._next_ping:
            self._next_ping = now + PING_SECONDS
            token = (
                self._resume.issue(self.meeting_id, self.user_id, self.session_id)
                if self.resumable
                else None
            )
            self.send(Ping(resume=token).to_json())
        due = min(self._next_ping, self.last_heard + self.idle_seconds)
        self._timer = self._loop.call_at(due, self._tick)

    async def write_loop(self) -> None:
        """Runs as this connection's task until the close frame is sent."""
        due = min(self._next_ping, self.last_heard + self.idle_seconds)
        self._timer = self._loop.call_at(due, self._tick)
        try:
            while True:
                while not self._outbox:
                    self._waiter = self._loop.create_future()
                    try:
                        await self._waiter
                    finally:
                        self._waiter = None
                batch, self._outbox = self._outbox, []
                for item in batch:
                    if isinstance(item, _Closing):
                        await self.websocket.close(item.code, item.reason)
                        return
                    await self.websocket.send_text(item)
        except (OSError, RuntimeError, WebSocketDisconnect):  # the peer went away
            self.closing = True
        finally:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._outbox.clear()
