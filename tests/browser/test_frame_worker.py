"""The frame worker, conclave/web/static/js/e2ee/worker.js, run in Debian's Chromium.

Frames reach the real worker through its streams fallback (`{kind: "stream", ...}`, the
path browsers without RTCRtpScriptTransform take): a page makes SFrame frames with the
served sframe.js, as a sender's worker would, pushes them into a ReadableStream handed
to the worker and collects what the worker writes. Keys go to the worker as the page's
E2EE controller sends them. What is checked is what a receiver must do when a frame
arrives before its sender's key (as when someone joins): hold it, decrypt it in order
once the key arrives, and drop and count it when the key does not come in time; replay
protection and following a ratchet work on held frames as on any other.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from tests.support.static_site import fresh_page

pytestmark = pytest.mark.browser

WAIT_MS = 20_000  # a deadline for conditions, not a sleep
HOLD_FRAMES = 64  # worker.js
KID = 0x1234 * 256  # KIDs as Conclave makes them: a random 32-bit value x 256

# The page's helpers. Frames cross to the worker as {data, type}: type "key" or "delta"
# marks a VP8 frame (its payload header stays in the clear), none an audio frame.
# `until(check, act)` asks the worker for its stats until `check(stats)` holds and then
# runs `act` at once, in the page: a key sent that way reaches the worker a few
# milliseconds after it reported the frames held, well inside their hold.
SETUP_JS = """async () => {
  const sf = await import("/js/e2ee/sframe.js");
  const { ratchet } = await import("/js/e2ee/derive.js");
  const worker = new Worker("/js/e2ee/worker.js", { type: "module" });
  const state = { outputs: {}, feeds: {}, asked: 0, answers: new Map() };
  worker.addEventListener("message", (event) => {
    const m = event.data;
    if (m.kind !== "stats" || m.id === undefined) return;
    state.answers.get(m.id)?.(m);
    state.answers.delete(m.id);
  });
  const hex = (b) => Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, "0")).join("");
  const keyOf = (seed) => new Uint8Array(16).fill(seed);
  // The n-th plaintext frame: distinct bytes, so outputs can be told apart.
  const plain = (n, size) => Uint8Array.from({ length: size }, (_, i) => (n * 7 + i) & 0xff);
  const clearOf = (type) => (type === "key" ? 10 : type === "delta" ? 3 : 0);
  const pause = () => new Promise((resolve) => setTimeout(resolve, 20));
  const stats = () => new Promise((resolve, reject) => {
    const id = ++state.asked;
    const timer = setTimeout(() => reject(new Error("the worker did not report")), 5000);
    state.answers.set(id, (m) => { clearTimeout(timer); resolve(m); });
    worker.postMessage({ kind: "stats", id });
  });
  // What the worker reports for `pid`, and what came out of it.
  const view = (s, pid) => ({ received: s.received[pid] || 0, dropped: s.dropped[pid] || {},
                              held: s.held[pid] || 0, outputs: state.outputs[pid].length });
  window.t = {
    state,
    // A receiver in the worker for `pid` (transform id `id`): frames pushed with feed(),
    // outputs collected.
    open(pid, id) {
      let feed;
      const readable = new ReadableStream({ start(controller) { feed = controller; } });
      const out = (state.outputs[pid] = []);
      const writable = new WritableStream({ write(frame) { out.push(hex(frame.data)); } });
      const pipe = { kind: "stream", side: "receive", pid, id, readable, writable };
      worker.postMessage(pipe, [readable, writable]);
      state.feeds[pid] = feed;
    },
    // Encrypted frames of one sender, [n, type] each: {frame, plain} with plain in hex.
    async frames(kid, seed, specs, ratchets = 0) {
      let key = keyOf(seed);
      for (let i = 0; i < ratchets; i++) key = await ratchet(key);
      const sender = await sf.SFrameContext.create(4, key, BigInt(kid + ratchets));
      const made = [];
      for (const [n, type] of specs) {
        const size = type === "key" ? 3000 : type ? 800 : 80;
        const sealed = await sender.encryptFrame(plain(n, size), clearOf(type));
        made.push({ frame: { data: sealed.buffer, type }, plain: hex(plain(n, size)) });
      }
      return made;
    },
    feed(pid, frames) {
      for (const { frame } of frames) {
        const copy = { data: frame.data.slice(0) };
        if (frame.type) copy.type = frame.type;
        state.feeds[pid].enqueue(copy);
      }
    },
    // The page says receiver `id` (opened as `from`) now carries `pid`'s frames.
    relabel(id, pid, from) {
      state.outputs[pid] = state.outputs[from];
      worker.postMessage({ kind: "relabel", id, pid });
    },
    key(pid, kid, seed) {
      worker.postMessage({ kind: "receive-key", kid, key: keyOf(seed), pid });
    },
    async until(pid, check, act = () => {}, seconds = 20) {
      const deadline = performance.now() + seconds * 1000;
      let seen = null;
      while (performance.now() < deadline) {
        seen = view(await stats(), pid);
        if (check(seen)) {
          act();
          return seen;
        }
        await pause();
      }
      throw new Error(`worker state for ${pid} never matched: ${JSON.stringify(seen)}`);
    },
  };
}"""


@pytest.fixture
def page(browser: Browser, static_origin: str) -> Iterator[Page]:
    """A fresh page with its own frame worker."""
    with fresh_page(browser, static_origin, SETUP_JS) as opened:
        yield opened


def _until(page: Page, pid: str, check: str, act: str = "") -> dict[str, Any]:
    """Wait (a deadline, not a sleep) until `check` holds for what the worker reports about
    `pid` (`s.received`, `s.dropped`, `s.held`, `s.outputs`), then run `act` in the page."""
    script = f"(pid) => window.t.until(pid, (s) => {check}, () => {{ {act} }})"
    seen: dict[str, Any] = page.evaluate(script, pid)
    return seen


def _make(page: Page, kid: int, seed: int, specs: list[list[Any]], ratchets: int = 0) -> str:
    """Encrypt frames in the page; returns the name of a page variable holding them."""
    name = f"frames_{kid}_{seed}_{ratchets}_{len(specs)}"
    page.evaluate(
        "async ([name, args]) => { window[name] = await window.t.frames(...args); }",
        [name, [kid, seed, specs, ratchets]],
    )
    return name


def _feed(page: Page, pid: str, frames: str, indices: list[int] | None = None) -> None:
    page.evaluate(
        """([pid, name, indices]) => {
          const all = window[name];
          window.t.feed(pid, indices === null ? all : indices.map((i) => all[i]));
        }""",
        [pid, frames, indices],
    )


def _plains(page: Page, frames: str, indices: list[int] | None = None) -> list[str]:
    plains: list[str] = page.evaluate(
        "([name, indices]) => { const all = window[name].map((f) => f.plain);"
        " return indices === null ? all : indices.map((i) => all[i]); }",
        [frames, indices],
    )
    return plains


def _outputs(page: Page, pid: str) -> list[str]:
    outputs: list[str] = page.evaluate("(pid) => window.t.state.outputs[pid]", pid)
    return outputs


def test_frames_before_their_key_are_held_and_decrypted_in_order(page: Page) -> None:
    """A newcomer's first frames from a sender, the key frame among them, arrive before the
    sender's key: none is lost, and they come out in the order they came in."""
    page.evaluate("window.t.open('ivan')")
    frames = _make(page, KID, 1, [[0, "key"], [1, "delta"], [2, "delta"], [3, None], [4, "delta"]])
    _feed(page, "ivan", frames)
    # Nothing reaches the decoder without its key; the key comes once all five wait.
    seen = _until(page, "ivan", "s.held === 5", f"window.t.key('ivan', {KID}, 1)")
    assert seen == {"received": 0, "dropped": {}, "held": 5, "outputs": 0}
    _until(page, "ivan", "s.outputs === 5")
    assert _outputs(page, "ivan") == _plains(page, frames)
    # Later frames: a copy of one already opened is a replay; a frame under the next KID
    # that does not open with the ratcheted key waits, then is dropped as without key.
    again = _make(page, KID, 1, [[n, "delta"] for n in range(5)])
    _feed(page, "ivan", again, [4])
    stranger = _make(page, KID + 1, 1, [[9, "delta"]])
    _feed(page, "ivan", stranger)
    seen = _until(page, "ivan", "s.dropped.unknown_kid === 1")
    assert seen == {
        "received": 5,
        "dropped": {"replay": 1, "unknown_kid": 1},
        "held": 0,
        "outputs": 5,
    }


