"""What the kernel says about the processes a benchmark started: memory and CPU time.

`rss_kib` and `cpu_seconds` read one process (a server). For Chromium, `snapshot` counts
every process and thread with utime + stime (and the cutime + cstime of children it
reaped, so a process that exits inside a window still counts). Its processes are the
descendants of this Python process whose executable lives in /usr/lib/chromium (browser,
zygotes, renderers, GPU and utility processes; a server started by the benchmark is left
out). Threads are grouped by name, so a report can say where the time went, and how often
each group went to sleep and was woken again (voluntary context switches): on a virtual
machine a wake-up costs tens of microseconds, so wake-ups per unit of work explain CPU time.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass, field

TICK_SECONDS = 1 / os.sysconf("SC_CLK_TCK")
CHROMIUM_DIR = "/usr/lib/chromium"


def rss_kib(pid: int) -> int:
    """Resident set size of a process (VmRSS in /proc/PID/status), in KiB."""
    with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far (all its threads)."""
    parsed = _stat(f"/proc/{pid}/stat")
    if parsed is None:
        raise RuntimeError(f"process {pid} is gone")
    return (int(parsed[1][11]) + int(parsed[1][12])) * TICK_SECONDS


def _stat(path: str) -> tuple[str, list[str]] | None:
    """The command name and the fields after it of a /proc stat file (None: gone)."""
    try:
        with open(path, encoding="ascii", errors="replace") as handle:
            text = handle.read()
    except OSError:
        return None
    start, end = text.find("("), text.rfind(")")
    return text[start + 1 : end], text[end + 2 :].split()


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = defaultdict(list)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        parsed = _stat(f"/proc/{entry}/stat")
        if parsed is not None:
            children[int(parsed[1][1])].append(int(entry))
    found: list[int] = []
    todo = [root]
    while todo and len(found) < 10_000:  # bounded: a process table is never that deep
        pid = todo.pop()
        for child in children.get(pid, []):
            found.append(child)
            todo.append(child)
    return found


def _is_chromium(pid: int) -> bool:
    try:
        return os.readlink(f"/proc/{pid}/exe").startswith(CHROMIUM_DIR)
    except OSError:
        return False


def _process_type(pid: int) -> str:
    """browser, renderer, gpu-process, zygote, utility:network... from the command line
    (Chromium rewrites the titles of zygote children into one space-separated string)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            args = handle.read().replace(b"\0", b" ").decode(errors="replace").split()
    except OSError:
        return "gone"
    kind = next((a.split("=", 1)[1] for a in args if a.startswith("--type=")), "browser")
    if kind == "utility":
        sub = next((a for a in args if a.startswith("--utility-sub-type=")), "")
        return "utility:" + sub.rsplit(".", 1)[-1] if sub else kind
    return kind


@dataclass
class Snapshot:
    """Ticks per process (with reaped children) and per thread, at one moment."""

    processes: dict[int, int] = field(default_factory=dict)
    kinds: dict[int, str] = field(default_factory=dict)
    threads: dict[tuple[int, int], tuple[str, int]] = field(default_factory=dict)
    wakeups: dict[tuple[int, int], int] = field(default_factory=dict)


def snapshot() -> Snapshot:
    shot = Snapshot()
    for pid in _descendants(os.getpid()):
        if not _is_chromium(pid):
            continue
        parsed = _stat(f"/proc/{pid}/stat")
        if parsed is None:
            continue
        fields = parsed[1]
        shot.processes[pid] = sum(int(fields[i]) for i in (11, 12, 13, 14))
        shot.kinds[pid] = _process_type(pid)
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            thread = _stat(f"/proc/{pid}/task/{tid}/stat")
            if thread is not None:
                ticks = int(thread[1][11]) + int(thread[1][12])
                shot.threads[(pid, int(tid))] = (thread[0], ticks)
                shot.wakeups[(pid, int(tid))] = _voluntary_switches(pid, tid)
    return shot


def _voluntary_switches(pid: int, tid: str) -> int:
    """How often a thread has gone to sleep by itself (and so been woken) so far."""
    try:
        with open(f"/proc/{pid}/task/{tid}/status", encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("voluntary_ctxt_switches:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass
class Usage:
    """CPU seconds between two snapshots: in all, per process type, per thread name."""

    seconds: float
    by_kind: dict[str, float]
    by_thread: dict[str, float]
    wakeups_by_thread: dict[str, int]
    processes: int
    lost: int  # processes that were there at the start and gone at the end


def usage(start: Snapshot, end: Snapshot) -> Usage:
    by_kind: dict[str, float] = defaultdict(float)
    total = 0
    for pid, ticks in end.processes.items():
        delta = ticks - start.processes.get(pid, 0)
        total += delta
        by_kind[end.kinds[pid]] += delta * TICK_SECONDS
    by_thread: dict[str, float] = defaultdict(float)
    wakeups: dict[str, int] = defaultdict(int)
    for key, (name, ticks) in end.threads.items():
        before = start.threads.get(key, (name, 0))[1]
        group = f"{end.kinds.get(key[0], '?')}/{_thread_family(name)}"
        by_thread[group] += (ticks - before) * TICK_SECONDS
        wakeups[group] += end.wakeups.get(key, 0) - start.wakeups.get(key, 0)
    lost = len(set(start.processes) - set(end.processes))
    return Usage(
        total * TICK_SECONDS,
        dict(by_kind),
        dict(by_thread),
        dict(wakeups),
        len(end.processes),
        lost,
    )


def _thread_family(name: str) -> str:
    """Group numbered threads ("ThreadPoolForeg" workers, "WebRTC_W_0"...) by their stem."""
    return name.rstrip("0123456789_ -") or name
