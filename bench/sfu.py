"""A meeting of N headless participants through Janus: join time, Conclave's and Janus's CPU.

Run inside the test network namespace (real WebRTC gathers no candidates on loopback):
`scripts/netns-run.sh .venv/bin/python -m bench.sfu [--sizes 3,4] [--rounds 2] [--seconds 20]`.

Conclave: one `conclave serve` with a managed Janus (`CONCLAVE_MEDIA__JANUS__MANAGED=on`)
and `CONCLAVE_MEDIA__MODE=sfu`, so that every call goes through Janus from its first
participant (with the default "auto" the first two would meet peer to peer); E2EE as
shipped (required). The benchmark waits until /healthz says "sfu": "ready". Per call: a
new meeting, a new headless Chromium, N fresh profiles with the fake 640x480 camera and
microphone. They join one at a time; each newcomer after the first turns camera and
microphone on in the pre-join screen, ticks the privacy notice and clicks Join, and is
timed from the click to the first remote video frame decoded (getStats `framesDecoded >
0`, polled every 10 ms) and to video from everyone already there. The next one joins once
everybody decodes everybody.

Baseline, in the same run and the same way (a new browser per call, N fresh profiles,
joins one at a time, the same poll): a page that speaks Janus's HTTP API itself
(bench/_bare_janus.py) to a Janus the benchmark starts with Conclave's ManagedJanus (the
same generated configuration), in a plain VideoRoom room; camera already open, timed from
the start of its join (create session, attach, publish with simulcast, subscribe to the
others) to the first decoded remote frame. No Conclave, no signaling server, no E2EE.

Steady call: once every page decodes video and receives audio from the N-1 others, after
`--settle` seconds, utime + stime of the Conclave server process (/proc/PID/stat, all its
threads; its Janus child not included) and of its Janus over a fixed `--seconds` window.
Targets (issue 5): Conclave server under 2% of a core. Janus CPU per forwarded stream =
Janus CPU / (N publishers x (N-1) subscribers x 2, audio and video); the bare Janus is
measured over the same window for comparison. Progress on stderr, figures on stdout.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from argon2 import profiles
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from bench import _js as js
from bench._bare_janus import BareJanus
from bench._call import PASSWORD, Site, log, person, require_netns, timed_join
from bench._proc import cpu_seconds
from bench._stats import load_average, percentile, verdict
from conclave.config import load_settings
from conclave.meetings.service import MeetingDraft
from conclave.services import Services, build_services
from tests.support.chromium import launch, new_context
from tests.support.live import LiveServer
from tests.support.room import CALL_SECONDS, in_call, join

NAMES = ("hannah", "ivan", "jana", "karl", "lena", "mira")
SERVER_TARGET = 0.02  # of one core
Timing = dict[str, float | None]
# Marks of bench._js.JOIN_CLOCK: in an SFU call the first peer connection is the publishing
# one, and the first remote video packet arrives on the receiving one.
STEPS = (
    ("welcome", "welcome"),
    ("pc", "first offer sent"),
    ("remote", "first remote SDP"),
    ("connected", "first connected"),
    ("packet", "first remote video packet"),
    ("first", "first frame decoded"),
)


@dataclass
class Call:
    """One call of N: the timed joins (2nd..Nth participant) and the steady window."""

    kind: str  # "conclave" or "bare"
    size: int
    joins: list[Timing] = field(default_factory=list)
    window: float = 0.0
    server_cpu: float | None = None  # CPU-s in the window (Conclave only)
    janus_cpu: float = 0.0
    load: str = ""
    before: list[dict[str, Any]] = field(default_factory=list)
    after: list[dict[str, Any]] = field(default_factory=list)


class CallFailed(RuntimeError):
    pass


# --- Conclave ---------------------------------------------------------------------------


def conclave_site(root: Path) -> Site:
    data = root / "data"
    settings = load_settings(None, data_dir=data)
    services: Services = build_services(settings, argon2=profiles.CHEAPEST)
    for name in NAMES:
        services.accounts.create_user(name, name.title(), PASSWORD)
    env = {
        "CONCLAVE_LOGGING__LEVEL": "warning",
        "CONCLAVE_MEDIA__JANUS__MANAGED": "on",
        "CONCLAVE_MEDIA__MODE": "sfu",
    }
    server = LiveServer(data, root, env)
    server.start()
    try:
        server.wait_for_sfu()
    except BaseException:
        server.stop()
        services.db.dispose()
        raise
    return Site(True, server, services, meeting_id="")


def new_meeting(site: Site, size: int) -> Site:
    accounts = site.services.accounts
    host = accounts.by_username(NAMES[0])
    meeting = site.services.meetings.create(host, MeetingDraft("Bench", None, None, "off", None))
    for name in NAMES[1:size]:
        site.services.invitations.invite_member(host, meeting.id, name)
    return Site(site.e2ee, site.server, site.services, meeting.id)


def server_janus_pid(server: LiveServer) -> int:
    assert server.process is not None
    found = subprocess.run(
        ["pgrep", "-P", str(server.process.pid), "-x", "janus"], capture_output=True, text=True
    ).stdout.split()
    if len(found) != 1:
        raise RuntimeError(f"expected one janus under the server, found {found}")
    return int(found[0])


def _everyone_decodes(pages: list[Page], others: int, who: str) -> None:
    for index, page in enumerate(pages):
        seen = page.evaluate(js.MEDIA_FLOWING, [others, CALL_SECONDS])
        if seen["video"] < others or seen["audio"] < others:
            raise CallFailed(f"{who} page {index + 1}: media from {others} others: {seen}")


def _publishing(page: Page) -> None:
    """Until the first participant's connection to Janus is up (before anyone is timed)."""
    page.wait_for_function(
        "() => window.__joinMarks.connected !== null", timeout=CALL_SECONDS * 1000
    )


