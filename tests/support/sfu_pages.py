"""Browsers that talk to :class:`conclave.media.sfu.Sfu` directly, for SFU tests without
the Conclave server: each :class:`SfuPage` is one participant (a publishing and a
receiving RTCPeerConnection), and a :class:`Hub` plays the signaling hub's part.

Async Playwright on the test's own event loop, so the SFU's Janus tasks run while the test
waits for a browser. Pages are served by Playwright itself (``page.route``) at
``http://127.0.0.1/``: a secure context, so ``getUserMedia`` gives Chromium's fake camera
and microphone (and real host candidates instead of mDNS names), without any web server.
Run inside ``scripts/netns-run.sh`` (Janus and Chromium need the veth pair).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from conclave.media.sfu import Sfu, SubscribedStream
from tests.support.chromium import (
    ACTION_TIMEOUT_MS,
    CHROMIUM,
    CHROMIUM_ARGS,
    LAUNCH_TIMEOUT_MS,
    require_chromium,
)

PAGE_URL = "http://127.0.0.1/sfu-test"
WAIT_SECONDS = 30.0  # bound of every wait for a browser condition

PAGE_SCRIPT = r"""
window.sfuTest = (() => {
  const state = { pub: null, sub: null, stream: null };
  const watch = (pc, target) => {
    pc.onicecandidate = (event) =>
      window.sfuCandidate(target, event.candidate ? event.candidate.toJSON() : null);
  };
  return {
    async publish(simulcast) {
      if (!state.stream) {
        state.stream = await navigator.mediaDevices.getUserMedia({
          audio: true, video: { width: 1280, height: 720, frameRate: 15 },
        });
      }
      if (state.pub) state.pub.close();
      const pc = state.pub = new RTCPeerConnection();
      watch(pc, "publisher");
      pc.addTransceiver(state.stream.getAudioTracks()[0], { direction: "sendonly" });
      const encodings = simulcast ? [
        { rid: "h", maxBitrate: 900000 },
        { rid: "m", maxBitrate: 300000, scaleResolutionDownBy: 2 },
        { rid: "l", maxBitrate: 100000, scaleResolutionDownBy: 4 },
      ] : undefined;
      pc.addTransceiver(state.stream.getVideoTracks()[0],
        { direction: "sendonly", sendEncodings: encodings });
      await pc.setLocalDescription(await pc.createOffer());
      return pc.localDescription.sdp;
    },
    async published(sdp) {
      await state.pub.setRemoteDescription({ type: "answer", sdp });
    },
    async renegotiate(change) {
      const pc = state.pub;
      if (change === "restart") {
        pc.restartIce();
      } else {  // "screen": a second video track, as a screen share would be
        const extra = await navigator.mediaDevices.getUserMedia(
          { video: { width: 640, height: 360, frameRate: 10 } });
        pc.addTransceiver(extra.getVideoTracks()[0], { direction: "sendonly" });
      }
      await pc.setLocalDescription(await pc.createOffer());
      return pc.localDescription.sdp;
    },
    async receive(sdp, fresh) {
      if (fresh && state.sub) { state.sub.close(); state.sub = null; }
      if (!state.sub) {
        state.sub = new RTCPeerConnection();
        watch(state.sub, "subscriber");
      }
      await state.sub.setRemoteDescription({ type: "offer", sdp });
      await state.sub.setLocalDescription(await state.sub.createAnswer());
      return state.sub.localDescription.sdp;
    },
    states() {
      return {
        publisher: state.pub ? state.pub.connectionState : "none",
        subscriber: state.sub ? state.sub.connectionState : "none",
      };
    },
    async inbound() {
      if (!state.sub) return [];
      const found = [];
      (await state.sub.getStats()).forEach((report) => {
        if (report.type === "inbound-rtp") {
          found.push({
            mid: report.mid || "", kind: report.kind,
            packets: report.packetsReceived || 0,
            frames: report.framesDecoded || 0,
            width: report.frameWidth || 0,
          });
        }
      });
      return found;
    },
    close() {
      for (const pc of [state.pub, state.sub]) if (pc) pc.close();
      state.pub = state.sub = null;
    },
  };
})();
"""


@dataclass
class Inbound:
    mid: str
    kind: str
    packets: int
    frames: int
    width: int


@dataclass
class SfuPage:
    """One participant's browser page, its requests to the SFU carried out in order (an
    offer before its candidates), like the hub's relay does."""

    hub: Hub
    meeting_id: str
    pid: str
    page: Page
    offers: list[tuple[str, tuple[SubscribedStream, ...]]] = field(default_factory=list)
    fresh_offer: bool = False  # the next offer goes into a new receiving connection
    _queue: asyncio.Queue[Callable[[], Awaitable[None]]] = field(default_factory=asyncio.Queue)
    _worker: asyncio.Task[None] | None = None
    _offer_seen: asyncio.Event = field(default_factory=asyncio.Event)
    errors: list[BaseException] = field(default_factory=list)

    def start(self) -> None:
        self._worker = asyncio.create_task(self._work(), name=f"page-{self.pid}")

    async def _work(self) -> None:
        while True:
            step = await self._queue.get()
            try:
                await step()
            except Exception as exc:  # kept for the test to look at
                self.errors.append(exc)

    async def _run(self, step: Callable[[], Awaitable[Any]]) -> Any:
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        async def wrapped() -> None:
            try:
                done.set_result(await step())
            except Exception as exc:
                done.set_exception(exc)

        await self._queue.put(wrapped)
        return await done

    async def publish(self, *, simulcast: bool = False) -> str:
        """A new publishing connection (camera and microphone); returns Janus's answer."""
        offer: str = await self.page.evaluate("s => window.sfuTest.publish(s)", simulcast)
        return await self._send_offer(offer)

    async def renegotiate(self, change: str) -> str:
        """A new offer on the same publishing connection: ``"restart"`` (ICE restart) or
        ``"screen"`` (one more video track); returns Janus's answer."""
        offer: str = await self.page.evaluate("c => window.sfuTest.renegotiate(c)", change)
        return await self._send_offer(offer)

    async def _send_offer(self, offer: str) -> str:
        """The publishing connection's offer to Janus, its answer back to the page."""

        async def send() -> str:
            answer = await self.hub.sfu.publish(self.meeting_id, self.pid, offer)
            await self.page.evaluate("sdp => window.sfuTest.published(sdp)", answer)
            return answer

        answer: str = await self._run(send)
        return answer

    def candidate(self, target: str, candidate: dict[str, Any] | None) -> None:
        async def send() -> None:
            await self.hub.sfu.trickle(self.meeting_id, self.pid, target, candidate)  # type: ignore[arg-type]

        self._queue.put_nowait(send)

    def offered(self, sdp: str, streams: tuple[SubscribedStream, ...]) -> None:
        fresh, self.fresh_offer = self.fresh_offer, False

        async def answer() -> None:
            reply = await self.page.evaluate(
                "([sdp, fresh]) => window.sfuTest.receive(sdp, fresh)", [sdp, fresh]
            )
            await self.hub.sfu.subscriber_answer(self.meeting_id, self.pid, reply)
            self.offers.append((sdp, streams))
            self._offer_seen.set()

        self._queue.put_nowait(answer)

    @property
    def streams(self) -> tuple[SubscribedStream, ...]:
        """The layout of the last offer answered."""
        return self.offers[-1][1] if self.offers else ()

    async def until(
        self, check: Callable[[], Awaitable[bool]], what: str | Callable[[], str]
    ) -> None:
        """Wait (bounded) until ``check()`` holds; ``what`` says what failed."""
        try:
            async with asyncio.timeout(WAIT_SECONDS):
                while not await check():
                    await asyncio.sleep(0.1)  # polling the page's state with a deadline
        except TimeoutError:
            text = what() if callable(what) else what
            raise AssertionError(f"{self.pid}: {text} within {WAIT_SECONDS:g} s") from None
        if self.errors:
            raise self.errors[0]

    async def states(self) -> dict[str, str]:
        states: dict[str, str] = await self.page.evaluate("() => window.sfuTest.states()")
        return states

    async def inbound(self) -> list[Inbound]:
        found = await self.page.evaluate("() => window.sfuTest.inbound()")
        return [Inbound(**item) for item in found]

    async def wait_publishing(self) -> None:
        async def up() -> bool:
            return (await self.states())["publisher"] == "connected"

        await self.until(up, "the publishing connection is not up")

    async def wait_frames(self, source: str, *, more_than: int = 0) -> None:
        """Until video from participant ``source`` is decoded (more than ``more_than``
        frames)."""

        async def decoded() -> bool:
            mids = {s.mid for s in self.streams if s.pid == source and s.kind == "video"}
            return any(i.mid in mids and i.frames > more_than for i in await self.inbound())

        await self.until(decoded, f"no video from {source} decoded")

    async def frames_from(self, source: str) -> int:
        mids = {s.mid for s in self.streams if s.pid == source and s.kind == "video"}
        return sum(i.frames for i in await self.inbound() if i.mid in mids)

    async def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        with contextlib.suppress(Exception):
            await self.page.evaluate("() => window.sfuTest.close()")
        await self.page.context.close()


