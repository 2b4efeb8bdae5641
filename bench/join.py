"""Time from clicking "Join" to the first decoded remote video frame, in real Chromium.

Run: `make bench`, or `scripts/netns-run.sh .venv/bin/python -m bench.join [--runs 5]`
(WebRTC needs a non-loopback interface: this runs only inside the network namespace that
script creates, from which nothing can leave).

Two participants, each a fresh browser profile with a fake 640x480 camera and microphone.
The host is in the call with camera and microphone on; the newcomer turns both on in the
pre-join screen, ticks the privacy notice and clicks Join. Measured in the newcomer's page:
from the click to the first remote video frame decoded (getStats() `framesDecoded > 0`,
polled every 10 ms), with the steps in between. Conclave as shipped (E2EE required) and,
for comparison, with `security.require_e2ee = false`.

Baseline, measured in the same browser in every run: two RTCPeerConnections in one page, no
server, camera and microphone already open, from creating them to the first decoded frame
(the same poll). Target (issue 3): Conclave at most 1.5x the baseline, median and p95.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from playwright.sync_api import Browser, Error, sync_playwright

from bench import _js as js
from bench._call import NAMES, Site, log, make_sites, person, require_netns, timed_join
from bench._stats import load_average, percentile, verdict
from tests.support.chromium import launch, new_context
from tests.support.room import CALL_SECONDS, join

TARGET_RATIO = 1.5
STEPS = ("welcome", "pc", "remote", "connected", "packet", "first")
LABELS = {
    "welcome": "welcome",
    "pc": "offer/answer sent",
    "remote": "remote SDP",
    "connected": "connected",
    "packet": "first video packet",
    "first": "first frame decoded",
}


def baseline(browser: Browser, site: Site) -> dict[str, float | None]:
    context = new_context(browser)
    try:
        context.add_init_script(js.JOIN_CLOCK)
        page = context.new_page()
        page.goto(f"{site.server.base_url}/privacy")  # any page of the origin: secure context
        timing: dict[str, float | None] = page.evaluate(js.BASELINE, CALL_SECONDS)
        return timing
    finally:
        context.close()


def two_people(browser: Browser, site: Site) -> dict[str, float | None]:
    """The host is in the call; the newcomer clicks Join (timed)."""
    host = person(browser, site, NAMES[0])
    newcomer = person(browser, site, NAMES[1])
    try:
        join(host, site.server.base_url, site.meeting_id)
        host.locator("#call").wait_for(state="visible", timeout=CALL_SECONDS * 1000)
        return timed_join(newcomer, site, peers=1)
    finally:
        newcomer.context.close()
        host.context.close()


def _figures(values: list[float]) -> str:
    runs = ", ".join(f"{v:.0f}" for v in values)
    return (
        f"median {statistics.median(values):.0f} ms, p95 {percentile(values, 95):.0f} ms "
        f"(runs: {runs})"
    )


def _median(timings: list[dict[str, float | None]], step: str) -> str:
    values = [v for t in timings if (v := t[step]) is not None]
    return f"{statistics.median(values):.0f}" if values else "n/a"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.join", description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="measured runs (after 1 warm-up)")
    args = parser.parse_args(argv)
    if not 1 <= args.runs <= 30:
        parser.error("runs: 1..30")
    require_netns("bench.join")

    load_start, began = load_average(), time.monotonic()
    results: dict[str, list[dict[str, float | None]]] = {"baseline": [], "on": [], "off": []}
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-join-") as tmp, sync_playwright() as pw:
        sites = make_sites(Path(tmp))
        try:
            for run in range(args.runs + 1):  # run 0 warms up, it is not counted
                log(f"run {run} of {args.runs}" + (" (warm-up)" if not run else ""))
                browser = launch(pw)  # a fresh browser per run, for all three alike
                try:
                    measured = {
                        "baseline": baseline(browser, sites[True]),
                        "on": two_people(browser, sites[True]),
                        "off": two_people(browser, sites[False]),
                    }
                except (Error, RuntimeError) as error:
                    failures.append(f"run {run}: {str(error).splitlines()[0][:200]}")
                    continue
                finally:
                    browser.close()
                for name, timing in measured.items():
                    if timing["first"] is None:
                        failures.append(f"run {run}, {name}: no frame within {CALL_SECONDS} s")
                    elif run:
                        results[name].append(timing)
        finally:
            for site in sites.values():
                site.stop()
    report(results, args.runs, failures, load_start, time.monotonic() - began)


def report(
    results: dict[str, list[dict[str, float | None]]],
    runs: int,
    failures: list[str],
    load_start: str,
    wall: float,
) -> None:
    print(
        f"Join to first decoded remote video frame: Chromium, fake camera, 2 participants, "
        f"{runs} runs after 1 warm-up, {os.cpu_count()} CPUs, load average {load_start} at "
        f"start, {load_average()} at end, {wall:.0f} s"
    )
    for failure in failures:
        print(f"  FAILED {failure}")
    if not all(results.values()):
        print("  no complete runs: no figures. target: NOT met")
        return
    base = [t["first"] or 0.0 for t in results["baseline"]]
    print(f"  baseline, 2 RTCPeerConnections in one page, no server: {_figures(base)}")
    connected = _median(results["baseline"], "connected")
    print(f"    steps (median ms after creating them): connected {connected}")
    ok = not failures
    for name, label in (("on", "E2EE on (as shipped)"), ("off", "E2EE off")):
        first = [t["first"] or 0.0 for t in results[name]]
        print(f"  Conclave, {label}, click Join -> frame: {_figures(first)}")
        steps = ", ".join(f"{LABELS[step]} {_median(results[name], step)}" for step in STEPS)
        print(f"    steps (median ms after the click): {steps}")
        median = statistics.median(first) / statistics.median(base)
        p95 = percentile(first, 95) / percentile(base, 95)
        print(f"    ratio to the baseline: median {median:.2f}x, p95 {p95:.2f}x")
        if name == "on":
            ok = ok and median <= TARGET_RATIO and p95 <= TARGET_RATIO
    print(f"  target (as shipped) <= {TARGET_RATIO}x the baseline: {verdict(ok)}")


if __name__ == "__main__":
    main()
