"""Keyboard use and the language button, in Debian's Chromium against a real server.

The login form works with the keyboard alone; the first Tab on a page reaches the skip link;
the language button brings back the page one was on, also after a form was sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import NewPerson
from tests.browser.flows import ADMIN, create_first_admin, create_meeting, invite_guest, sign_in
from tests.support.chromium import new_context
from tests.support.server import RunningServer, running_server

pytestmark = pytest.mark.browser

MAX_TABS_TO_THE_FORM = 10  # bound for walking the tab order to the login form
FOCUS_TIMEOUT_MS = 5_000  # focus moves synchronously with the key press
LOADED_TIMEOUT_MS = 5_000  # reading a page that has loaded already


@dataclass(frozen=True)
class Site:
    server: RunningServer
    base_url: str


@pytest.fixture(scope="module")
def site(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """One server for this module, its administrator created through the setup link."""
    with running_server(tmp_path_factory.mktemp("usability")) as server:
        assert server.setup_url
        context = new_context(browser)
        try:
            create_first_admin(context.new_page(), server.setup_url)
        finally:
            context.close()
        yield Site(server, server.base_url)


def login_page(page: Page, site: Site) -> None:
    page.goto(f"{site.base_url}/login")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")


def test_login_form_by_keyboard_alone(site: Site, new_person: NewPerson) -> None:
    page = new_person().new_page()
    login_page(page, site)
    username = page.get_by_label("User name or e-mail address")
    # Walk the tab order to the form, wherever the page put the focus first.
    for _ in range(MAX_TABS_TO_THE_FORM):
        if username.evaluate("field => field === document.activeElement"):
            break
        page.keyboard.press("Tab")
    expect(username).to_be_focused(timeout=FOCUS_TIMEOUT_MS)
    page.keyboard.type(ADMIN.username)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused(timeout=FOCUS_TIMEOUT_MS)
    page.keyboard.type(ADMIN.password)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{site.base_url}/dashboard")
    expect(page.get_by_role("heading", level=1)).to_have_text("Meetings")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_first_tab_on_the_login_page_reaches_the_skip_link(
    site: Site, new_person: NewPerson
) -> None:
    """A keyboard user meets the skip link first, and it leads to the form.

    The focus must start at the top of the page: ``autofocus`` on the user name field moves
    it past the skip link, the header with the language button and the heading, and the
    first Tab then goes on to the password field.
    """
    page = new_person().new_page()
    login_page(page, site)
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip, "the first Tab on the login page must focus the skip link").to_be_focused(
        timeout=FOCUS_TIMEOUT_MS
    )
    expect(skip).to_be_in_viewport()  # shown once focused, not only to screen readers
    page.keyboard.press("Enter")
    page.wait_for_url(f"{site.base_url}/login#main")
    page.keyboard.press("Tab")
    expect(page.get_by_label("User name or e-mail address")).to_be_focused(timeout=FOCUS_TIMEOUT_MS)
    page.keyboard.type(ADMIN.username)
    page.keyboard.press("Tab")
    page.keyboard.type(ADMIN.password)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{site.base_url}/dashboard")
    expect(page.get_by_role("heading", level=1)).to_have_text("Meetings")


def switch_to_german(page: Page) -> None:
    page.get_by_role("button", name="Auf Deutsch umschalten").click()
    expect(page.locator("html")).to_have_attribute("lang", "de")


def test_language_button_right_after_inviting_a_guest(site: Site, new_person: NewPerson) -> None:
    """The page that shows a new invitation link is the answer to a form post; its language
    button must lead to the meeting page, not to an error."""
    page = new_person().new_page()
    sign_in(page, site.base_url, ADMIN)
    title = "Language after an invitation"
    meeting_id = create_meeting(page, title)
    invite_guest(page, meeting_id, "someone@example.org")
    switch_to_german(page)
    expect(
        page.get_by_role("heading", level=1), "the meeting page, in German, not an error page"
    ).to_have_text(title, timeout=LOADED_TIMEOUT_MS)
    expect(page.get_by_role("alert")).to_have_count(0, timeout=LOADED_TIMEOUT_MS)
    expect(page.get_by_role("region", name="Einladungen")).to_be_visible()


def test_language_button_after_a_refused_form(site: Site, new_person: NewPerson) -> None:
    """After a form came back with an error, the language button shows that form again."""
    page = new_person().new_page()
    sign_in(page, site.base_url, ADMIN)
    page.goto(f"{site.base_url}/account")
    page.get_by_label("Current password").fill("not the password at all")
    page.get_by_label("New password").fill("another long passphrase")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("alert")).to_have_text("The current password is wrong.")
    switch_to_german(page)
    expect(
        page.get_by_role("heading", level=1), "the account page, in German, not an error page"
    ).to_have_text("Konto", timeout=LOADED_TIMEOUT_MS)
    expect(page.get_by_label("Aktuelles Passwort")).to_be_visible()


def test_language_button_on_the_login_page_keeps_where_one_was_going(
    site: Site, new_person: NewPerson
) -> None:
    """Someone follows a meeting link, is asked to sign in, switches the language first:
    after signing in they are on the meeting page, not on the dashboard."""
    host = new_person().new_page()
    sign_in(host, site.base_url, ADMIN)
    title = "Language on the way in"
    meeting_id = create_meeting(host, title)

    page = new_person().new_page()
    page.goto(f"{site.base_url}/m/{meeting_id}")
    page.wait_for_url(f"{site.base_url}/login?next=/m/{meeting_id}")
    switch_to_german(page)
    page.get_by_label("Benutzername oder E-Mail-Adresse").fill(ADMIN.username)
    page.get_by_label("Passwort").fill(ADMIN.password)
    page.get_by_role("button", name="Anmelden").click()
    expect(page.get_by_role("heading", level=1)).not_to_have_text("Anmelden")
    expect(page, "signed in, the meeting page that was asked for").to_have_url(
        f"{site.base_url}/m/{meeting_id}", timeout=LOADED_TIMEOUT_MS
    )
    expect(page.get_by_role("heading", level=1)).to_have_text(title)


# Every control of the policy console the keyboard can reach, with its accessible name.
UNLABELLED = """
() => {
  const controls = [...document.querySelectorAll(
    "main input:not([type=hidden]), main select, main textarea, main button")]
    .filter(el => !el.closest("[hidden]"));
  return [controls.length, controls.filter(el => {
    const label = el.id && document.querySelector(`label[for="${el.id}"]`);
    const own = el.getAttribute("aria-label") || (el.tagName === "BUTTON" && el.textContent.trim());
    return !((label && label.textContent.trim()) || own);
  }).map(el => el.outerHTML.slice(0, 120))];
}
"""
MAX_TABS_TO_THE_FIELD = 60  # bound for walking the console's tab order


def test_policy_console_by_keyboard_alone(site: Site, new_person: NewPerson) -> None:
    """An administrator changes a retention period without a mouse; every control has a name."""
    page = new_person().new_page()
    sign_in(page, site.base_url, ADMIN)
    page.goto(f"{site.base_url}/admin/policy")
    expect(page.get_by_role("heading", level=1)).to_have_text("Data-protection policy")
    controls, unlabelled = page.evaluate(UNLABELLED)
    assert controls > 10 and unlabelled == []
    field = page.get_by_label("Audit log entries (days)", exact=True)
    for _ in range(MAX_TABS_TO_THE_FIELD):
        if field.evaluate("field => field === document.activeElement"):
            break
        page.keyboard.press("Tab")
    expect(field).to_be_focused(timeout=FOCUS_TIMEOUT_MS)
    page.keyboard.press("Control+A")
    page.keyboard.type("45")
    page.keyboard.press("Enter")  # submits the retention form
    expect(page.get_by_role("status")).to_have_text("The settings were saved.")
    expect(field).to_have_value("45")
