"""What end-to-end encryption costs: the same three-person call with E2EE on and off.

Run inside the test network namespace (real WebRTC gathers no candidates on loopback):
`scripts/netns-run.sh .venv/bin/python -m bench.e2ee [--seconds 20]`.

Two servers run side by side, one with the defaults (E2EE required) and one with
`CONCLAVE_SECURITY__REQUIRE_E2EE=false` (the room then attaches no frame transforms).
Three people (fresh profiles, fake 640x480 camera and microphone on) meet in one headless
Chromium per call; the room chooses its media mode as shipped (with Janus available, a
third participant moves it to the SFU) and the report says which. Figures (issue 4):

- browser CPU: utime + stime of every Chromium process over a fixed window once all three
  decode each other, calls alternated on/off/off/on; the median per mode and the ratio
  (target <= 1.10); also per thread, to show where the difference goes;
- per-frame SFrame encrypt and decrypt time (suite 4, `SFrameContext`/`SFrameReceiver` from
  the served sframe.js, in a module worker, one frame at a time as the frame worker does),
  median and p95, for audio-sized frames and for VP8 frames at 640x480 whose sizes are
  captured from a call (target: encryption p95 under 1 ms); and the time frames spend in the
  real frame worker during a call;
- join to first frame: the third participant's click on Join to the first decoded remote
  video frame (and to video from both), E2EE on and off.

Video health is printed next to the CPU (frames encoded, received and decoded, PLIs, frames
the frame worker dropped): a call whose receivers stall decodes less and so costs less CPU.
A call that does not come together is retried once and reported with what each page saw.
`--budget` (default 250 s) drops the second pair of CPU calls and the extra join-only calls
when they would not fit; progress goes to stderr, figures to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from playwright.sync_api import Playwright, Route, sync_playwright

from bench import _js as js
from bench._call import CallFailed, CallRun, Site, log, make_sites, require_netns, run_call
from bench._proc import Usage, snapshot, usage
from bench._stats import load_average, percentile, verdict
from tests.support.chromium import launch

CPU_TARGET = 1.10
ENCRYPT_P95_TARGET_MS = 1.0
AUDIO_ASSUMED = 100
# Used only when no frame sizes could be captured from a call: VP8 at 640x480 and a
# typical 0.5-1.5 Mbit/s, 30 fps gives delta frames of about 2-5 KB, key frames ~30 KB.
ASSUMED_MIX = [30_000] + [2_000, 3_000, 4_000, 5_000] * 15
TAP_WINDOW = 8.0
DELTA_CLEAR, KEY_CLEAR = 3, 10  # VP8 payload header bytes the frame worker leaves in the clear
WARMUP = 200


def _p95(values: list[float] | list[int]) -> float:
    return percentile(values, 95)


def _size(n: float) -> str:
    return f"{n / 1000:.1f} KB" if n >= 1000 else f"{n:.0f} B"


# --- the call figures -------------------------------------------------------------------


def _rates(run: CallRun) -> dict[str, float]:
    def total(key: str, stats: list[dict[str, Any]]) -> float:
        return float(sum(s[key] for s in stats))

    span = run.window
    return {
        key: (total(key, run.after) - total(key, run.before)) / span
        for key in (
            "encoded",
            "decoded",
            "received",
            "videoBytes",
            "audioPackets",
            "audioReceived",
            "pli",
        )
    }


def _worker_drops(run: CallRun) -> dict[str, int]:
    """Frames the frame workers dropped during the window, by reason."""

    def total(stats: list[dict[str, Any]]) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for page in stats:
            for reasons in ((page.get("worker") or {}).get("dropped") or {}).values():
                for reason, n in reasons.items():
                    out[reason] += int(n)
        return out

    before, after = total(run.before), total(run.after)
    return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}


def _senders(run: CallRun) -> str:
    shapes: dict[str, int] = defaultdict(int)
    for page in run.after:
        for s in page["senders"]:
            codec = (s.get("codec") or "?").split("/")[-1]
            shapes[f"{s.get('width')}x{s.get('height')} {codec} limit={s.get('limit')}"] += 1
    return ", ".join(f"{n}x {shape}" for shape, n in sorted(shapes.items()))


def _stalled(rates: dict[str, float]) -> bool:
    """Receivers decoded under 90% of the video frames that arrived."""
    return rates["decoded"] < 0.9 * rates["received"]


def report_cpu(runs: list[CallRun], seconds: float) -> tuple[float, str]:
    print(f"Browser CPU, all Chromium processes, {seconds:.0f} s steady window per call")
    medians: dict[bool, float] = {}
    healthy: dict[bool, list[float]] = {True: [], False: []}  # CPU of calls that did not stall
    per_frame: dict[bool, float] = {}
    stalls = 0
    for e2ee in (True, False):
        mine = [r for r in runs if r.e2ee == e2ee and r.cpu]
        cpu = [r.cpu.seconds / r.window * seconds for r in mine if r.cpu]
        medians[e2ee] = statistics.median(cpu)
        rates = [_rates(r) for r in mine]
        frames = [x["encoded"] + x["decoded"] for x in rates]
        per_frame[e2ee] = statistics.median(
            c / seconds / f * 1000 for c, f in zip(cpu, frames, strict=True)
        )
        spread = (max(cpu) / min(cpu) - 1) * 100
        transforms = sum(p["transforms"] for p in mine[-1].after)
        endpoints = sum(p["endpoints"] for p in mine[-1].after)
        label = "E2EE on " if e2ee else "E2EE off"
        print(
            f"  {label}: {', '.join(f'{c:.2f}' for c in cpu)} CPU-s -> median "
            f"{medians[e2ee]:.2f} CPU-s ({medians[e2ee] / seconds:.2f} cores); "
            f"runs differ by {spread:.0f}%"
        )
        kbps = statistics.median(x["videoBytes"] for x in rates) * 8 / 1000 / 6
        health = "; ".join(
            f"{x['encoded']:.0f} encoded, {x['received']:.0f} received, {x['decoded']:.0f} "
            f"decoded, {x['pli']:.1f} PLI"
            for x in rates
        )
        print(f"            video frames/s (3 pages), per call: {health}")
        drops = [_worker_drops(r) for r in mine]
        print(
            f"            {kbps:.0f} kbit/s per stream; transforms on {transforms}/{endpoints}"
            f" senders+receivers; frame-worker drops in the window: {drops}"
        )
        print(f"            senders: {_senders(mine[-1])}")
        stalled = [x for x in rates if _stalled(x)]
        stalls += len(stalled)
        healthy[e2ee] = [c for c, x in zip(cpu, rates, strict=True) if not _stalled(x)]
        if stalled:
            print(
                f"            WARNING: {len(stalled)} call(s) decoded under 90% of the video "
                "frames received (receivers waiting for a key frame, see PLI)"
            )
    ratio, note = medians[True] / medians[False], ""
    if stalls and healthy[True] and healthy[False]:
        print(f"  ratio on/off, all calls: {ratio:.3f} (biased: stalled receivers decode less)")
        ratio = statistics.median(healthy[True]) / statistics.median(healthy[False])
        note = " (calls whose video flowed)"
        print(f"  ratio on/off, calls whose video flowed: {ratio:.3f}", end="")
    worker = statistics.median(
        sum(v for k, v in r.cpu.by_thread.items() if "DedicatedWorker" in k) / r.window * seconds
        for r in runs
        if r.e2ee and r.cpu
    )
    floor = 1 + worker / medians[False]
    if stalls and not (healthy[True] and healthy[False]):
        print(f"  ratio on/off, all calls: {ratio:.3f} (unreliable: every call of a mode stalled)")
        ratio, note = floor, " (estimated from the frame-worker threads: the calls stalled)"
        print(f"  ratio estimated from the frame-worker threads: {ratio:.3f}", end="")
    elif not stalls:
        print(f"  ratio on/off: {ratio:.3f}", end="")
    print(f"   target <= {CPU_TARGET:.2f}: {verdict(ratio <= CPU_TARGET)}")
    print(
        f"  the frame-worker threads alone (work E2EE adds, whatever is decoded): {worker:.2f} "
        f"CPU-s = {worker / medians[False] * 100:.1f}% of the E2EE-off call, i.e. a ratio of "
        f"about {floor:.3f} if nothing else changed -> {verdict(floor <= CPU_TARGET)}"
    )
    print(
        f"  per encoded+decoded video frame: on {per_frame[True]:.2f} ms, off "
        f"{per_frame[False]:.2f} ms of CPU (ratio {per_frame[True] / per_frame[False]:.3f})"
    )
    _where(runs)
    return ratio, note


def _where(runs: list[CallRun]) -> None:
    """Mean CPU-s per process type and per thread family over the window, on vs off."""
    for attribute, title, top in (("by_kind", "process", 6), ("by_thread", "process/thread", 8)):
        means: dict[bool, dict[str, float]] = {}
        for e2ee in (True, False):
            mine = [r.cpu for r in runs if r.e2ee == e2ee and r.cpu]
            sums: dict[str, float] = defaultdict(float)
            for u in mine:
                for name, value in getattr(u, attribute).items():
                    sums[name] += value / len(mine)
            means[e2ee] = sums
        names = set(means[True]) | set(means[False])
        ranked = sorted(names, key=lambda n: -abs(means[True].get(n, 0) - means[False].get(n, 0)))
        print(f"  mean CPU-s in the window by {title}, on vs off (largest differences):")
        for name in ranked[:top]:
            on, off = means[True].get(name, 0.0), means[False].get(name, 0.0)
            print(f"    {name:<36} {on:6.2f} vs {off:6.2f}  ({on - off:+.2f})")
    on_runs = [r for r in runs if r.e2ee and r.cpu]
    per_frame, frames_per_second = [], 0.0
    for run in on_runs:
        rates = _rates(run)
        through = sum(rates[k] for k in ("encoded", "received", "audioPackets", "audioReceived"))
        if run.cpu is None:
            continue
        worker = sum(v for k, v in run.cpu.by_thread.items() if "DedicatedWorker" in k)
        per_frame.append(worker / run.window / through * 1e6)
        frames_per_second = through
    print(
        f"  frame worker threads (E2EE on): {frames_per_second:.0f} frames/s through the 3 "
        f"workers, {statistics.median(per_frame):.0f} us of worker-thread CPU per frame"
    )


def report_join(runs: list[CallRun]) -> None:
    print("Join to first frame: third participant, click on Join -> first decoded remote video")
    for e2ee in (True, False):
        mine = [r.join for r in runs if r.e2ee == e2ee]

        def median(key: str, joins: list[dict[str, float | None]] = mine) -> str:
            values = [v for j in joins if (v := j[key]) is not None]
            return f"{statistics.median(values):.0f} ms" if values else "n/a"

        first = [v for j in mine if (v := j["first"]) is not None]
        label = "E2EE on " if e2ee else "E2EE off"
        print(
            f"  {label}: {', '.join(f'{v:.0f}' for v in first)} ms -> median {median('first')}"
            f"  (video from both peers {median('all')}; steps: connected {median('connected')}"
            f", first video packet {median('packet')})"
        )
    print("  (getStats polled every 10 ms; each join is a fresh browser profile)")


# --- per-frame figures ------------------------------------------------------------------


def captured_sizes(tap: CallRun | None) -> dict[str, list[int]]:
    sizes: dict[str, list[int]] = defaultdict(list)
    for dump in tap.tapped if tap else []:
        for name, values in dump.items():
            if name.startswith("size:"):
                sizes[name[5:]].extend(int(v) for v in values)
    return sizes


Case = tuple[str, list[int], int]  # name, frame sizes, bytes left in the clear (framing.js)


def frame_cases(sizes: dict[str, list[int]]) -> tuple[list[Case], str]:
    delta, key = sizes.get("camera:delta", []), sizes.get("camera:key", [])
    audio = sizes.get("audio:frame", [])
    cases: list[Case] = [(f"audio {AUDIO_ASSUMED} B (assumed)", [AUDIO_ASSUMED], 0)]
    if delta:
        if audio:
            cases.append(("audio (call median)", [int(statistics.median(audio))], 0))
        mix = sizes.get("camera:mix", [])[:4000]
        cases += [
            ("video, the call's frame mix", mix, DELTA_CLEAR),
            ("video delta (call median)", [int(statistics.median(delta))], DELTA_CLEAR),
            ("video delta (call p95)", [int(_p95(delta))], DELTA_CLEAR),
        ]
        if key:
            cases.append(("video key (call max)", [max(key)], KEY_CLEAR))
        source = "captured in the call"
    else:
        cases.append(("video, assumed mix", ASSUMED_MIX, DELTA_CLEAR))
        source = "assumed (no call capture)"
    cases.append(("video key 30 KB (assumed)", [30_000], KEY_CLEAR))
    return cases, source


def report_frames(
    result: dict[str, dict[str, Any]], cases: list[Case], source: str, frames: int
) -> bool:
    sf, bare = result["sframe"], result["bare"]
    print(f"Per-frame SFrame time (suite 4, one frame at a time in a worker), sizes {source}")
    timer = "5 us" if sf.get("isolated") else "100 us (not isolated!)"
    print(f"  wall time per frame, timer {timer}; 'bare' = one crypto.subtle AES-GCM call alone")
    print(
        f"  {'case':<28} {'size':>9}  {'encrypt med/p95':>16}  {'decrypt med/p95':>16}"
        f"  {'bare enc med/p95':>16}  {'bare dec med/p95':>16}"
    )
    met, line = True, ""
    for name, sizes, _ in cases:
        r, b = sf["results"][name], bare["results"][name]
        cells = [
            f"{statistics.median(x[k]):.3f}/{_p95(x[k]):.3f} ms"
            for x, k in ((r, "encrypt"), (r, "decrypt"), (b, "encrypt"), (b, "decrypt"))
        ]
        size = statistics.mean(sizes)
        shown = _size(size) if len(set(sizes)) == 1 else f"~{_size(size)}"
        print(f"  {name:<28} {shown:>9}  " + "  ".join(f"{c:>16}" for c in cells))
        if name.startswith("video, "):
            p95 = _p95(r["encrypt"])
            met = p95 < ENCRYPT_P95_TARGET_MS
            line = f"{p95:.3f} ms -> {verdict(met)}"
    video = next(n for n, _, _ in cases if n.startswith("video, "))
    print(f"  target: encryption p95 under {ENCRYPT_P95_TARGET_MS:g} ms at 640x480 ({video}):")
    print(f"    {line}")
    worst = max(_p95(sf["results"][n]["encrypt"]) for n, _, _ in cases if "video" in n)
    print(
        f"    (worst video case, key frames included: p95 {worst:.3f} ms -> "
        f"{verdict(worst < ENCRYPT_P95_TARGET_MS)})"
    )
    ops = len(cases) * (frames + WARMUP) * 2
    print(f"  CPU per operation in the benchmark's renderer ({ops} encrypts+decrypts per mode):")
    for label, run in (("SFrame", sf), ("bare AES-GCM", bare)):
        cpu: Usage = run["cpu"]
        threads = {k: v for k, v in cpu.by_thread.items() if k.startswith("renderer/")}
        worker = sum(v for k, v in threads.items() if "DedicatedWorker" in k)
        pool = sum(v for k, v in threads.items() if "ThreadPool" in k)
        rest = sum(threads.values()) - worker - pool
        print(
            f"    {label:<13} worker thread {worker / ops * 1e6:4.0f} us, thread pool "
            f"(V8 GC, crypto) {pool / ops * 1e6:4.0f} us, other renderer threads "
            f"{rest / ops * 1e6:4.0f} us"
        )
    return met


def report_tap(tap: CallRun | None, sizes: dict[str, list[int]]) -> None:
    if tap is None:
        print("In-call frame worker: not measured (instrumented call failed)")
        return
    print(
        f"In the call (E2EE on, instrumented, {TAP_WINDOW:.0f} s, 3 pages): frames as the "
        "encoder hands them to the worker"
    )
    for name in ("camera:delta", "camera:key", "audio:frame"):
        counts = sizes.get(name, [])
        if counts:
            print(
                f"  {name:<13} {len(counts):5d} frames, size median "
                f"{_size(statistics.median(counts))}"
                f", p95 {_size(_p95(counts))}, max {_size(max(counts))}"
            )
    times: dict[str, list[float]] = defaultdict(list)
    for dump in tap.tapped:
        for name, values in dump.items():
            if name.startswith("time:"):
                times[name[5:]].extend(values)
    print("  time a frame spends in the real frame worker (queue + SFrame), timer 0.1 ms:")
    for name in ("send:camera", "receive:camera", "send:audio", "receive:audio"):
        values = times.get(name, [])
        if values:
            print(
                f"    {name:<15} median {statistics.median(values):.2f} ms, p95 "
                f"{_p95(values):.2f} ms, max {max(values):.2f} ms ({len(values)} frames)"
            )


def bench_page(
    playwright: Playwright, site: Site, params: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """Run the per-frame worker in a page of the server's origin, cross-origin isolated:
    the SFrame mode, then the bare AES-GCM mode, each with the CPU time it took."""
    base = site.server.base_url
    isolated = {
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Embedder-Policy": "require-corp",
    }

    def serve(body: str, content_type: str) -> Any:
        def handler(route: Route) -> None:
            route.fulfill(status=200, content_type=content_type, headers=isolated, body=body)

        return handler

    browser = launch(playwright)
    try:
        context = browser.new_context(ignore_https_errors=True)
        context.route(f"{base}/__bench/e2ee/", serve(js.BENCH_PAGE, "text/html"))
        context.route(f"{base}/__bench/e2ee/worker.js", serve(js.BENCH_WORKER, "text/javascript"))
        page = context.new_page()
        page.goto(f"{base}/__bench/e2ee/")
        page.evaluate(js.START_BENCH_WORKER, f"{base}/__bench/e2ee/worker.js")
        out: dict[str, dict[str, Any]] = {}
        for mode in ("sframe", "bare"):
            start = snapshot()
            result: dict[str, Any] = page.evaluate(
                js.RUN_BENCH_WORKER, [{**params, "mode": mode}, 120]
            )
            result["cpu"] = usage(start, snapshot())
            if "error" in result:
                raise RuntimeError(f"per-frame worker ({mode}) failed: {result['error']}")
            out[mode] = result
        return out
    finally:
        browser.close()


# --- main -------------------------------------------------------------------------------


class _Calls:
    """Runs calls with one retry each, keeps the failures and how long calls take."""

    def __init__(self, playwright: Playwright, sites: dict[bool, Site]) -> None:
        self.playwright = playwright
        self.sites = sites
        self.failures: list[CallFailed] = []
        self.seconds: dict[bool, list[float]] = {True: [], False: []}  # by "has a window"

    def run(self, e2ee: bool, *, window: float, settle: float, tap: bool = False) -> CallRun:
        site = self.sites[e2ee]
        for attempt in range(2):
            began = time.monotonic()
            try:
                run = run_call(self.playwright, site, window=window, settle=settle, tap=tap)
            except CallFailed as failure:
                self.failures.append(failure)
                log(f"call failed (attempt {attempt + 1} of 2): {failure}")
                for name, seen in failure.diagnostics.items():
                    log(f"  {name} saw: {json.dumps(seen, separators=(',', ':'))}")
                continue
            self.seconds[bool(window)].append(time.monotonic() - began)
            return run
        raise RuntimeError(f"{site.label}: the call failed twice, see above")

    def estimate(self, window: bool) -> float:
        known = self.seconds[window] or self.seconds[True]
        return statistics.mean(known)


def report_failures(failures: list[CallFailed]) -> None:
    if not failures:
        print("Calls that did not come together: none")
        return
    print(f"Calls that did not come together (retried): {len(failures)}")
    for failure in failures:
        print(f"  {failure}")
        for name, seen in failure.diagnostics.items():
            print(f"    {name}: {json.dumps(seen, separators=(',', ':'))}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.e2ee", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="CPU window per call")
    parser.add_argument("--repeats", type=int, default=2, help="calls per mode for CPU")
    parser.add_argument("--joins", type=int, default=1, help="extra join-only calls per mode")
    parser.add_argument("--frames", type=int, default=2000, help="frames per per-frame case")
    parser.add_argument("--settle", type=float, default=4.0, help="seconds before a window")
    parser.add_argument(
        "--budget",
        type=float,
        default=250.0,
        help="seconds the whole run should take; repeats and extra joins beyond the first "
        "pair of calls are skipped when they would not fit",
    )
    args = parser.parse_args(argv)
    require_netns("bench.e2ee")

    began = time.monotonic()
    load_start = load_average()
    skipped: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-e2ee-") as tmp, sync_playwright() as pw:
        sites: dict[bool, Site] = {}
        try:
            sites.update(make_sites(Path(tmp)))
            log("servers up: " + ", ".join(s.server.base_url for s in sites.values()))
            calls = _Calls(pw, sites)

            def fits(seconds: float) -> bool:
                # what is left after it: the instrumented call and the per-frame worker
                reserve = calls.estimate(True) - float(args.seconds) + TAP_WINDOW + 15
                return time.monotonic() - began + seconds + reserve <= float(args.budget)

            runs: list[CallRun] = []
            for index in range(args.repeats):
                pair = (True, False) if index % 2 == 0 else (False, True)  # on/off/off/on
                if index and not fits(2 * calls.estimate(True)):
                    skipped.append(f"CPU repeats {index + 1}-{args.repeats} (time budget)")
                    break
                for e2ee in pair:
                    log(f"{sites[e2ee].label}: call with a {args.seconds:.0f} s CPU window")
                    runs.append(calls.run(e2ee, window=args.seconds, settle=args.settle))
            joins = list(runs)
            for index in range(args.joins):
                if not fits(2 * calls.estimate(False)):
                    skipped.append(f"join-only calls {index + 1}-{args.joins} (time budget)")
                    break
                for e2ee in (True, False):
                    log(f"{sites[e2ee].label}: join-only call")
                    joins.append(calls.run(e2ee, window=0, settle=0))
            log("E2EE on: instrumented call (frame sizes, time in the worker)")
            tap: CallRun | None
            try:
                tap = calls.run(True, window=TAP_WINDOW, settle=args.settle, tap=True)
            except RuntimeError as error:  # the per-frame figures fall back to assumptions
                log(f"instrumented call failed: {error}")
                tap = None
            sizes = captured_sizes(tap)
            cases, source = frame_cases(sizes)
            log(f"per-frame worker benchmark: {len(cases)} cases x {args.frames} frames")
            params = {"cases": cases, "frames": args.frames, "warmup": WARMUP}
            frames = bench_page(pw, sites[True], params)
        finally:
            for site in sites.values():
                site.stop()

    print()
    print(
        "E2EE benchmark: 3-person call in headless Chromium "
        f"({os.cpu_count()} CPUs; load average {load_start} at start, {load_average()} at end)"
    )
    modes = sorted({str(page.get("mode")) for run in runs for page in run.after})
    print(f"Media mode of the calls (the room's choice): {', '.join(modes)}")
    if skipped:
        print("Skipped: " + "; ".join(skipped))
    ratio, note = report_cpu(runs, args.seconds)
    print()
    met = report_frames(frames, cases, source, args.frames)
    print()
    report_tap(tap, sizes)
    print()
    report_join(joins)
    print()
    report_failures(calls.failures)
    print()
    print(
        f"Summary: CPU ratio {ratio:.3f}{note} (<= {CPU_TARGET:.2f}: "
        f"{verdict(ratio <= CPU_TARGET)}); "
        f"encryption p95 under {ENCRYPT_P95_TARGET_MS:g} ms at 640x480: {verdict(met)}"
    )
    print(f"total time {time.monotonic() - began:.0f} s")


if __name__ == "__main__":
    main()
