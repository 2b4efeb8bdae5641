"""Driving the meeting room page in Chromium: join, read call statistics."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from playwright.sync_api import Page, expect

CALL_SECONDS = 30  # how long a page may take to reach a state (a deadline, not a sleep)

# Polls inside the page until every open connection decodes video and receives audio
# from its peer, or the deadline passes; returns what it saw either way.
MEDIA_FLOWING = """
async ([peers, seconds]) => {
  const deadline = performance.now() + seconds * 1000;
  let seen = [];
  while (performance.now() < deadline) {
    const open = window.__pcs.filter(pc => pc.connectionState !== "closed");
    seen = [];
    for (const pc of open) {
      const stats = await pc.getStats();
      let frames = 0, audio = 0;
      stats.forEach(r => {
        if (r.type === "inbound-rtp" && r.kind === "video") frames += r.framesDecoded || 0;
        if (r.type === "inbound-rtp" && r.kind === "audio") audio += r.packetsReceived || 0;
      });
      seen.push({state: pc.connectionState, frames, audio});
    }
    if (seen.length === peers && seen.every(s => s.frames > 0 && s.audio > 0)) return seen;
    await new Promise(resolve => setTimeout(resolve, 200));
  }
  return seen;
}
"""

TOTAL_FRAMES = """
async () => {
  let frames = 0;
  for (const pc of window.__pcs.filter(pc => pc.connectionState !== "closed")) {
    (await pc.getStats()).forEach(r => {
      if (r.type === "inbound-rtp" && r.kind === "video") frames += r.framesDecoded || 0;
    });
  }
  return frames;
}
"""

# The negotiated format parameters of the audio (Opus) each connected connection sends.
SENT_OPUS = """
async () => {
  const lines = [];
  for (const pc of window.__pcs.filter(pc => pc.connectionState === "connected")) {
    const stats = await pc.getStats();
    stats.forEach(r => {
      if (r.type === "outbound-rtp" && r.kind === "audio") lines.push(stats.get(r.codecId)?.sdpFmtpLine);
    });
  }
  return lines;
}
"""


# Polls until the page decodes video from `streams` remote video streams over all its
# connections (a camera and a shared screen are two), or the deadline passes; the count.
VIDEO_STREAMS = """
async ([streams, seconds]) => {
  const deadline = performance.now() + seconds * 1000;
  let decoding = 0;
  while (performance.now() < deadline) {
    decoding = 0;
    for (const pc of window.__pcs.filter(pc => pc.connectionState === "connected")) {
      (await pc.getStats()).forEach(r => {
        if (r.type === "inbound-rtp" && r.kind === "video" && r.framesDecoded > 0) decoding += 1;
      });
    }
    if (decoding >= streams) return decoding;
    await new Promise(resolve => setTimeout(resolve, 200));
  }
  return decoding;
}
"""


def open_room(page: Page, base_url: str, meeting_id: str) -> None:
    page.goto(f"{base_url}/m/{meeting_id}/join")
    expect(page.locator("#prejoin")).to_be_visible()


def join(
    page: Page, base_url: str, meeting_id: str, *, media: bool = True, password: str = ""
) -> None:
    """Open the pre-join screen, switch camera and microphone on, acknowledge, join."""
    open_room(page, base_url, meeting_id)
    if media:
        page.get_by_role("button", name="Camera").first.click()
        page.get_by_role("button", name="Microphone").first.click()
        expect(page.locator("#pre-cam")).to_have_attribute("aria-pressed", "true")
        expect(page.locator("#pre-mic")).to_have_attribute("aria-pressed", "true")
    if password:
        page.get_by_label("Meeting password").fill(password)
    page.get_by_label("I have read the privacy notice.").check()
    page.get_by_role("button", name="Join").click()


def join_all(pages: Sequence[Page], base_url: str, meeting_id: str, *, media: bool = True) -> None:
    """Everyone joins, one after the other, and each page shows all of them in the call."""
    for page in pages:
        join(page, base_url, meeting_id, media=media)
    for page in pages:
        in_call(page, len(pages))


def in_call(page: Page, participants: int) -> None:
    expect(page.locator("#call")).to_be_visible(timeout=CALL_SECONDS * 1000)
    shown = "1 participant" if participants == 1 else f"{participants} participants"
    expect(page.locator("#count")).to_have_text(shown, timeout=CALL_SECONDS * 1000)


def media_flowing(page: Page, peers: int) -> list[dict[str, Any]]:
    """Per connection: state, decoded video frames, received audio packets."""
    seen: list[dict[str, Any]] = page.evaluate(MEDIA_FLOWING, [peers, CALL_SECONDS])
    return seen


def total_frames(page: Page) -> int:
    frames: int = page.evaluate(TOTAL_FRAMES)
    return frames


def sends_opus_dtx(page: Page, connections: int) -> bool:
    """Does the page send its microphone with Opus DTX (``usedtx=1`` negotiated) on
    ``connections`` connections, and on no other?"""
    lines: list[str | None] = page.evaluate(SENT_OPUS)
    return len(lines) == connections and all(
        "usedtx=1" in (line or "").split(";") for line in lines
    )


def video_streams(page: Page, streams: int) -> int:
    """Remote video streams the page decodes (waits up to CALL_SECONDS for ``streams``)."""
    decoding: int = page.evaluate(VIDEO_STREAMS, [streams, CALL_SECONDS])
    return decoding
