"""Debian's Chromium under Playwright (sync API), launched the one way the project allows.

Only ``/usr/bin/chromium`` with the flags below; never ``playwright install``. Every person
in a test gets a new browser context: a fresh profile (cookies, storage, cache).

One live sync Playwright per process: Playwright refuses to start a second one while the
first runs ("Sync API inside the asyncio loop"), so fixtures that hold one must end before
another module starts its own (tests/browser/conftest.py uses module scope for that).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import Browser, BrowserContext, Playwright, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]
# Loaded test machines are slow; these bound every wait instead of a sleep anywhere.
LAUNCH_TIMEOUT_MS = 60_000
ACTION_TIMEOUT_MS = 20_000  # clicks, fills, waits for an element or a URL
NAVIGATION_TIMEOUT_MS = 30_000  # page.goto, form submissions
EXPECT_TIMEOUT_MS = 15_000  # expect(...) assertions; set by tests/browser/conftest.py


def require_chromium() -> None:
    """Skip (a failure under CI=true, see tests/conftest.py) when Chromium is missing."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.skip(f"Debian's Chromium is not installed at {CHROMIUM} (apt install chromium)")


def launch(playwright: Playwright) -> Browser:
    """Headless Chromium with the project's flags."""
    return playwright.chromium.launch(
        executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, timeout=LAUNCH_TIMEOUT_MS
    )


@contextmanager
def chromium() -> Iterator[Browser]:
    """Playwright plus a launched browser, both closed on exit; skips without Chromium."""
    require_chromium()
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            yield browser
        finally:
            browser.close()


def new_context(browser: Browser, locale: str = "en-GB", **options: object) -> BrowserContext:
    """A separate person: a fresh profile that accepts the server's self-signed certificate.

    ``locale`` sets navigator.language and the Accept-Language header.
    """
    context = browser.new_context(ignore_https_errors=True, locale=locale, **options)  # type: ignore[arg-type]
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
    return context
