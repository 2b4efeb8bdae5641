"""The receiving key ring and the security code (conclave/web/static/js/e2ee/keyring.js,
keys.js), run in Debian's Chromium.

What a malicious server or a participant who left could otherwise do with keys it saw
(docs/e2ee.md, threat model): open one sender's frames as another's, claim another
sender's next key id, keep using a sender's key after that sender moved on to a fresh one,
bring a forgotten key back with a replayed key message (and a fresh replay window), or hide
between two pairs of tabs behind one security code.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from tests.support.static_site import fresh_page

pytestmark = pytest.mark.browser

KID = 0x2345 * 256  # KIDs as Conclave makes them: a random 32-bit value x 256
FRESH = 0x7777 * 256

# `t.ring(options)`: a KeyRing for media (suite 4) with short retirement delays for the
# test; `t.frame(seed, kid, ctr)`: an SFrame ciphertext under key `seed` (16 bytes of it);
# `t.open(ring, pid, frame)`: "ok" or the SFrameError reason; `t.add(...)`: "ok" or the
# refusal's name.
SETUP_JS = """async () => {
  const { KeyRing } = await import("/js/e2ee/keyring.js");
  const sf = await import("/js/e2ee/sframe.js");
  const { ratchet } = await import("/js/e2ee/derive.js");
  const keyOf = (seed) => new Uint8Array(16).fill(seed);
  const meta = new TextEncoder().encode("chat");
  window.t = {
    ring: (options = {}) => new KeyRing(4, { retireMs: 100, announcedRetireMs: 300, ...options }),
    keyOf,
    ratchetOf: async (seed) => ratchet(keyOf(seed)),
    frame: (key, kid, ctr) => sf.encrypt(4, typeof key === "number" ? keyOf(key) : key,
                                         BigInt(kid), BigInt(ctr), meta, new Uint8Array([1, 2, 3])),
    async open(ring, pid, frame) {
      try { await ring.decrypt(pid, meta, frame); return "ok"; }
      catch (error) { return error.reason || error.name; }
    },
    async add(ring, kid, seed, pid) {
      try { await ring.add(kid, keyOf(seed), pid); return "ok"; }
      catch (error) { return error.name; }
    },
    // Frames under `kid` with rising counters until one is refused: its reason, or
    // "never" after `limit` ms (a deadline, checked between attempts).
    async untilRefused(ring, pid, seed, kid, from, limit = 5000) {
      const end = performance.now() + limit;
      for (let ctr = from; performance.now() < end; ctr++) {
        const result = await this.open(ring, pid, await this.frame(seed, kid, ctr));
        if (result !== "ok") return result;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      return "never";
    },
  };
}"""


@pytest.fixture
def page(browser: Browser, static_origin: str) -> Iterator[Page]:
    with fresh_page(browser, static_origin, SETUP_JS) as opened:
        yield opened


def _run(page: Page, body: str, arg: Any = None) -> Any:
    return page.evaluate(f"async (arg) => {{ const t = window.t; {body} }}", arg)


def test_a_key_opens_only_frames_said_to_come_from_its_sender(page: Page) -> None:
    seen = _run(
        page,
        """const ring = t.ring();
        await ring.add(arg, t.keyOf(1), "A");
        return [await t.open(ring, "B", await t.frame(1, arg, 0)),
                await t.open(ring, "A", await t.frame(1, arg, 1))];""",
        KID,
    )
    assert seen == ["sender", "ok"]


def test_nobody_can_claim_another_senders_key_id_or_its_next_ratchet_steps(page: Page) -> None:
    seen = _run(
        page,
        """const ring = t.ring();
        const kid = arg;
        const out = [await t.add(ring, kid, 1, "A"),
                     await t.add(ring, kid, 9, "M"),        // A's own key id
                     await t.add(ring, kid + 1, 9, "M"),    // A's next ratchet step
                     await t.add(ring, kid + 300, 9, "M")]; // out of A's reach: M's to use
        // A ratchets (someone joined): its frames under kid + 1 still open, M's key is not used.
        const next = await t.ratchetOf(1);
        out.push(await t.open(ring, "A", await t.frame(next, kid + 1, 0)));
        return out;""",
        KID,
    )
    assert seen == ["ok", "KeyRefused", "KeyRefused", "ok", "ok"]


def test_a_senders_old_key_stops_opening_once_its_fresh_key_is_in_use(page: Page) -> None:
    """Someone left; the sender moved to a fresh key. The one who left kept the old key
    and tries frames (or chat) under it: refused shortly after the fresh key took over."""
    seen = _run(
        page,
        """const ring = t.ring({ announcedRetireMs: 60_000 });  // only the use retires here
        await ring.add(arg.old, t.keyOf(1), "A");
        const before = await t.open(ring, "A", await t.frame(1, arg.old, 0));
        await ring.add(arg.fresh, t.keyOf(2), "A");
        const meanwhile = await t.open(ring, "A", await t.frame(1, arg.old, 1));  // in flight
        const first = await t.open(ring, "A", await t.frame(2, arg.fresh, 0));
        const later = await t.untilRefused(ring, "A", 1, arg.old, 2);
        const fresh = await t.open(ring, "A", await t.frame(2, arg.fresh, 1));
        return [before, meanwhile, first, later, fresh];""",
        {"old": KID, "fresh": FRESH},
    )
    assert seen == ["ok", "ok", "ok", "unknown_kid", "ok"]


def test_an_announced_fresh_key_retires_the_old_one_even_if_nothing_is_sent(page: Page) -> None:
    seen = _run(
        page,
        """const ring = t.ring();
        await ring.add(arg.old, t.keyOf(1), "A");
        await ring.add(arg.fresh, t.keyOf(2), "A");  // camera and microphone off: no frames
        return await t.untilRefused(ring, "A", 1, arg.old, 0);""",
        {"old": KID, "fresh": FRESH},
    )
    assert seen == "unknown_kid"


def test_retired_and_forgotten_keys_are_never_installed_again(page: Page) -> None:
    """A server replaying old key messages (after faking a leave and a rejoin) would give
    the key a fresh replay window, and old frames and chat would open again."""
    seen = _run(
        page,
        """const ring = t.ring();
        await ring.add(arg.old, t.keyOf(1), "A");
        const replayed = await t.frame(1, arg.old, 0);
        const first = await t.open(ring, "A", replayed);
        await ring.add(arg.fresh, t.keyOf(2), "A");
        await t.untilRefused(ring, "A", 1, arg.old, 1);
        const again = await t.add(ring, arg.old, 1, "A");
        const replay = await t.open(ring, "A", replayed);
        ring.forget("A");
        const gone = await t.add(ring, arg.fresh + 512, 3, "A");
        return [first, again, replay, gone];""",
        {"old": KID, "fresh": FRESH},
    )
    assert seen == ["ok", "KeyRefused", "unknown_kid", "KeyRefused"]


CODE_JS = """async () => {
  const { securityCode } = await import("/js/e2ee/keys.js");
  const [ia, ib, server] = ["IA", "IB", "MS"];
  // Alice and Bob with two tabs each; the server sits between tabs A1 and B1 only.
  const a1 = await securityCode("m1", [["alice", ia], ["alice", ia], ["bob", server], ["bob", ib]]);
  const b1 = await securityCode("m1", [["bob", ib], ["bob", ib], ["alice", server], ["alice", ia]]);
  const honest = await securityCode("m1", [["alice", ia], ["bob", ib]]);
  const reordered = await securityCode("m1", [["bob", ib], ["alice", ia]]);
  const otherMeeting = await securityCode("m2", [["alice", ia], ["bob", ib]]);
  const swapped = await securityCode("m1", [["alice", ib], ["bob", ia]]);
  return { a1, b1, honest, reordered, otherMeeting, swapped };
}"""


def test_the_security_code_covers_meeting_people_and_every_tab(page: Page) -> None:
    codes = page.evaluate(CODE_JS)
    assert codes["a1"] != codes["b1"]  # a server between two of four tabs shows
    assert codes["honest"] == codes["reordered"]
    assert codes["honest"] != codes["otherMeeting"]
    assert codes["honest"] != codes["swapped"]  # whose key is whose counts too
    assert all(len(code.replace(" ", "")) == 30 for code in codes.values())


def test_a_late_frame_under_an_older_step_never_retires_a_newer_key(page: Page) -> None:
    """Two joins close together: the sender ratchets twice; a frame under the first step
    (a retransmission, a paced key frame) arrives after frames under the second."""
    seen = _run(
        page,
        """const ring = t.ring({ retireMs: 50 });
        await ring.add(arg, t.keyOf(1), "A");
        const step1 = await t.ratchetOf(1);
        const { ratchet } = await import("/js/e2ee/derive.js");
        const step2 = await ratchet(step1);
        const newer = await t.open(ring, "A", await t.frame(step2, arg + 2, 0));
        const late = await t.open(ring, "A", await t.frame(step1, arg + 1, 0));
        const after = await t.untilRefused(ring, "A", step2, arg + 2, 1, 500);
        return [newer, late, after];""",
        KID,
    )
    assert seen == ["ok", "ok", "never"]


def test_a_ratchet_step_of_an_old_chain_never_retires_the_fresh_key(page: Page) -> None:
    """The sender ratcheted for a join, then someone left and it announced a fresh key; a
    frame under the ratchet step arrives (sent in the second before the switch)."""
    seen = _run(
        page,
        """const ring = t.ring({ retireMs: 50, announcedRetireMs: 100 });
        await ring.add(arg.old, t.keyOf(1), "A");
        await ring.add(arg.fresh, t.keyOf(2), "A");
        const step = await t.open(ring, "A", await t.frame(await t.ratchetOf(1), arg.old + 1, 0));
        const fresh = await t.untilRefused(ring, "A", 2, arg.fresh, 0, 500);
        const old = await t.untilRefused(ring, "A", 1, arg.old, 0);
        return [step, fresh, old];""",
        {"old": KID, "fresh": FRESH},
    )
    assert seen == ["ok", "never", "unknown_kid"]


def test_a_key_whose_sender_left_while_it_was_installed_opens_nothing(page: Page) -> None:
    """A server relays a key message and, right behind it, the sender's departure."""
    seen = _run(
        page,
        """const ring = t.ring();
        const adding = ring.add(arg, t.keyOf(1), "A").then(() => "ok", (error) => error.name);
        ring.forget("A");
        const added = await adding;
        return [added, await t.open(ring, "B", await t.frame(1, arg, 0)),
                await t.open(ring, "A", await t.frame(1, arg, 1))];""",
        KID,
    )
    assert seen == ["KeyRefused", "unknown_kid", "unknown_kid"]
