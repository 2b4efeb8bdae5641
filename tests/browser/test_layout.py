"""The pages on a phone and to assistive technology, in Debian's Chromium against a real
server: nothing scrolls sideways at 390 px, axe-core finds no violation, and dates are
written the way the browser's locale writes them (en-GB is not en-US)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from conclave.web.session import LANG_COOKIE
from tests.browser.conftest import NewPerson
from tests.browser.flows import (
    ADMIN,
    create_first_admin,
    create_member,
    invite_guest,
    invite_member,
    sign_in,
    url,
)
from tests.support.axe import axe_violations
from tests.support.chromium import new_context
from tests.support.server import RunningServer, running_server

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
WIDE = {"width": 1280, "height": 720}
# A guest's user name is their e-mail address: long ones are common.
GUEST = "maximiliane.mustermann-schmidt@verwaltung.example-landkreis.de"
TITLE = "Quarterly planning"
STARTS = "2026-12-07T14:30"  # in the browser's time zone; the contexts here use UTC
SIDEWAYS = "() => [document.scrollingElement.scrollWidth, window.innerWidth]"


@dataclass(frozen=True)
class Site:
    server: RunningServer
    base_url: str
    meeting_id: str


def _accept(context: BrowserContext, link: str) -> None:
    page = context.new_page()
    page.goto(link)
    page.get_by_label("Your name as others will see it").fill("Maximiliane Mustermann-Schmidt")
    page.get_by_label("Password").fill("a long guest passphrase")
    page.get_by_role("button", name="Accept invitation").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)


@pytest.fixture(scope="module")
def site(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A server whose administrator hosts a scheduled meeting with a member and two guests
    invited (one link accepted, so the users table has a guest with a long address)."""
    with running_server(tmp_path_factory.mktemp("layout")) as server:
        assert server.setup_url
        context = new_context(browser, timezone_id="UTC")
        try:
            page = context.new_page()
            create_first_admin(page, server.setup_url)
            create_member(page)
            page.goto(url(page, "/dashboard"))
            page.get_by_role("link", name="New meeting").click()
            page.get_by_label("Title").fill(TITLE)
            page.get_by_label("Starts").fill(STARTS)
            page.get_by_role("button", name="Create meeting").click()
            expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
            meeting_id = page.url.rsplit("/", 1)[1]
            invite_member(page, meeting_id, "bob")
            link = invite_guest(page, meeting_id, GUEST)
            invite_guest(
                page, meeting_id, "another.rather.long.address@partner-organisation.example"
            )
        finally:
            context.close()
        guest = new_context(browser)
        try:
            _accept(guest, link)
        finally:
            guest.close()
        yield Site(server, server.base_url, meeting_id)


def _signed_in(new_person: NewPerson, site: Site, lang: str, **options: object) -> Page:
    """Signed in (through the English form), then reading the pages in ``lang``."""
    context = new_person(**options)
    context.add_cookies([{"name": LANG_COOKIE, "value": "en", "url": site.base_url}])
    page = context.new_page()
    sign_in(page, site.base_url, ADMIN)
    context.add_cookies([{"name": LANG_COOKIE, "value": lang, "url": site.base_url}])
    return page


def _pages(site: Site) -> dict[str, str]:
    return {
        "meeting": f"/m/{site.meeting_id}",
        "users": "/admin/users",
        "dashboard": "/dashboard",
        "audit log": "/admin/audit",
        "room": f"/m/{site.meeting_id}/join",
    }


@pytest.mark.parametrize("lang", ["en", "de"])
def test_the_invitations_and_users_tables_fit_a_phone(
    site: Site, new_person: NewPerson, lang: str
) -> None:
    page = _signed_in(new_person, site, lang, viewport=PHONE)
    for name in ("meeting", "users", "dashboard", "audit log"):
        page.goto(site.base_url + _pages(site)[name])
        expect(page.locator("html")).to_have_attribute("lang", lang)
        scroll_width, inner_width = page.evaluate(SIDEWAYS)
        assert scroll_width <= inner_width, f"the {name} page scrolls sideways at 390 px"
    # Every action of every row is on the screen, none cut off at the right.
    page.goto(site.base_url + _pages(site)["users"])
    buttons = page.locator("main table button")
    assert buttons.count() >= 6
    for index in range(buttons.count()):
        box = buttons.nth(index).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]


@pytest.mark.parametrize("lang", ["en", "de"])
@pytest.mark.parametrize("viewport", [WIDE, PHONE], ids=["1280", "390"])
def test_the_pages_pass_axe_core(
    site: Site, new_person: NewPerson, lang: str, viewport: dict[str, int]
) -> None:
    page = _signed_in(new_person, site, lang, viewport=viewport)
    found: dict[str, list[str]] = {}
    for name, path in _pages(site).items():
        page.goto(site.base_url + path)
        expect(page.locator("html")).to_have_attribute("lang", lang)
        if name == "room":
            expect(page.locator("#prejoin")).to_be_visible()
        violations = axe_violations(page)
        if violations:
            found[name] = violations
    assert not found, "\n".join(f"{name}:\n" + "\n".join(v) for name, v in found.items())


# 7 December 2026, 14:30 UTC, as each browser locale writes it (date medium, time short).
WRITTEN = {
    "en-GB": "7 Dec 2026, 14:30",
    "en-US": "Dec 7, 2026, 2:30\u202fPM",
    "de-DE": "07.12.2026, 14:30",
}


@pytest.mark.parametrize("locale", list(WRITTEN))
def test_dates_are_written_as_the_browser_locale_writes_them(
    site: Site, new_person: NewPerson, locale: str
) -> None:
    """The browser's full locale, not only the page's language: en-GB gets day, month,
    year and a 24-hour clock, en-US month first and a 12-hour clock."""
    page = _signed_in(new_person, site, locale[:2], locale=locale, timezone_id="UTC")
    page.goto(site.base_url + _pages(site)["meeting"])
    expect(page.locator("main time").first).to_have_text(WRITTEN[locale])


def test_without_javascript_dates_follow_the_accept_language(browser: Browser, site: Site) -> None:
    """The server writes the date in the request's full locale (Babel); the page's script
    then only moves it into the browser's time zone."""
    context = new_context(browser, locale="en-GB", timezone_id="UTC", java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, site.base_url, ADMIN)
        page.goto(site.base_url + _pages(site)["meeting"])
        expect(page.locator("main time").first).to_have_text("7 Dec 2026, 14:30 UTC")
    finally:
        context.close()
