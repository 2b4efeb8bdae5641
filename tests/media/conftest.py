"""Real-browser calls: Debian's Chromium, inside the network namespace that
`scripts/netns-run.sh` creates (WebRTC gathers no candidates on loopback alone)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from argon2 import profiles
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from conclave.config import load_settings
from conclave.services import Services, build_services
from conclave.web.session import COOKIE
from tests.support.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.support.live import LiveServer

# Records every RTCPeerConnection the page makes, so tests can read getStats().
RECORD_CONNECTIONS = """
window.__pcs = [];
const Original = window.RTCPeerConnection;
window.RTCPeerConnection = function (...args) {
  const pc = new Original(...args);
  window.__pcs.push(pc);
  return pc;
};
window.RTCPeerConnection.prototype = Original.prototype;
"""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/media/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def namespace() -> None:
    if os.environ.get("CONCLAVE_NETNS") != "1":
        pytest.skip("media tests run inside scripts/netns-run.sh (make test does that)")
    addresses = subprocess.run(["ip", "-brief", "addr"], capture_output=True, text=True).stdout
    if "10.99.0.1" not in addresses:
        pytest.skip("the test network namespace has no veth pair")


@pytest.fixture(scope="module")  # Playwright's sync API allows one instance at a time
def browser(namespace: None) -> Iterator[Browser]:
    if not shutil.which(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (apt install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@dataclass
class Site:
    server: LiveServer
    services: Services
    contexts: list[BrowserContext] = field(default_factory=list)

    def person(
        self,
        browser: Browser,
        username: str,
        setup: Callable[[BrowserContext], None] | None = None,
    ) -> Page:
        """A new browser profile signed in as ``username``; ``setup`` instruments it."""
        user = self.services.accounts.by_username(username)
        token = self.services.accounts.start_session(user)
        context: BrowserContext = browser.new_context(ignore_https_errors=True, locale="en-GB")
        self.contexts.append(context)
        context.add_init_script(RECORD_CONNECTIONS)
        if setup is not None:
            setup(context)
        context.add_cookies(
            [
                {
                    "name": COOKIE,
                    "value": token,
                    "url": self.server.base_url,
                    "secure": True,
                    "httpOnly": True,
                    "sameSite": "Lax",
                }
            ]
        )
        return context.new_page()

    def close(self) -> None:
        """Close every profile: a page left open would go on calling (and using CPU)."""
        for context in self.contexts:
            context.close()
        self.contexts.clear()


def make_site(tmp_path: Path, **env: str) -> Iterator[Site]:
    data = tmp_path / "data"
    services = build_services(load_settings(None, data_dir=data), argon2=profiles.CHEAPEST)
    server = LiveServer(data, tmp_path, env)
    server.start()
    site = Site(server, services)
    try:
        yield site
    finally:
        site.close()
        server.stop()
        services.db.dispose()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """Direct connections only (P2P and mesh): no SFU, even where Janus is installed."""
    yield from make_site(tmp_path, CONCLAVE_MEDIA__JANUS__MANAGED="off")


@pytest.fixture
def sfu_site(tmp_path: Path) -> Iterator[Site]:
    """The default media mode ("auto") with a managed Janus, as `make run` starts it."""
    if not shutil.which("janus"):
        pytest.skip("Debian's janus is not installed (apt install janus)")
    yield from make_site(tmp_path, CONCLAVE_MEDIA__JANUS__MANAGED="on")
