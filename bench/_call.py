"""Calls in real Chromium for bench.join and bench.e2ee: servers, people, timed joins."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from argon2 import profiles
from playwright.sync_api import Browser, Page, Playwright, Route, expect

from bench import _js as js
from bench._proc import Usage, snapshot, usage
from conclave.config import load_settings
from conclave.meetings.service import MeetingDraft
from conclave.services import Services, build_services
from conclave.web.session import COOKIE
from tests.support.chromium import CHROMIUM, launch, new_context
from tests.support.live import LiveServer
from tests.support.room import CALL_SECONDS, in_call, join, open_room

NAMES = ("hannah", "ivan", "jana")
PASSWORD = "correct horse battery"  # benchmark accounts only; nobody signs in with it


def require_netns(command: str) -> None:
    """Exit with a hint unless this runs inside scripts/netns-run.sh, where WebRTC works."""
    addresses = subprocess.run(["ip", "-brief", "addr"], capture_output=True, text=True).stdout
    if os.environ.get("CONCLAVE_NETNS") != "1" or "10.99.0.1" not in addresses:
        sys.exit(
            f"{command}: real WebRTC gathers no candidates on loopback alone; run it in the "
            f"network namespace: scripts/netns-run.sh .venv/bin/python -m {command}"
        )
    if not shutil.which(CHROMIUM):
        sys.exit(f"{command}: {CHROMIUM} is missing (apt install chromium)")


def log(message: str) -> None:
    """Progress on stderr; the figures go to stdout."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass
class Site:
    """One `conclave serve` with its own data, three users and a meeting they may join."""

    e2ee: bool
    server: LiveServer
    services: Services
    meeting_id: str

    @property
    def label(self) -> str:
        return "E2EE on " if self.e2ee else "E2EE off"

    def stop(self) -> None:
        self.server.stop()
        self.services.db.dispose()


def make_sites(root: Path) -> dict[bool, Site]:
    """Two servers side by side: the defaults (E2EE required) and E2EE switched off.

    Data, users and meetings are made here (migrations one at a time: Alembic's context is
    process-wide); the servers are started one after the other, also to keep two starts
    from competing for the cores.
    """
    sites: dict[bool, Site] = {}
    for e2ee in (True, False):
        home = root / ("on" if e2ee else "off")
        home.mkdir(parents=True)
        settings = load_settings(None, data_dir=home / "data")
        services = build_services(settings, argon2=profiles.CHEAPEST)
        host = services.accounts.create_user(NAMES[0], NAMES[0].title(), PASSWORD)
        meeting = services.meetings.create(host, MeetingDraft("Bench", None, None, "off", None))
        for name in NAMES[1:]:
            services.accounts.create_user(name, name.title(), PASSWORD)
            services.invitations.invite_member(host, meeting.id, name)
        env = {"CONCLAVE_LOGGING__LEVEL": "warning"}
        if not e2ee:
            env["CONCLAVE_SECURITY__REQUIRE_E2EE"] = "false"
        server = LiveServer(home / "data", home, env)
        while sites and server.port == sites[True].server.port:  # rare; a new port each time
            server = LiveServer(home / "data", home, env)
        sites[e2ee] = Site(e2ee, server, services, meeting.id)
    try:
        for site in sites.values():
            site.server.start()
    except BaseException:
        for site in sites.values():
            site.stop()
        raise
    return sites


def person(browser: Browser, site: Site, username: str, scripts: tuple[str, ...] = ()) -> Page:
    """A fresh browser profile signed in as ``username`` (its own session cookie)."""
    accounts = site.services.accounts
    token = accounts.start_session(accounts.by_username(username))
    context = new_context(browser)
    for script in (js.JOIN_CLOCK, *scripts):
        context.add_init_script(script)
    cookie = {
        "name": COOKIE,
        "value": token,
        "url": site.server.base_url,
        "secure": True,
        "httpOnly": True,
        "sameSite": "Lax",
    }
    context.add_cookies([cookie])  # type: ignore[list-item]
    return context.new_page()


