"""bench.keys: end-to-end key agreement at meeting size (issue 14).

N E2EE controllers (``conclave/web/static/js/e2ee/session.js``, the code the room runs) in
one Chromium page, with a relay between them standing in for the server, as
``tests/browser/test_e2ee_session_js.py`` does with three. For N = 3 (the baseline, measured
in the same run), 25 and 50 it measures:

- join: a newcomer and everyone present take each other in (the server's ``welcome`` and
  ``participant_joined``) until the newcomer holds every other participant's newest key
  (checked: it opens a chat message of each);
- leave: everyone learns that one participant left, until every remaining participant holds
  every other's fresh key (``keys``) and until each encrypts under its own (``switched``,
  which waits ``SWITCH_AFTER_LEAVE_MS`` on purpose, so that the key arrives before frames
  use it).

All controllers share one page's main thread, where a meeting has a browser each working in
parallel. So the figures that count are each controller's own work: ``newcomer`` (what the
newcomer's browser does), ``slowest`` and ``keys`` (the busiest participant's browser), the
switch (the later of ``keys`` and the switch delay). Network latency comes on top. The
``one page`` columns are the whole relay's time, everyone's work one after another.
Target (issue 14): under 1 s each at N = 50.

Run: ``.venv/bin/python -m bench.keys [--sizes 3,25,50] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import re
import statistics
from typing import Any

from playwright.sync_api import Page, sync_playwright

from bench._stats import load_average, verdict
from tests.support.chromium import launch
from tests.support.static_site import BLANK, STATIC, fresh_page, static_site

TARGET_MS = 1000.0
SESSION_JS = STATIC / "js" / "e2ee" / "session.js"
SWITCH_DELAY_MS = float(
    re.search(r"SWITCH_AFTER_LEAVE_MS = (\d+);", SESSION_JS.read_text()).group(1)  # type: ignore[union-attr]
)

# `k.build(n)`: n controllers who all met (not measured); `k.join()` and `k.leave()`: one
# measured join or leave, in ms of performance.now().
SETUP_JS = """async () => {
  const { E2EE } = await import("/js/e2ee/session.js");
  const people = new Map();
  const outbox = [];
  const busy = new Map();  // pid -> ms spent in that controller's own work
  let made = 0;
  // One controller's step, timed: in a meeting every browser does its own steps in
  // parallel with the others, so a person waits for their own browser's sum, not ours.
  const timed = async (e2ee, step) => {
    const start = performance.now();
    try { return await step(); } finally {
      busy.set(e2ee.selfPid, (busy.get(e2ee.selfPid) ?? 0) + performance.now() - start);
    }
  };
  const settle = async () => {
    for (let n = 0; outbox.length !== 0 && n < 200000; n++) {
      const [from, to, payload] = outbox.shift();
      const receiver = people.get(to);
      if (receiver) await timed(receiver, () => receiver.receive(from, payload.e2ee));
    }
    if (outbox.length !== 0) throw new Error("the relay did not settle");
  };
  const make = async () => {
    const pid = `p${made++}`;
    const signal = (to, payload) => outbox.push([e2ee.selfPid, to, payload]);
    const e2ee = new E2EE({ account: pid, meetingId: "bench", signal });
    await e2ee.start(pid, pid);
    return e2ee;
  };
  // Everyone present and the newcomer take each other in, as on welcome / participant_joined.
  const admit = async (newcomer) => {
    const present = [...people.values()];
    people.set(newcomer.selfPid, newcomer);
    const { selfPid, selfUid } = newcomer;
    await Promise.all(present.map((p) => timed(p, () => p.addPeer(selfPid, selfUid, true))));
    for (const p of present) {
      await timed(newcomer, () => newcomer.addPeer(p.selfPid, p.selfUid, false));
    }
    await settle();
  };
  const opens = async (receiver, sender) => {
    const sealed = await sender.encryptChat("x");
    return (await receiver.decryptChat(sealed, sender.selfPid)) === "x";
  };
  const slowest = () => Math.max(...busy.values());
  window.k = {
    async build(n) {
      for (const e of people.values()) e.worker.terminate();
      people.clear();
      outbox.length = 0;
      for (let i = 0; i < n; i++) await admit(await make());
    },
    async join() {
      const newcomer = await make();
      busy.clear();
      const start = performance.now();
      await admit(newcomer);
      const all = performance.now() - start;
      for (const p of people.values()) {
        if (p !== newcomer && !(await opens(newcomer, p))) throw new Error(`no ${p.selfPid}`);
      }
      return { newcomer: busy.get(newcomer.selfPid), slowest: slowest(), all };
    },
    async leave() {
      const [gone, ...staying] = [...people.values()];
      const before = new Map(staying.map((p) => [p, p.kid]));
      busy.clear();
      const start = performance.now();
      people.delete(gone.selfPid);
      gone.worker.terminate();
      await Promise.all(staying.map((p) => timed(p, () => p.removePeer(gone.selfPid))));
      await settle();
      const all = performance.now() - start;
      const delivered = slowest();
      for (let n = 0; n < 2000 && staying.some((p) => p.kid === before.get(p)); n++) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const waited = performance.now() - start;
      for (let i = 0; i < staying.length; i++) {
        const sender = staying[i], receiver = staying[(i + 1) % staying.length];
        if (sender.kid === before.get(sender)) throw new Error(sender.selfPid + " never switched");
        if (!(await opens(receiver, sender))) throw new Error(`cannot open ${sender.selfPid}`);
      }
      return { delivered, all, waited };
    },
  };
}"""


def _measure(page: Page, size: int, repeats: int) -> dict[str, list[float]]:
    figures: dict[str, list[float]] = {name: [] for name in COLUMNS}
    for _ in range(repeats):
        page.evaluate("async (n) => window.k.build(n)", size - 1)
        joined: dict[str, Any] = page.evaluate("async () => window.k.join()")
        left: dict[str, Any] = page.evaluate("async () => window.k.leave()")
        figures["join: newcomer"].append(joined["newcomer"])
        figures["join: slowest"].append(joined["slowest"])
        figures["leave: keys"].append(left["delivered"])
        # Each browser switches when its delay ends, or once it is done if that is later.
        figures["leave: switched"].append(max(SWITCH_DELAY_MS, left["delivered"]))
        figures["one page: join"].append(joined["all"])
        figures["one page: leave"].append(left["waited"])
    return figures


COLUMNS = (
    "join: newcomer",
    "join: slowest",
    "leave: keys",
    "leave: switched",
    "one page: join",
    "one page: leave",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--sizes", default="3,25,50", help="meeting sizes; the first is the baseline"
    )
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(n) for n in args.sizes.split(",")]
    print(f"bench.keys: load average {load_average()}, {args.repeats} repeats, median ms")
    print("   N" + "".join(f"{name:>17}" for name in COLUMNS))
    results: dict[int, dict[str, float]] = {}
    with sync_playwright() as playwright, static_site(BLANK) as origin:
        browser = launch(playwright)
        try:
            for size in sizes:
                with fresh_page(browser, origin, SETUP_JS) as page:
                    measured = _measure(page, size, args.repeats)
                results[size] = {name: statistics.median(v) for name, v in measured.items()}
                print(f"{size:>4}" + "".join(f"{results[size][c]:>17.0f}" for c in COLUMNS))
        finally:
            browser.close()
    largest, base = max(sizes), results[sizes[0]]
    for name in ("join: slowest", "leave: switched"):
        value = results[largest][name]
        print(
            f"{name} at N = {largest}: {value:.0f} ms ({value / base[name]:.1f}x N = {sizes[0]}),"
            f" target < {TARGET_MS:.0f} ms: {verdict(value < TARGET_MS)}"
        )


if __name__ == "__main__":
    main()
