"""What end-to-end encryption costs: the same three-person call with E2EE on and off.

Run inside the test network namespace (real WebRTC gathers no candidates on loopback):
`scripts/netns-run.sh .venv/bin/python -m bench.e2ee [--seconds 20]`.

Two servers run side by side, one with the defaults (E2EE required) and one with
`CONCLAVE_SECURITY__REQUIRE_E2EE=false` (the room then attaches no frame transforms).
Three people (fresh profiles, fake 640x480 camera and microphone on) meet in one headless
Chromium per call; the room chooses its media mode as shipped (with Janus available, a
third participant moves it to the SFU) and the report says which. Figures (issue 4):

- browser CPU: utime + stime of every Chromium process over a fixed window once all three
  decode each other; the median per mode and the ratio (target <= 1.10); also per thread
  (CPU and wake-ups), and for two more variants on the E2EE site with a stand-in frame
  worker (js.SUBSTITUTE_WORKERS): "pass-through" passes frames on unchanged (what attaching
  any frame transform costs), "WebCrypto floor" also reads each frame and makes one
  AES-GCM call per frame (the least any frame encryption with WebCrypto costs);
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
Every wait has a deadline; with the defaults a run takes about 6 minutes on the 2 cores.
Progress goes to stderr, figures to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Mapping
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


def _rate(run: CallRun, key: str) -> float:
    """Per second over the window, summed over the three pages."""
    return float(sum(p[key] for p in run.after) - sum(p[key] for p in run.before)) / run.window


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


def _of_workers(by_thread: Mapping[str, float]) -> float:
    """The sum over the frame-worker threads (Chromium names them DedicatedWorker)."""
    return sum(v for k, v in by_thread.items() if "DedicatedWorker" in k)


def _worker_cores(run: CallRun) -> float:
    assert run.cpu is not None
    return _of_workers(run.cpu.by_thread) / run.window


def _worker_wakeups(run: CallRun) -> float:
    """How often per second the frame-worker threads were woken (voluntary switches)."""
    assert run.cpu is not None
    return _of_workers(run.cpu.wakeups_by_thread) / run.window


FLOOR = "WebCrypto floor"
VARIANTS = ("E2EE on", "E2EE off", "pass-through", FLOOR)


def report_cpu(runs: list[CallRun], seconds: float) -> float:
    """Cores used by all Chromium processes per variant, the ratio, and where it goes."""
    print(f"Browser CPU, all Chromium processes, {seconds:.0f} s window per call (in cores)")
    cores: dict[str, float] = {}
    threads: dict[str, dict[str, float]] = {}
    stalls = 0
    for variant in VARIANTS:
        mine = [r for r in runs if r.variant == variant and r.cpu]
        if not mine:
            continue
        used = [r.cpu.seconds / r.window for r in mine if r.cpu]
        cores[variant] = statistics.median(used)
        print(f"  {variant}: {', '.join(f'{c:.2f}' for c in used)} -> median {cores[variant]:.2f}")
        for run in mine:
            received, decoded = _rate(run, "received"), _rate(run, "decoded")
            stalled = decoded < 0.9 * received
            stalls += stalled
            print(
                f"    video frames/s: {_rate(run, 'encoded'):.0f} encoded, {received:.0f} "
                f"received, {decoded:.0f} decoded, {_rate(run, 'pli'):.1f} PLI; "
                f"{_rate(run, 'videoBytes') * 8 / 1000:.0f} kbit/s sent; worker drops "
                f"{_worker_drops(run) or 'none'}" + (" STALLED" if stalled else "")
            )
        last = mine[-1].after
        transforms = f"{sum(p['transforms'] for p in last)}/{sum(p['endpoints'] for p in last)}"
        print(f"    senders: {_senders(mine[-1])}; transforms on {transforms} endpoints")
        sums: dict[str, float] = defaultdict(float)
        for run in mine:
            assert run.cpu is not None
            for name, value in run.cpu.by_thread.items():
                sums[name] += value / run.window / len(mine)
        threads[variant] = sums
    on, off = cores["E2EE on"], cores["E2EE off"]
    ratio = on / off
    print(
        f"  ratio on/off: {ratio:.3f}; target <= {CPU_TARGET:.2f}: {verdict(ratio <= CPU_TARGET)}"
    )
    if "pass-through" in cores and FLOOR in cores:
        bare, floor = cores["pass-through"], cores[FLOOR]
        print(
            f"  of the difference: frame transforms that only pass frames on "
            f"{bare - off:+.2f} cores (ratio {bare / off:.3f}); reading each frame and one "
            f"WebCrypto AES-GCM call per frame on top {floor - bare:+.2f} (ratio "
            f"{floor / off:.3f}, the floor of any WebCrypto frame encryption); SFrame and the "
            f"real worker on top of that {on - floor:+.2f} cores"
        )
    if stalls:
        print("  WARNING: a call's receivers decoded under 90% of the frames: the ratio is biased")
    for variant in ("E2EE on", FLOOR, "pass-through"):
        mine = [r for r in runs if r.variant == variant and r.cpu]
        if not mine:
            continue
        worker = statistics.median(_worker_cores(r) for r in mine)
        through = statistics.median(
            sum(_rate(r, k) for k in ("encoded", "received", "audioPackets", "audioReceived"))
            for r in mine
        )
        wakeups = statistics.median(_worker_wakeups(r) for r in mine)
        print(
            f"  frame-worker threads ({variant}): {worker:.2f} cores = "
            f"{worker / off * 100:.1f}% of the E2EE-off call; {through:.0f} frames/s through "
            f"them, {worker / through * 1e6:.0f} us of worker-thread CPU and "
            f"{wakeups / through:.2f} wake-ups per frame"
        )
    names = set(threads["E2EE on"]) | set(threads["E2EE off"])
    shown = [v for v in VARIANTS if v in threads]
    print(f"  cores by process/thread ({' / '.join(shown)}), the 8 largest differences on-off:")
    for name in sorted(
        names, key=lambda n: -abs(threads["E2EE on"].get(n, 0) - threads["E2EE off"].get(n, 0))
    )[:8]:
        print(f"    {name:<36} " + " / ".join(f"{threads[v].get(name, 0):.2f}" for v in shown))
    return ratio


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
        worker = _of_workers(threads)
        pool = sum(v for k, v in threads.items() if "ThreadPool" in k)
        rest = sum(threads.values()) - worker - pool
        woken = _of_workers(cpu.wakeups_by_thread)
        print(
            f"    {label:<13} worker thread {worker / ops * 1e6:4.0f} us "
            f"({woken / ops:.2f} wake-ups), thread pool (V8 GC, crypto) "
            f"{pool / ops * 1e6:4.0f} us, other renderer threads {rest / ops * 1e6:4.0f} us"
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
    """Runs calls with one retry each and keeps the failures."""

    def __init__(self, playwright: Playwright, sites: dict[bool, Site]) -> None:
        self.playwright = playwright
        self.sites = sites
        self.failures: list[CallFailed] = []

    def run(
        self, e2ee: bool, *, window: float, settle: float, tap: bool = False, worker: str = ""
    ) -> CallRun:
        site = self.sites[e2ee]
        label = worker or site.label
        log(f"{label}: call" + (f" with a {window:.0f} s window" if window else ", join only"))
        for attempt in range(2):
            try:
                return run_call(
                    self.playwright, site, window=window, settle=settle, tap=tap, substitute=worker
                )
            except CallFailed as failure:
                self.failures.append(failure)
                log(f"call failed (attempt {attempt + 1} of 2): {failure}")
        raise RuntimeError(f"{site.label}: the call failed twice, see above")


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
    args = parser.parse_args(argv)
    require_netns("bench.e2ee")

    if not (1 <= args.repeats <= 5 and 0 <= args.joins <= 5 and 5 <= args.seconds <= 120):
        parser.error("repeats 1..5, joins 0..5, seconds 5..120")
    began, load_start = time.monotonic(), load_average()
    with tempfile.TemporaryDirectory(prefix="bench-e2ee-") as tmp, sync_playwright() as pw:
        sites = make_sites(Path(tmp))
        try:
            calls = _Calls(pw, sites)
            runs: list[CallRun] = []
            order = [(True, ""), (False, ""), (True, "pass-through"), (True, FLOOR)]
            for index in range(args.repeats):  # the order rotates: drifts hit all alike
                for e2ee, worker in order[index % 4 :] + order[: index % 4]:
                    run = calls.run(e2ee, window=args.seconds, settle=args.settle, worker=worker)
                    runs.append(run)
            joins = [run for run in runs if run.variant in ("E2EE on", "E2EE off")]
            for _ in range(args.joins):
                joins += [calls.run(e2ee, window=0, settle=0) for e2ee in (True, False)]
            tap: CallRun | None
            try:  # frame sizes and time in the real worker; without: assumed sizes
                tap = calls.run(True, window=TAP_WINDOW, settle=args.settle, tap=True)
            except RuntimeError as error:
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
    ratio = report_cpu(runs, args.seconds)
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
        f"Summary: CPU ratio {ratio:.3f} (<= {CPU_TARGET:.2f}: "
        f"{verdict(ratio <= CPU_TARGET)}); "
        f"encryption p95 under {ENCRYPT_P95_TARGET_MS:g} ms at 640x480: {verdict(met)}"
    )
    print(f"total time {time.monotonic() - began:.0f} s")


if __name__ == "__main__":
    main()
