"""Steps that several browser tests take the way a person does: through the pages (English UI).

Locators go by role and label only, so every step also proves that its controls are named.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from playwright.sync_api import Page, expect

MEETING_PATH = re.compile(r"/m/([A-Za-z0-9_-]+)$")
INVITE_LINK = re.compile(r"^https://127\.0\.0\.1:\d+/invite/[A-Za-z0-9_-]{20,}$")


@dataclass(frozen=True)
class Person:
    username: str
    display_name: str
    password: str


ADMIN = Person("ada", "Ada Lovelace", "correct horse battery staple")
MEMBER = Person("bob", "Bob Builder", "a long member passphrase")


def url(page: Page, path: str) -> str:
    """``path`` on the origin of the page's current URL."""
    match = re.match(r"^https://[^/]+", page.url)
    assert match, page.url
    return match.group(0) + path


def create_first_admin(page: Page, setup_url: str, admin: Person = ADMIN) -> None:
    """Open the first-admin link printed by the server and create the administrator."""
    page.goto(setup_url)
    expect(page.get_by_role("heading", level=1)).to_have_text("Create the first administrator")
    # "User name ..." is the start of its label; the password hint mentions "the user name".
    page.get_by_label(re.compile(r"^User name")).fill(admin.username)
    page.get_by_label("Display name").fill(admin.display_name)
    page.get_by_label("Password").fill(admin.password)
    page.get_by_role("button", name="Create administrator").click()
    page.wait_for_url(url(page, "/dashboard"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Meetings")


def create_meeting(page: Page, title: str, password: str = "") -> str:
    """From the dashboard, create a meeting; returns its id (the page shows the meeting)."""
    page.get_by_role("link", name="New meeting").click()
    page.wait_for_url(url(page, "/meetings/new"))
    expect(page.get_by_role("heading", level=1)).to_have_text("New meeting")
    page.get_by_label("Title").fill(title)
    if password:
        page.get_by_label("Meeting password").fill(password)
    page.get_by_role("button", name="Create meeting").click()
    page.wait_for_url(MEETING_PATH)
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    match = MEETING_PATH.search(page.url)
    assert match, page.url
    return match.group(1)


def _invite(page: Page, invitee: str) -> None:
    field = page.get_by_label("Invite a member (user name) or a guest (e-mail address)")
    field.fill(invitee)
    page.get_by_role("button", name="Invite", exact=True).click()


def invite_member(page: Page, meeting_id: str, username: str) -> None:
    """On the page of a meeting the user hosts, invite a member by user name."""
    _invite(page, username)
    page.wait_for_url(url(page, f"/m/{meeting_id}?notice=invited"))
    expect(page.get_by_role("status")).to_have_text(
        "The member is invited and sees the meeting on their dashboard."
    )


def invite_guest(page: Page, meeting_id: str, email: str) -> str:
    """On the page of a meeting the user hosts, invite an external guest by e-mail; returns
    the personal link the page shows (it does when no SMTP server is configured)."""
    _invite(page, email)
    page.wait_for_url(url(page, f"/m/{meeting_id}/invitations"))
    shown = page.get_by_role("status").filter(has_text="Personal invitation link")
    expect(shown).to_be_visible()
    link = shown.get_by_role("code").inner_text().strip()
    assert INVITE_LINK.match(link), link
    return link


def create_member(page: Page, member: Person = MEMBER) -> None:
    """As an administrator, create a member account on the users page."""
    page.goto(url(page, "/admin/users"))
    page.get_by_label(re.compile(r"^User name")).fill(member.username)
    page.get_by_label("Display name").fill(member.display_name)
    page.get_by_label("Password").fill(member.password)
    page.get_by_label("Role").select_option("member")
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url(url(page, "/admin/users?notice=user_created"))
    expect(page.get_by_role("status")).to_have_text("The account was created.")
    expect(page.get_by_role("cell", name=member.username, exact=True)).to_be_visible()


def sign_in(page: Page, base_url: str, person: Person) -> None:
    """Sign in through the login form; ends on the dashboard."""
    page.goto(f"{base_url}/login")
    page.get_by_label("User name or e-mail address").fill(person.username)
    page.get_by_label("Password").fill(person.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base_url}/dashboard")
