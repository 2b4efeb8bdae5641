"""SFU mode in the hub: the browsers' ``sfu_*`` messages go to the SFU, its offers back.

The browser never talks to Janus. The hub has already checked that the sender is a
participant of the meeting and that the meeting is in SFU mode; every call below is keyed
by the sender's own (meeting, pid), so nobody can act on someone else's connection or on
another meeting's room (see :mod:`conclave.media.sfu`).

Each participant's requests are carried out one after the other, in the order they came
(an offer before its candidates), by one task per participant with a bounded queue: a
client that floods gets an error for what does not fit, and others are not slowed down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from conclave.errors import ConclaveError
from conclave.media.sfu import Sfu, SubscribedStream
from conclave.signaling import protocol as p

log = logging.getLogger("conclave.signaling")

QUEUE_LIMIT = 64  # SFU messages of one participant waiting to be carried out
SfuMessage = p.ClientSfuPublish | p.ClientSfuAnswer | p.ClientSfuCandidate | p.ClientSfuQuality
SFU_MESSAGES = (p.ClientSfuPublish, p.ClientSfuAnswer, p.ClientSfuCandidate, p.ClientSfuQuality)


Deliver = Callable[[str, str, p.ServerMessage], None]  # meeting, pid, message
Broadcast = Callable[[str, p.ServerMessage], None]  # meeting, message


class SfuRelay:
    def __init__(self, sfu: Sfu, deliver: Deliver, broadcast: Broadcast) -> None:
        self.sfu = sfu
        self._deliver = deliver
        self._broadcast = broadcast
        self._queues: dict[tuple[str, str], asyncio.Queue[SfuMessage]] = {}
        self._workers: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        sfu.set_listener(self)

    @property
    def available(self) -> bool:
        return self.sfu.available

    def submit(self, meeting_id: str, pid: str, message: SfuMessage) -> bool:
        """Queue one message; False when the participant's queue is full."""
        key = (meeting_id, pid)
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = asyncio.Queue(QUEUE_LIMIT)
            self._workers[key] = asyncio.get_running_loop().create_task(self._work(key, queue))
        try:
            queue.put_nowait(message)
        except asyncio.QueueFull:
            return False
        return True

    def left(self, meeting_id: str, pid: str) -> None:
        """``pid`` is no longer a participant: drop its requests, tear down its handles."""
        self._stop(meeting_id, pid)
        self._spawn(self.sfu.leave(meeting_id, pid))

    def closed(self, meeting_id: str) -> None:
        """The room is gone from the hub."""
        for key in [k for k in self._queues if k[0] == meeting_id]:
            self._stop(*key)
        self._spawn(self.sfu.close_meeting(meeting_id))

    async def aclose(self) -> None:
        for key in list(self._queues):
            self._stop(*key)
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -- the SFU's listener ------------------------------------------------------------------

    async def subscriber_offer(
        self, meeting_id: str, pid: str, sdp: str, streams: tuple[SubscribedStream, ...]
    ) -> None:
        layout = tuple(
            p.SfuStream(mid=s.mid, pid=s.pid, kind=s.kind, source_mid=s.source_mid) for s in streams
        )
        self._deliver(meeting_id, pid, p.SfuOffer(sdp=sdp, streams=layout))

    async def media_lost(self, meeting_id: str) -> None:
        log.warning("sfu media lost", extra={"event": "sfu_lost"})
        self._broadcast(meeting_id, p.SfuRestart())

    # -- inside -------------------------------------------------------------------------------

    def _stop(self, meeting_id: str, pid: str) -> None:
        self._queues.pop((meeting_id, pid), None)
        worker = self._workers.pop((meeting_id, pid), None)
        if worker is not None:
            worker.cancel()

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(self._quietly(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _quietly(work: Coroutine[Any, Any, None]) -> None:
        try:
            await work
        except ConclaveError as error:
            log.info("sfu cleanup failed", extra={"event": "sfu_error", "reason": error.reason})

    async def _work(self, key: tuple[str, str], queue: asyncio.Queue[SfuMessage]) -> None:
        meeting_id, pid = key
        while True:
            message = await queue.get()
            try:
                await self._carry_out(meeting_id, pid, message)
            except ConclaveError as error:
                code = f"sfu_{error.reason}" if error.reason else "sfu_failed"
                self._deliver(meeting_id, pid, p.Error(code=code, message=error.text))

    async def _carry_out(self, meeting_id: str, pid: str, message: SfuMessage) -> None:
        match message:
            case p.ClientSfuPublish(sdp=sdp):
                answer = await self.sfu.publish(meeting_id, pid, sdp)
                self._deliver(meeting_id, pid, p.SfuAnswer(sdp=answer))
            case p.ClientSfuAnswer(sdp=sdp):
                await self.sfu.subscriber_answer(meeting_id, pid, sdp)
            case p.ClientSfuCandidate(target=target, candidate=candidate):
                data = None if candidate is None else candidate.model_dump(exclude_none=True)
                await self.sfu.trickle(meeting_id, pid, target, data)
            case p.ClientSfuQuality(pid=publisher, layer=layer):
                await self.sfu.set_quality(meeting_id, pid, publisher, layer)