def conclave_call(browser: Browser, site: Site, size: int, window: Callable[[Call], None]) -> Call:
    call = Call("conclave", size)
    meeting = new_meeting(site, size)
    pages: list[Page] = []
    for index, name in enumerate(NAMES[:size]):
        page = person(browser, meeting, name)
        pages.append(page)
        if index == 0:
            join(page, site.server.base_url, meeting.meeting_id)
            in_call(page, 1)
            _publishing(page)
            continue
        timing = timed_join(page, meeting, peers=index)
        if timing["all"] is None:
            raise CallFailed(f"Conclave, participant {index + 1} of {size}: {timing}")
        call.joins.append(timing)
        for other in pages:
            in_call(other, index + 1)
        _everyone_decodes(pages, index, "Conclave")
    window(call)
    return call


# --- bare Janus -------------------------------------------------------------------------


def bare_page(browser: Browser, janus: BareJanus) -> Page:
    context = new_context(browser)
    context.add_init_script(js.JOIN_CLOCK)
    page = context.new_page()
    page.goto(janus.page_url)
    page.evaluate("() => window.bare.camera()")
    return page


def bare_call(
    browser: Browser, janus: BareJanus, size: int, window: Callable[[Call], None]
) -> Call:
    call = Call("bare", size)
    room = janus.create_room(publishers=size + 1)
    pages: list[Page] = []
    try:
        for index in range(size):
            page = bare_page(browser, janus)
            pages.append(page)
            page.evaluate(
                "([u, s, r]) => window.bare.join(u, s, r)", [janus.url, janus.secret, room]
            )
            if index == 0:
                _publishing(page)
                continue
            timing: Timing = page.evaluate(js.FIRST_FRAME, [index, CALL_SECONDS])
            if timing["all"] is None:
                error = page.evaluate("() => window.bare.error()")
                raise CallFailed(f"bare, participant {index + 1} of {size}: {timing} {error}")
            call.joins.append(timing)
            _everyone_decodes(pages, index, "bare")
        window(call)
        return call
    finally:
        for page in pages:
            try:
                page.evaluate("() => window.bare.leave()")
            finally:
                page.context.close()
        janus.destroy_room(room)