def test_frames_whose_key_never_comes_are_dropped_and_counted(page: Page) -> None:
    """After the hold, frames without a key are counted as undecryptable, exactly what makes
    the page warn that this sender cannot be decrypted."""
    page.evaluate("window.t.open('jana')")
    frames = _make(page, KID, 2, [[n, "delta" if n else "key"] for n in range(6)])
    _feed(page, "jana", frames)
    seen = _until(page, "jana", "s.dropped.unknown_kid === 6", f"window.t.key('jana', {KID}, 2)")
    assert seen == {"received": 0, "dropped": {"unknown_kid": 6}, "held": 0, "outputs": 0}
    after = _make(page, KID, 2, [[n, "delta"] for n in range(8)])
    _feed(page, "jana", after, [6, 7])  # with the key, the sender's next frames decrypt
    _until(page, "jana", "s.outputs === 2")
    assert _outputs(page, "jana") == _plains(page, after, [6, 7])


def test_the_hold_is_bounded_per_receiver(page: Page) -> None:
    page.evaluate("window.t.open('hannah')")
    count = HOLD_FRAMES + 6
    frames = _make(page, KID, 3, [[n, None] for n in range(count)])
    _feed(page, "hannah", frames)
    # All read: the oldest made room for the newest.
    full = f"s.held === {HOLD_FRAMES} && s.dropped.unknown_kid === 6"
    seen = _until(page, "hannah", full, f"window.t.key('hannah', {KID}, 3)")
    assert seen == {"received": 0, "dropped": {"unknown_kid": 6}, "held": 64, "outputs": 0}
    _until(page, "hannah", f"s.outputs === {HOLD_FRAMES}")
    assert _outputs(page, "hannah") == _plains(page, frames, list(range(6, count)))