def timed_join(page: Page, site: Site, peers: int) -> dict[str, float | None]:
    """Pre-join with camera and microphone on, click Join, and time the first frames.

    Milliseconds from the click to: welcome, first offer or answer sent, connected, first
    remote video packet, first decoded remote frame ("first"), and video decoded from
    ``peers`` connections ("all"); None for what did not happen within CALL_SECONDS.
    """
    open_room(page, site.server.base_url, site.meeting_id)
    page.get_by_role("button", name="Camera").first.click()
    page.get_by_role("button", name="Microphone").first.click()
    expect(page.locator("#pre-cam")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#pre-mic")).to_have_attribute("aria-pressed", "true")
    page.get_by_label("I have read the privacy notice.").check()
    page.get_by_role("button", name="Join").click()
    timing: dict[str, float | None] = page.evaluate(js.FIRST_FRAME, [peers, CALL_SECONDS])
    return timing


class CallFailed(RuntimeError):
    """A call did not come together; `diagnostics` is what each page saw."""

    def __init__(self, message: str, diagnostics: dict[str, Any]) -> None:
        super().__init__(message)
        self.diagnostics = diagnostics


@dataclass
class CallRun:
    e2ee: bool
    join: dict[str, float | None]
    variant: str = ""  # "E2EE on", "E2EE off", or a name in js.SUBSTITUTE_WORKERS
    window: float = 0.0
    cpu: Usage | None = None
    before: list[dict[str, Any]] = field(default_factory=list)
    after: list[dict[str, Any]] = field(default_factory=list)
    tapped: list[dict[str, list[float]]] = field(default_factory=list)


def run_call(
    playwright: Playwright,
    site: Site,
    *,
    window: float,
    settle: float,
    tap: bool = False,
    substitute: str = "",
) -> CallRun:
    """Hannah and Ivan join and see each other; Jana joins (timed); then, if ``window``,
    the CPU of all Chromium processes over a fixed window once media has settled. A new
    browser for every call, so that its CPU time is the call's alone. ``substitute`` names
    a worker of js.SUBSTITUTE_WORKERS served in place of the frame worker (E2EE site only)."""
    browser = launch(playwright)
    pages: list[Page] = []
    try:
        run = _call(site, browser, pages, window=window, settle=settle, tap=tap, worker=substitute)
        run.variant = substitute or site.label.strip()
        return run
    except Exception as error:  # any failure: report what the pages saw
        seen = {}
        for name, page in zip(NAMES, pages, strict=False):
            try:
                seen[name] = page.evaluate(js.DIAGNOSE)
            except Exception as reason:  # a page that broke says so instead
                seen[name] = {"error": str(reason)}
        raise CallFailed(f"{site.label}: {error}", seen) from error
    finally:
        browser.close()


def _serve_tap(route: Route) -> None:
    patch = route.request.url.endswith("/bench-tap-patch.js")
    body = js.TAP_PATCH if patch else js.TAP_WORKER
    route.fulfill(status=200, content_type="text/javascript", body=body)


def _serving(body: str) -> Callable[[Route], None]:
    def serve(route: Route) -> None:
        route.fulfill(status=200, content_type="text/javascript", body=body)

    return serve


def _require_media(page: Page, peers: int, who: str) -> None:
    seen = page.evaluate(js.MEDIA_FLOWING, [peers, CALL_SECONDS])
    if seen["video"] < peers or seen["audio"] < peers:
        raise RuntimeError(f"{who}: media from {peers} others did not flow: {seen}")


def _call(
    site: Site,
    browser: Browser,
    pages: list[Page],
    *,
    window: float,
    settle: float,
    tap: bool,
    worker: str,
) -> CallRun:
    scripts = (js.TAP_PAGE,) if tap else ()
    for name in NAMES:
        pages.append(person(browser, site, name, scripts))
        if tap:
            pages[-1].context.route("**/static/js/e2ee/bench-tap-*.js", _serve_tap)
        if worker:
            serve = _serving(js.SUBSTITUTE_WORKERS[worker])
            pages[-1].context.route("**/static/js/e2ee/worker.js", serve)
    for page in pages[:2]:
        join(page, site.server.base_url, site.meeting_id)
    for page, name in zip(pages[:2], NAMES, strict=False):
        in_call(page, 2)
        _require_media(page, 1, name)
    run = CallRun(site.e2ee, timed_join(pages[2], site, peers=2))
    if run.join["all"] is None:
        raise RuntimeError(f"the third participant did not see both others: {run.join}")
    if not window:
        return run
    for page, name in zip(pages, NAMES, strict=True):
        in_call(page, 3)
        _require_media(page, 2, name)
    time.sleep(settle)  # a fixed settling time (bandwidth estimate ramps up), not a wait
    for page in pages if tap else []:
        page.evaluate(js.TAP_COMMAND, "bench-tap-start")
    run.before = [page.evaluate(js.CALL_STATS) for page in pages]
    start, started = snapshot(), time.monotonic()
    time.sleep(window)  # the fixed measurement window
    end, run.window = snapshot(), time.monotonic() - started
    run.cpu = usage(start, end)
    run.after = [page.evaluate(js.CALL_STATS) for page in pages]
    if tap:
        for page in pages:
            dumps = page.evaluate(js.TAP_COMMAND, "bench-tap")
            run.tapped.extend(d for d in dumps if d)
    return run
