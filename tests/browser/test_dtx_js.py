"""Opus DTX, conclave/web/static/js/room/dtx.js, in Debian's Chromium.

The SDP function adds `usedtx=1` to the Opus format parameters of a description and
nothing else; and a page that applies the other side's description through it sends DTX:
in silence a few audio frames a second instead of fifty, which the real frame worker
encrypts and decrypts like any other (none dropped).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from tests.support.static_site import fresh_page

pytestmark = pytest.mark.browser

WAIT_MS = 20_000  # a deadline for conditions, not a sleep

WITH_DTX = """async (sdp) => (await import("/js/room/dtx.js")).withOpusDtx(sdp)"""

# Chromium's own offer for an audio and a video transceiver, before and after.
CHROMIUM_OFFER = """async () => {
  const { withOpusDtx } = await import("/js/room/dtx.js");
  const pc = new RTCPeerConnection();
  pc.addTransceiver("audio");
  pc.addTransceiver("video");
  const { sdp } = await pc.createOffer();
  pc.close();
  return [sdp, withOpusDtx(sdp)];
}"""

# One page calls itself: a silent microphone (WebAudio), the real frame worker on the
# sending and the receiving side, the answer applied through askingForDtx as call.js and
# sfu.js do. `opts.dtx` false applies it unchanged (the control).
SILENT_CALL = """async (opts) => {
  const { askingForDtx } = await import("/js/room/dtx.js");
  const audio = new AudioContext();
  const silence = audio.createConstantSource();
  silence.offset.value = 0;
  const out = audio.createMediaStreamDestination();
  silence.connect(out);
  silence.start();
  const worker = new Worker("/js/e2ee/worker.js", { type: "module" });
  window.t = { worker: null };
  worker.onmessage = (event) => { if (event.data.kind === "stats") window.t.worker = event.data; };
  const key = new Uint8Array(16).fill(9);
  worker.postMessage({ kind: "send-key", kid: 0x4242 * 256, key });
  worker.postMessage({ kind: "receive-key", kid: 0x4242 * 256, key, pid: "peer" });
  const a = new RTCPeerConnection(), b = new RTCPeerConnection();
  a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate);
  b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate);
  const sender = a.addTrack(out.stream.getAudioTracks()[0], out.stream);
  sender.transform = new RTCRtpScriptTransform(worker, { side: "send", pid: "" });
  b.ontrack = (e) => {
    e.receiver.transform = new RTCRtpScriptTransform(worker, { side: "receive", pid: "peer" });
  };
  await a.setLocalDescription();
  await b.setRemoteDescription(opts.dtx ? askingForDtx(a.localDescription) : a.localDescription);
  await b.setLocalDescription();
  await a.setRemoteDescription(opts.dtx ? askingForDtx(b.localDescription) : b.localDescription);
  Object.assign(window.t, { a, b });
}"""

# Waits until two seconds of audio were sent after the first second (the encoder settled);
# then how many packets went out in those two seconds and what the worker did.
SENT = """async (waitMs) => {
  const state = async () => {
    let seconds = 0, packets = 0, fmtp = "";
    const stats = await window.t.a.getStats();
    stats.forEach((r) => {
      if (r.type === "media-source" && r.kind === "audio") seconds = r.totalSamplesDuration;
      if (r.type === "outbound-rtp" && r.kind === "audio") {
        packets = r.packetsSent;
        fmtp = stats.get(r.codecId)?.sdpFmtpLine ?? "";
      }
    });
    return { seconds, packets, fmtp };
  };
  const until = async (check) => {
    const deadline = performance.now() + waitMs;
    for (;;) {
      const now = await state();
      if (check(now)) return now;
      if (performance.now() > deadline) throw new Error(`no audio sent: ${JSON.stringify(now)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const start = await until((s) => s.seconds >= 1);
  const end = await until((s) => s.seconds >= start.seconds + 2);
  return { seconds: end.seconds - start.seconds, packets: end.packets - start.packets,
           fmtp: end.fmtp, worker: window.t.worker };
}"""


@pytest.fixture
def page(browser: Browser, static_origin: str) -> Iterator[Page]:
    with fresh_page(browser, static_origin) as opened:
        yield opened


def test_chromiums_offer_gets_usedtx_on_its_opus_line_only(page: Page) -> None:
    before, after = page.evaluate(CHROMIUM_OFFER)
    changed = [
        (old, new)
        for old, new in zip(before.split("\r\n"), after.split("\r\n"), strict=True)
        if old != new
    ]
    assert len(changed) == 1, changed
    old, new = changed[0]
    assert old.startswith("a=fmtp:111 ") and new == old + ";usedtx=1"
    assert page.evaluate(WITH_DTX, after) == after  # applied twice: the same


def _sdp(*lines: str) -> str:
    return "\r\n".join(["v=0", *lines, ""])


OPUS = "a=rtpmap:111 opus/48000/2"


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        pytest.param([OPUS], [OPUS, "a=fmtp:111 usedtx=1"], id="no fmtp line"),
        pytest.param(
            [OPUS, "a=fmtp:111 minptime=10;"], [OPUS, "a=fmtp:111 minptime=10;usedtx=1"], id="a ;"
        ),
        pytest.param([OPUS, "a=fmtp:111 usedtx=0"], [OPUS, "a=fmtp:111 usedtx=0"], id="usedtx=0"),
        pytest.param(
            ["m=video 9 UDP/TLS/RTP/SAVPF 111", "a=rtpmap:111 VP8/90000", "a=fmtp:111 x=1"],
            ["m=video 9 UDP/TLS/RTP/SAVPF 111", "a=rtpmap:111 VP8/90000", "a=fmtp:111 x=1"],
            id="not opus in that section",
        ),
    ],
)
def test_opus_parameters_are_completed_and_nothing_else(
    page: Page, lines: list[str], expected: list[str]
) -> None:
    audio = ["m=audio 9 UDP/TLS/RTP/SAVPF 111"]
    if lines[0].startswith("m="):
        audio = []
    assert page.evaluate(WITH_DTX, _sdp(*audio, *lines)) == _sdp(*audio, *expected)


def _silent_call(page: Page, dtx: bool) -> dict[str, Any]:
    page.evaluate(SILENT_CALL, {"dtx": dtx})
    sent: dict[str, Any] = page.evaluate(SENT, WAIT_MS)
    return sent


def test_in_silence_dtx_sends_a_few_frames_which_the_worker_decrypts(page: Page) -> None:
    sent = _silent_call(page, dtx=True)
    assert "usedtx=1" in sent["fmtp"].split(";"), sent
    # Opus sends a frame every 20 ms (50 a second) without DTX; in silence with DTX one
    # every 400 ms or so, a few more when the comfort noise changes.
    assert sent["packets"] < 15 * sent["seconds"], sent
    worker = sent["worker"]
    assert worker["sent"] > 0 and worker["received"]["peer"] > 0, worker
    assert worker["dropped"]["peer"] == {}, worker


def test_without_it_silence_is_fifty_frames_a_second(page: Page) -> None:
    sent = _silent_call(page, dtx=False)
    assert "usedtx=1" not in sent["fmtp"].split(";"), sent
    assert sent["packets"] > 40 * sent["seconds"], sent