class Hub:
    """The hub's part: the SFU's listener, routing offers to the right page."""

    def __init__(self, sfu: Sfu, browser: Browser) -> None:
        self.sfu = sfu
        self.browser = browser
        self.pages: dict[tuple[str, str], SfuPage] = {}
        self.lost: list[str] = []
        self.lost_event = asyncio.Event()
        sfu.set_listener(self)

    async def subscriber_offer(
        self, meeting_id: str, pid: str, sdp: str, streams: tuple[SubscribedStream, ...]
    ) -> None:
        page = self.pages.get((meeting_id, pid))
        if page is not None:
            page.offered(sdp, streams)

    async def media_lost(self, meeting_id: str) -> None:
        self.lost.append(meeting_id)
        self.lost_event.set()

    async def join(self, meeting_id: str, pid: str) -> SfuPage:
        context: BrowserContext = await self.browser.new_context()
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        await context.route(
            "http://127.0.0.1/**",
            lambda route: route.fulfill(
                status=200, content_type="text/html", body="<!doctype html><title>sfu</title>"
            ),
        )
        page = await context.new_page()
        participant = SfuPage(self, meeting_id, pid, page)

        def on_candidate(target: str, candidate: dict[str, Any] | None) -> None:
            participant.candidate(target, candidate)

        await page.expose_function("sfuCandidate", on_candidate)
        await page.add_init_script(PAGE_SCRIPT)
        await page.goto(PAGE_URL)
        participant.start()
        self.pages[(meeting_id, pid)] = participant
        return participant

    async def close(self) -> None:
        for page in list(self.pages.values()):
            await page.close()
        self.pages.clear()


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """Debian's Chromium under async Playwright with the project's flags."""
    require_chromium()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, timeout=LAUNCH_TIMEOUT_MS
        )
        try:
            yield browser
        finally:
            await browser.close()
