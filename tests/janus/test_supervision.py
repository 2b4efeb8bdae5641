"""The managed Janus's supervisor never gives up, and says the truth at once: a real
Janus, killed with SIGKILL again and again (issue 13, item 9)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import profiles

from conclave.config import load_settings
from conclave.media.janus_managed import ManagedJanus
from conclave.meetings.service import MeetingDraft
from conclave.services import Services, build_services
from conclave.web.session import COOKIE
from tests.janus.conftest import RTP_PORTS, janus_settings
from tests.janus.test_managed_janus import run
from tests.support.diskfull import cap_database, fill
from tests.support.inprocess import InProcessServer
from tests.support.net import free_port
from tests.support.web import make_user

CRASHES = 12  # more than the ten after which the supervisor used to give up for good
DEADLINE = 30.0
POLL = 0.02


def test_janus_is_restarted_after_every_crash_with_a_capped_backoff(
    runner: asyncio.Runner, tmp_path: Path
) -> None:
    settings = janus_settings(restart_delay_min=0.05, restart_delay_max=0.2)

    async def scenario() -> None:
        async with ManagedJanus(settings, tmp_path / "crashing") as janus:
            assert janus.state.phase == "running" and janus.state.restarts == 0
            for crash in range(1, CRASHES + 1):
                generation, pid = janus.generation, janus.pid
                assert pid is not None
                os.kill(pid, signal.SIGKILL)
                assert await janus.wait_generation(generation, timeout=20) == generation + 1
                state = janus.state
                assert (state.phase, state.restarts, state.failures) == ("running", crash, crash)
                assert state.backoff == min(0.2, 0.05 * 2 ** (crash - 1))  # 0.05, 0.1, 0.2, 0.2
            assert janus.pid not in (None, pid)

    run(runner, scenario(), timeout=CRASHES * 20)


def sfu_line(page: str) -> str:
    """The admin page's line about the managed Janus, as read (no tags, one space)."""
    section = page[page.index('id="sfu-heading"') : page.index("</section>")]
    text = " ".join(re.sub(r"<[^>]+>", " ", section).split())
    return text[text.index("Janus on this server") :].replace(" :", ":")


def until(check: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + DEADLINE
    while not (found := check()):
        assert time.monotonic() < deadline, f"{what} within {DEADLINE:g} s"
        time.sleep(POLL)  # polling the server's answers with a deadline
    return found


@pytest.fixture
def server(namespace: None, tmp_path: Path) -> Iterator[tuple[InProcessServer, Services]]:
    settings = load_settings(
        None,
        data_dir=tmp_path / "data",
        server={"hostnames": ["127.0.0.1"], "port": free_port()},
        media={
            "janus": {
                "managed": "on",
                "ice_enforce_list": ["v0"],
                "rtp_port_min": RTP_PORTS[0],
                "rtp_port_max": RTP_PORTS[1],
                # Long enough to see the state before Janus is back, short for a test.
                "restart_delay_min": 3.0,
                "restart_delay_max": 3.0,
            }
        },
    )
    services = build_services(settings, argon2=profiles.CHEAPEST)
    try:
        with InProcessServer(settings, services) as running:
            running.wait_for_sfu()
            yield running, services
    finally:
        services.db.dispose()


def test_healthz_and_the_admin_page_say_at_once_that_janus_died_and_that_the_disk_is_full(
    server: tuple[InProcessServer, Services],
) -> None:
    running, services = server
    token = services.accounts.start_session(make_user(services, "root", "admin"))
    http = httpx.Client(base_url=running.base_url, verify=False, cookies={COOKIE: token})
    (backend,) = running.sfu.backends
    managed = backend.managed
    assert managed is not None

    def health() -> dict[str, str]:
        answer: dict[str, str] = http.get("/healthz").json()
        return answer

    assert health() == {"status": "ok", "sfu": "ready", "storage": "ok"}
    assert sfu_line(http.get("/admin/users").text) == "Janus on this server: running · 0 restarts"

    generation, pid = managed.generation, managed.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    seen = until(lambda: (state := health())["sfu"] != "ready" and state, "healthz still ready")
    assert managed.generation == generation  # reported before Janus is back
    assert seen == {"status": "ok", "sfu": "restarting", "storage": "ok"}
    line = sfu_line(http.get("/admin/users").text)
    assert managed.generation == generation
    assert re.fullmatch(
        r"Janus on this server: restarting, next attempt in [0-3] s · 0 restarts", line
    )

    until(lambda: health()["sfu"] == "ready", "the SFU is not ready again")
    assert managed.generation == generation + 1
    assert sfu_line(http.get("/admin/users").text) == "Janus on this server: running · 1 restart"

    host = make_user(services, "hannah")
    cap_database(services)
    fill(lambda n: services.meetings.create(host, MeetingDraft(f"M{n}", None, None, "off", None)))
    full = http.get("/healthz")
    assert full.status_code == 503
    assert full.json() == {"status": "failing", "sfu": "ready", "storage": "full"}
