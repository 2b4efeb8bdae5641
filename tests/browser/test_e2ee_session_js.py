"""The E2EE controller of a stay (conclave/web/static/js/e2ee/session.js), three of them
in one Chromium page, with the relay between them standing in for the server: it
delivers every `signal` in order, and a test can make it lie as a malicious server would.

Checked here, without media: chat opens only as coming from its real sender; someone who
was removed cannot read chat sent after a newcomer joined a moment later (the fresh key
after a leave is used at once, not a ratchet of the key the removed one knew); the security
code that people compared must still be the code when they confirm it; "they cannot
decrypt you" counts only when the participant sealed it, and only its latest; after a
reconnect keys are agreed again.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from tests.support.static_site import fresh_page

pytestmark = pytest.mark.browser

# `t.make(pid)`: a controller for account `pid` in meeting "m1", started with uid = pid;
# `t.meet(a, b)`: a and b take each other in (a was there first) and the relay delivers
# what they send each other; `t.chat(from, to, text)`: `from` encrypts, `to` decrypts it
# as relayed with `from` (or `claimed`) as sender: the text, or null.
SETUP_JS = """async () => {
  const { E2EE } = await import("/js/e2ee/session.js");
  const people = new Map();
  const outbox = [];
  window.t = {
    people,
    sent: [],
    async make(pid) {
      // Sent from its current pid (a reconnect changes it), as the server relays it.
      const signal = (to, payload) => {
        outbox.push([e2ee.selfPid, to, payload]);
        window.t.sent.push([e2ee.selfPid, to, payload]);  // what a server could record
      };
      const e2ee = new E2EE({ account: pid, meetingId: "m1", signal });
      people.set(pid, e2ee);
      await e2ee.start(pid, pid);
      return e2ee;
    },
    async meet(first, newcomer) {
      await people.get(first).addPeer(newcomer, people.get(newcomer).selfUid, true);
      await people.get(newcomer).addPeer(first, people.get(first).selfUid, false);
      await this.settle();
    },
    // Deliver, in order, what was sent, and what that makes them send (bounded).
    async settle() {
      for (let n = 0; outbox.length !== 0 && n < 1000; n++) {
        const [from, to, payload] = outbox.shift();
        await people.get(to)?.receive(from, payload.e2ee);
      }
      if (outbox.length !== 0) throw new Error("the relay did not settle");
    },
    async chat(from, to, text, claimed = from) {
      const sealed = await people.get(from).encryptChat(text);
      return people.get(to).decryptChat(sealed, claimed);
    },
  };
}"""


@pytest.fixture
def page(browser: Browser, static_origin: str) -> Iterator[Page]:
    with fresh_page(browser, static_origin, SETUP_JS) as opened:
        yield opened


def _run(page: Page, body: str) -> Any:
    return page.evaluate(f"async () => {{ const t = window.t; {body} }}")


def test_chat_opens_only_as_coming_from_its_real_sender(page: Page) -> None:
    seen = _run(
        page,
        """await t.make("anna"); await t.make("bert"); await t.make("cleo");
        await t.meet("anna", "bert"); await t.meet("anna", "cleo"); await t.meet("bert", "cleo");
        return [await t.chat("anna", "cleo", "hello"),
                await t.chat("anna", "cleo", "who am I?", "bert")];""",
    )
    assert seen == ["hello", None]


def test_someone_removed_cannot_read_chat_after_a_newcomer_joined_right_after(
    page: Page,
) -> None:
    """Anna removes Bert; within the second before she switches to her fresh key, Cleo
    joins. Bert kept every key he was given and follows ratchets like anyone."""
    seen = _run(
        page,
        """await t.make("anna"); await t.make("bert");
        await t.meet("anna", "bert");
        const before = await t.chat("anna", "bert", "still here");
        await t.people.get("anna").removePeer("bert");
        await t.make("cleo");
        await t.meet("anna", "cleo");
        return [before, await t.chat("anna", "cleo", "welcome"),
                await t.chat("anna", "bert", "after the removal")];""",
    )
    assert seen == ["still here", "welcome", None]


def test_codes_match_confirms_only_the_code_that_was_compared(page: Page) -> None:
    seen = _run(
        page,
        """const anna = await t.make("anna");
        const alone = anna.state().verified;     // nobody to have verified
        await t.make("bert");
        await t.meet("anna", "bert");
        const compared = anna.code;
        await t.make("cleo");
        await t.meet("anna", "cleo");           // someone came in meanwhile
        const stale = await anna.markVerified(compared);
        const unverified = [...anna.state().peers.values()].map((p) => p.verified);
        const current = await anna.markVerified(anna.code);
        return [alone, compared !== anna.code, stale, unverified, current,
                anna.state().verified];""",
    )
    assert seen == [False, True, False, [False, False], True, True]


def test_after_a_reconnect_keys_are_agreed_again_and_chat_opens_both_ways(page: Page) -> None:
    """Bert's connection drops and he comes back (a new stay, a new pid, the same page);
    Anna stayed. Each page forgets the other's keys from before, and takes the new ones."""
    seen = _run(
        page,
        """await t.make("anna"); const bert = await t.make("bert");
        await t.meet("anna", "bert");
        const before = await t.chat("anna", "bert", "one");
        await bert.start("bert-2", "bert");
        t.people.set("bert-2", bert);
        await t.people.get("anna").removePeer("bert");  // the server: bert left, bert-2 joined
        await t.meet("anna", "bert-2");
        return [before, await t.chat("anna", "bert-2", "two"),
                await t.chat("bert-2", "anna", "three"),
                [...bert.state().peers.values()].map((p) => p.status)];""",
    )
    assert seen == ["one", "two", "three", ["ok"]]


def test_they_cannot_decrypt_you_counts_only_sealed_by_them_and_only_the_latest(
    page: Page,
) -> None:
    """The server forges the status ("bert cannot decrypt anna"), and later replays Bert's
    real one after Bert said he can decrypt again."""
    seen = _run(
        page,
        """const anna = await t.make("anna"); const bert = await t.make("bert");
        await t.meet("anna", "bert");
        const peer = () => anna.state().peers.get("bert");
        await anna.receive("bert", { type: "status", failing: true });  // forged, in the clear
        const forged = [peer().theyFail, peer().status];
        await bert.sendStatus("anna", true);
        const recorded = t.sent[t.sent.length - 1][2].e2ee;
        await t.settle();
        const real = peer().theyFail;
        await bert.sendStatus("anna", false);
        await t.settle();
        await anna.receive("bert", recorded);  // replayed
        return [forged, real, peer().theyFail];""",
    )
    assert seen == [[False, "invalid"], True, False]
