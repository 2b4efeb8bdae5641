"""Fixtures for tests that drive Debian's Chromium against a real ``conclave serve``.

``browser`` is module-scoped, not session-scoped: Playwright's sync API allows one live
instance per process, and other modules (tests/media) start their own; a session-wide one
would still be running when they do and make them fail.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from tests.support.chromium import EXPECT_TIMEOUT_MS, chromium, new_context
from tests.support.server import RunningServer, running_server
from tests.support.static_site import BLANK, Pages, static_site

NewPerson = Callable[..., BrowserContext]
LOG_TAIL = 20_000  # characters of the server log shown with a failure


@pytest.fixture(scope="module", autouse=True)
def expect_timeout() -> Iterator[None]:
    """A longer wait for ``expect(...)`` in these modules (loaded machines); the default after
    (module scope: set before the module's other fixtures use it)."""
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    yield
    expect.set_options(timeout=None)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def static_pages() -> Pages:
    """Extra pages next to the static directory (a module overrides this for its own)."""
    return BLANK


@pytest.fixture(scope="module")
def static_origin(static_pages: Pages) -> Iterator[str]:
    """Conclave's static directory and ``static_pages`` on 127.0.0.1, for the ES modules
    on their own (tests/support/static_site.py)."""
    with static_site(static_pages) as url:
        yield url


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    """A fresh server with an empty data directory; ``server.setup_url`` is its first-admin
    link."""
    with running_server(tmp_path) as started:
        yield started


@pytest.fixture
def new_person(browser: Browser) -> Iterator[NewPerson]:
    """``new_person(locale="en-GB")``: a new browser context (a separate person with a fresh
    profile), closed after the test."""
    contexts: list[BrowserContext] = []

    def make(locale: str = "en-GB", **options: object) -> BrowserContext:
        context = new_context(browser, locale=locale, **options)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failing browser test shows the end of the server's log next to the traceback."""
    report = yield
    funcargs: dict[str, object] = getattr(item, "funcargs", {})
    server = funcargs.get("server")
    site = funcargs.get("site")
    if not isinstance(server, RunningServer):
        server = getattr(site, "server", None)
    if report.failed and isinstance(server, RunningServer):
        report.sections.append(("conclave server log (stderr)", server.log_text()[-LOG_TAIL:]))
    return report
