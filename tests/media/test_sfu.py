"""Calls through the SFU: a managed Janus started by `conclave serve`, real Chromium.

Janus forwards SFrame ciphertext only: every receiver goes through the frame worker, and a
frame decoded is a frame decrypted."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from typing import Any

from playwright.sync_api import Browser, Page, expect

from conclave.meetings.service import MeetingDraft
from conclave.store.records import Meeting
from tests.media.conftest import Site
from tests.support.room import CALL_SECONDS, in_call, join, media_flowing, sends_opus_dtx
from tests.support.web import PASSWORD

TIMEOUT_MS = CALL_SECONDS * 1000

# Polls until the open connections decode video from `senders` different streams and
# receive audio from as many, or the deadline passes; returns what it saw either way.
# Only connections made after the first `since` count (to see media on new ones).
SFU_MEDIA = """
async ([senders, seconds, since]) => {
  const deadline = performance.now() + seconds * 1000;
  let seen = {video: 0, audio: 0, frames: 0, transformed: false};
  while (performance.now() < deadline) {
    seen = {video: 0, audio: 0, frames: 0, transformed: true};
    for (const pc of window.__pcs.slice(since).filter(pc => pc.connectionState === "connected")) {
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


def sfu_media(page: Page, senders: int, since: int = 0) -> dict[str, Any]:
    seen: dict[str, Any] = page.evaluate(SFU_MEDIA, [senders, CALL_SECONDS, since])
    return seen


def _janus_pid(server_pid: int) -> int:
    found = subprocess.run(
        ["pgrep", "-P", str(server_pid), "-x", "janus"], capture_output=True, text=True
    ).stdout.split()
    assert len(found) == 1, f"one managed janus under the server, found {found}"
    return int(found[0])


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
        assert sends_opus_dtx(page, 1), "the publisher sends Opus DTX to Janus (room/dtx.js)"
        expect(page.locator("#e2ee-state")).to_have_text("End-to-end encrypted, not verified")


NAMES = ("hannah", "ivan", "jana", "karl", "lena")


def test_five_participants_decode_each_other_through_janus(
    sfu_site: Site, browser: Browser
) -> None:
    sfu_site.server.wait_for_sfu()
    meeting = _meeting(sfu_site, *NAMES[1:])
    pages = [sfu_site.person(browser, name) for name in NAMES]
    for page in pages:
        join(page, sfu_site.server.base_url, meeting.id)
    for page in pages:
        in_call(page, 5)
        expect(page.locator("#media-mode")).to_have_text("Through the media server")
    for page in pages:
        seen = sfu_media(page, 4)
        assert seen["video"] >= 4 and seen["audio"] >= 4, seen
        assert seen["transformed"], seen


def test_a_janus_killed_during_a_call_is_restarted_and_the_call_comes_back(
    sfu_site: Site, browser: Browser
) -> None:
    sfu_site.server.wait_for_sfu()
    meeting = _meeting(sfu_site, "ivan", "jana")
    pages = [sfu_site.person(browser, name) for name in NAMES[:3]]
    for page in pages:
        join(page, sfu_site.server.base_url, meeting.id)
    for page in pages:
        in_call(page, 3)
        seen = sfu_media(page, 2)
        assert seen["video"] >= 2, seen
    assert sfu_site.server.process is not None
    janus = _janus_pid(sfu_site.server.process.pid)
    before = [page.evaluate("window.__pcs.length") for page in pages]
    os.kill(janus, signal.SIGKILL)
    killed = time.monotonic()
    lost = pages[0].get_by_text("Media connection lost. Reconnecting…")
    expect(lost).to_be_visible(timeout=TIMEOUT_MS)
    for page, since in zip(pages, before, strict=True):
        seen = sfu_media(page, 2, since)  # on new connections, through the new Janus
        assert seen["video"] >= 2 and seen["audio"] >= 2, seen
    for page in pages:  # media is back: the notice that it was lost goes
        expect(page.get_by_text("Media connection lost. Reconnecting…")).to_have_count(
            0, timeout=TIMEOUT_MS
        )
    print(f"call back {time.monotonic() - killed:.1f} s after the kill")  # the issue: < 15 s
    assert _janus_pid(sfu_site.server.process.pid) != janus


# Widths of the decoded video pictures received (streams that decoded any frame).
WIDTHS = """
async () => {
  const widths = [];
  for (const pc of window.__pcs.filter(pc => pc.connectionState === "connected")) {
    (await pc.getStats()).forEach(r => {
      if (r.type === "inbound-rtp" && r.kind === "video" && r.framesDecoded > 0) widths.push(r.frameWidth);
    });
  }
  return widths;
}
"""


def test_small_tiles_receive_a_smaller_simulcast_layer(sfu_site: Site, browser: Browser) -> None:
    sfu_site.server.wait_for_sfu()
    meeting = _meeting(sfu_site, "ivan", "jana")
    wide, ivan, narrow = (sfu_site.person(browser, name) for name in NAMES[:3])
    wide.set_viewport_size({"width": 1920, "height": 1080})
    narrow.set_viewport_size({"width": 360, "height": 640})  # a phone: tiles ~150 px wide
    for page in (wide, ivan, narrow):
        join(page, sfu_site.server.base_url, meeting.id)
    for page in (wide, ivan, narrow):
        in_call(page, 3)
        assert sfu_media(page, 2)["video"] >= 2
    deadline = time.monotonic() + CALL_SECONDS
    while True:  # polling a condition with a deadline: layer switches follow key frames
        small, large = narrow.evaluate(WIDTHS), wide.evaluate(WIDTHS)
        if small and large and 2 * max(small) <= max(large):
            break
        assert time.monotonic() < deadline, (small, large)
        narrow.wait_for_timeout(200)