def test_held_frames_follow_a_ratchet_and_replays_are_dropped(page: Page) -> None:
    """Frames under the next ratchet step of a key that arrives later decrypt once it does;
    a copy of a held frame opens once only."""
    page.evaluate("window.t.open('ivan')")
    frames = _make(page, KID, 4, [[0, "key"], [1, "delta"], [2, "delta"]], ratchets=1)
    _feed(page, "ivan", frames, [0, 1, 1, 2])
    # The key before the ratchet step (as someone else joined meanwhile).
    _until(page, "ivan", "s.held === 4", f"window.t.key('ivan', {KID}, 4)")
    seen = _until(page, "ivan", "s.outputs === 3 && s.held === 0")
    assert seen == {"received": 3, "dropped": {"replay": 1}, "held": 0, "outputs": 3}
    assert _outputs(page, "ivan") == _plains(page, frames)


def test_frames_with_a_key_pass_while_others_wait(page: Page) -> None:
    """Held frames of one KID do not keep back frames of a KID whose key is there."""
    page.evaluate(f"window.t.open('ivan'); window.t.key('ivan', {KID}, 5)")
    known = _make(page, KID, 5, [[0, "delta"], [1, "delta"]])
    waiting = _make(page, KID + 256, 6, [[7, "key"]])
    _feed(page, "ivan", waiting)
    _feed(page, "ivan", known)
    seen = _until(
        page, "ivan", "s.outputs === 2 && s.held === 1", f"window.t.key('ivan', {KID + 256}, 6)"
    )
    assert seen["received"] == 2
    assert _outputs(page, "ivan")[:2] == _plains(page, known)
    _until(page, "ivan", "s.outputs === 3")
    assert _outputs(page, "ivan")[2:] == _plains(page, waiting)


def test_frames_wait_for_the_receiver_to_be_relabelled_for_their_sender(page: Page) -> None:
    """The SFU forwards Ivan on a stream that carried Lena a moment before the page tells the
    worker: Ivan's first frames, the key frame among them, are held, not lost. Frames under
    Ivan's key on a stream that stays someone else's are dropped as "sender"."""
    page.evaluate(
        f"window.t.open('lena', 7); window.t.open('mia', 8); window.t.key('ivan', {KID}, 6)"
    )
    frames = _make(page, KID, 6, [[0, "key"], [1, "delta"], [2, "delta"]])
    _feed(page, "lena", frames)
    _feed(page, "mia", frames, [1])
    _until(page, "lena", "s.held === 3", "window.t.relabel(7, 'ivan', 'lena')")
    seen = _until(page, "ivan", "s.outputs === 3")
    assert seen == {"received": 3, "dropped": {}, "held": 0, "outputs": 3}
    assert _outputs(page, "ivan") == _plains(page, frames)
    seen = _until(page, "mia", "s.dropped.sender === 1")
    assert seen == {"received": 0, "dropped": {"sender": 1}, "held": 0, "outputs": 0}
