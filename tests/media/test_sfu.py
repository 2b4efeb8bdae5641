"""Calls through the SFU: a managed Janus started by `conclave serve`, real Chromium.

Janus forwards SFrame ciphertext only: every receiver goes through the frame worker, and a
frame decoded is a frame decrypted."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Browser, Page, expect

from conclave.meetings.service import MeetingDraft
from conclave.store.records import Meeting
from tests.media.conftest import Site
from tests.support.room import CALL_SECONDS, in_call, join, media_flowing
from tests.support.web import PASSWORD

TIMEOUT_MS = CALL_SECONDS * 1000

# Polls until the open connections decode video from `senders` different streams and
# receive audio from as many, or the deadline passes; returns what it saw either way.
SFU_MEDIA = """
async ([senders, seconds]) => {
  const deadline = performance.now() + seconds * 1000;
  let seen = {video: 0, audio: 0, frames: 0, transformed: false};
  while (performance.now() < deadline) {
    seen = {video: 0, audio: 0, frames: 0, transformed: true};
    for (const pc of window.__pcs.filter(pc => pc.connectionState === "connected")) {
      (await pc.getStats()).forEach(r => {
        if (r.type !== "inbound-rtp") return;
        if (r.kind === "video" && r.framesDecoded > 0) { seen.video += 1; seen.frames += r.framesDecoded; }
        if (r.kind === "audio" && r.packetsReceived > 0) seen.audio += 1;
      });
      for (const t of pc.getTransceivers()) {
        const way = t.currentDirection || "";
        if (way.includes("recv")) seen.transformed &&= Boolean(t.receiver.transform);
        if (way.includes("send")) seen.transformed &&= Boolean(t.sender.transform);
      }
    }
    if (seen.video >= senders && seen.audio >= senders) return seen;
    await new Promise(resolve => setTimeout(resolve, 200));
  }
  return seen;
}
"""


def _meeting(site: Site, *members: str) -> Meeting:
    accounts = site.services.accounts
    host = accounts.create_user("hannah", "Hannah", PASSWORD)
    meeting = site.services.meetings.create(host, MeetingDraft("Board", None, None, "off", None))
    for name in members:
        accounts.create_user(name, name.title(), PASSWORD)
        site.services.invitations.invite_member(host, meeting.id, name)
    return meeting


def sfu_media(page: Page, senders: int) -> dict[str, Any]:
    seen: dict[str, Any] = page.evaluate(SFU_MEDIA, [senders, CALL_SECONDS])
    return seen


def test_the_third_participant_moves_the_call_to_the_sfu_without_a_click(
    sfu_site: Site, browser: Browser
) -> None:
    sfu_site.server.wait_for_sfu()
    meeting = _meeting(sfu_site, "ivan", "jana")
    host, ivan = sfu_site.person(browser, "hannah"), sfu_site.person(browser, "ivan")
    for page in (host, ivan):
        join(page, sfu_site.server.base_url, meeting.id)
    for page in (host, ivan):
        in_call(page, 2)
        expect(page.locator("#media-mode")).to_have_text("Direct connections")
    seen = media_flowing(host, 1)
    assert seen and seen[0]["frames"] > 0, seen  # P2P first
    jana = sfu_site.person(browser, "jana")
    join(jana, sfu_site.server.base_url, meeting.id)
    for page in (host, ivan, jana):
        in_call(page, 3)
        expect(page.locator("#media-mode")).to_have_text(
            "Through the media server", timeout=TIMEOUT_MS
        )
    for page in (host, ivan, jana):
        seen = sfu_media(page, 2)
        assert seen["video"] >= 2 and seen["audio"] >= 2, seen
        assert seen["transformed"], "every sender and receiver goes through the SFrame worker"
        expect(page.locator("#e2ee-state")).to_have_text("End-to-end encrypted, not verified")
