"""``conclave serve`` runs the managed Janus as its child: started in the background (the
server answers before Janus is up), its API on loopback only, stopped with the server."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from tests.janus.test_managed_janus import sockets_of
from tests.support.live import LiveServer

DEADLINE = 30.0
POLL = 0.05


def children(pid: int, name: str) -> list[int]:
    """Process ids of ``pid``'s children called ``name``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        command = stat[stat.index("(") + 1 : stat.rindex(")")]
        parent = int(stat[stat.rindex(")") + 2 :].split()[1])
        if parent == pid and command == name:
            found.append(int(entry.name))
    return found


def wait_for(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {DEADLINE:g} s")
        time.sleep(POLL)  # polling a process's state with a deadline


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")


def test_serve_runs_janus_as_its_child_and_stops_it(namespace: None, tmp_path: Path) -> None:
    server = LiveServer(tmp_path / "data", tmp_path)
    server.start()  # returns once /healthz answers
    try:
        assert server.process is not None
        parent = server.process.pid
        janus: list[int] = []

        def listening() -> bool:
            janus[:] = children(parent, "janus")
            return bool(janus) and bool(sockets_of(janus[0], "tcp"))

        wait_for(listening, "no janus child listening")
        (address, _port), *more = sockets_of(janus[0], "tcp")
        assert address == "127.0.0.1" and not more
    finally:
        server.stop()
    wait_for(lambda: gone(janus[0]), "janus still running after the server stopped")
    log = server.log_text()
    assert "janus ignored SIGTERM" not in log