# --- the steady window ------------------------------------------------------------------


def measure(
    pages: Callable[[], list[Page]], server: int | None, janus: int, seconds: float, settle: float
) -> Callable[[Call], None]:
    """A function that reads the CPU of ``server`` and ``janus`` over a fixed window."""

    def run(call: Call) -> None:
        time.sleep(settle)  # a fixed settling time (bandwidth estimate ramps up), not a wait
        call.before = [page.evaluate(js.CALL_STATS) for page in pages()]
        server_start = cpu_seconds(server) if server else 0.0
        janus_start, started = cpu_seconds(janus), time.monotonic()
        time.sleep(seconds)  # the fixed measurement window
        janus_end, call.window = cpu_seconds(janus), time.monotonic() - started
        if server:
            call.server_cpu = cpu_seconds(server) - server_start
        call.janus_cpu = janus_end - janus_start
        call.load = load_average()
        call.after = [page.evaluate(js.CALL_STATS) for page in pages()]

    return run


def _all_pages(browser: Browser) -> list[Page]:
    return [page for context in browser.contexts for page in context.pages]


def run_call(
    playwright: Playwright,
    kind: str,
    size: int,
    args: argparse.Namespace,
    site: Site,
    bare: BareJanus,
) -> Call:
    browser = launch(playwright)  # a new browser per call
    try:
        if kind == "conclave":
            assert site.server.process is not None
            janus = server_janus_pid(site.server)
            window = measure(
                lambda: _all_pages(browser),
                site.server.process.pid,
                janus,
                args.seconds,
                args.settle,
            )
            return conclave_call(browser, site, size, window)
        window = measure(lambda: _all_pages(browser), None, bare.pid, args.seconds, args.settle)
        return bare_call(browser, bare, size, window)
    finally:
        browser.close()


# --- report -----------------------------------------------------------------------------


def _ms(values: list[float]) -> str:
    if not values:
        return "n/a"
    return f"median {statistics.median(values):.0f} ms, p95 {percentile(values, 95):.0f} ms"


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):.0f}" if values else "n/a"


def _values(calls: list[Call], key: str) -> list[float]:
    return [v for call in calls for j in call.joins if (v := j[key]) is not None]


def _rate(call: Call, key: str) -> float:
    total = sum(p[key] for p in call.after) - sum(p[key] for p in call.before)
    return float(total) / call.window if call.window else 0.0


def streams(size: int) -> int:
    return size * (size - 1) * 2


def report(calls: list[Call], failures: list[str], load_start: str, sizes: list[int]) -> bool:
    print(
        f"SFU benchmark: meetings through Janus in headless Chromium ({os.cpu_count()} CPUs; "
        f"load average {load_start} at start, {load_average()} at end)"
    )
    ok = True
    for size in sizes:
        mine = {
            kind: [c for c in calls if c.size == size and c.kind == kind]
            for kind in ("conclave", "bare")
        }
        n_calls = len(mine["conclave"])
        print(f"N = {size}: {n_calls} Conclave call(s), {len(mine['bare'])} bare call(s)")
        if not mine["conclave"]:
            print("  no complete Conclave call: no figures")
            ok = False
            continue
        for kind, label in (
            ("conclave", "Conclave (E2EE, click Join)"),
            ("bare", "bare Janus (page -> Janus API)"),
        ):
            first = _values(mine[kind], "first")
            everyone = _values(mine[kind], "all")
            runs = ", ".join(f"{v:.0f}" for v in first)
            print(f"  join -> first remote frame, {label}: {_ms(first)} (joins: {runs})")
            print(f"      -> video from everyone already there: {_ms(everyone)}")
            steps = ", ".join(
                f"{label} {_median(_values(mine[kind], step))}" for step, label in STEPS
            )
            print(f"      steps (median ms): {steps}")
        first_c, first_b = _values(mine["conclave"], "first"), _values(mine["bare"], "first")
        if first_c and first_b:
            ratio = statistics.median(first_c) / statistics.median(first_b)
            p95 = percentile(first_c, 95) / percentile(first_b, 95)
            print(f"      Conclave / bare: median {ratio:.2f}x, p95 {p95:.2f}x")
        n_streams = streams(size)
        for call in mine["conclave"]:
            assert call.server_cpu is not None
            share = call.server_cpu / call.window
            ok = ok and share < SERVER_TARGET
            per = call.janus_cpu / call.window / n_streams
            decoded = _rate(call, "decoded")
            audio = _rate(call, "audioReceived")
            print(
                f"  steady call, {call.window:.0f} s window (load average {call.load}): Conclave "
                f"server {share * 100:.2f}% of a core "
                f"(target < {SERVER_TARGET * 100:.0f}%: {verdict(share < SERVER_TARGET)})"
            )
            print(
                f"      Janus {call.janus_cpu / call.window * 100:.1f}% of a core for "
                f"{n_streams} forwarded streams = {per * 100:.2f}% of a core per stream; "
                f"received: {decoded:.0f} video frames/s decoded, {audio:.0f} audio packets/s"
            )
        for call in mine["bare"]:
            per = call.janus_cpu / call.window / n_streams
            print(
                f"      bare Janus, same window length (load average {call.load}): "
                f"{call.janus_cpu / call.window * 100:.1f}% of a core = {per * 100:.2f}% per "
                f"stream; {_rate(call, 'decoded'):.0f} video frames/s decoded, "
                f"{_rate(call, 'audioReceived'):.0f} audio packets/s"
            )
    for failure in failures:
        print(f"  FAILED {failure}")
    ok = ok and not failures
    print(
        f"Summary: Conclave server under {SERVER_TARGET * 100:.0f}% of a core in every steady "
        f"call: {verdict(ok)}"
    )
    return ok


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sfu", description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="3,4", help="participants per meeting, e.g. 3,4,5")
    parser.add_argument("--rounds", type=int, default=2, help="calls per size and kind")
    parser.add_argument("--seconds", type=float, default=20.0, help="CPU window per call")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds before the window")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    if not all(2 <= s <= len(NAMES) for s in sizes) or not 1 <= args.rounds <= 10:
        parser.error(f"sizes: 2..{len(NAMES)}; rounds: 1..10")
    require_netns("bench.sfu")
    # The bare Janus logs through conclave.janus in this process: only its fatal lines
    # (its [WARN]/[ERR] about unused candidates and rtx would drown the progress lines).
    logging.getLogger("conclave.janus").setLevel(logging.ERROR)

    began, load_start = time.monotonic(), load_average()
    calls: list[Call] = []
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-sfu-") as tmp, sync_playwright() as pw:
        root = Path(tmp)
        (root / "conclave").mkdir()
        site = conclave_site(root / "conclave")
        bare: BareJanus | None = None
        try:
            bare = BareJanus(root / "bare")
            log(f"Conclave at {site.server.base_url}, its Janus ready; bare Janus at {bare.url}")
            for size in sizes:
                for index in range(args.rounds):
                    order = ("conclave", "bare") if index % 2 == 0 else ("bare", "conclave")
                    for kind in order:
                        log(f"N={size}, round {index + 1}: {kind} call")
                        try:
                            calls.append(run_call(pw, kind, size, args, site, bare))
                        except Exception as error:  # reported with the figures, not hidden
                            text = str(error).splitlines()[0][:300]
                            failures.append(f"N={size}, round {index + 1}, {kind}: {text}")
                            log(f"failed: {text}")
        finally:
            if bare is not None:
                bare.stop()
            site.stop()
    print()
    report(calls, failures, load_start, sizes)
    print(f"total time {time.monotonic() - began:.0f} s")


if __name__ == "__main__":
    main()
