"""The first use of a new server, in Debian's Chromium against a real ``conclave serve``.

An administrator opens the link the server printed, creates a meeting with a password and
invites an external guest by e-mail; with no SMTP server configured, the page shows the
personal link. The guest, in a browser of their own, opens it, creates a guest account and
lands in the meeting; a guest cannot create meetings; the link works only once.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import NewPerson
from tests.browser.flows import (
    ADMIN,
    create_first_admin,
    create_meeting,
    invite_guest,
)
from tests.support.server import RunningServer

pytestmark = pytest.mark.browser

TITLE = "Quarterly review: data protection"
MEETING_PASSWORD = "meeting secret 42"
GUEST_EMAIL = "guest@example.org"
GUEST_NAME = "Grace Guest"
GUEST_PASSWORD = "a guest passphrase"


def test_first_admin_creates_a_meeting_and_a_guest_joins_by_invitation(
    server: RunningServer, new_person: NewPerson
) -> None:
    assert server.setup_url and server.setup_url.startswith(f"{server.base_url}/setup/")
    host = new_person().new_page()

    # The administrator: the printed link, the dashboard, a meeting with a password.
    create_first_admin(host, server.setup_url)
    expect(host.get_by_role("region", name="Meetings I host")).to_contain_text(
        "You host no meetings yet."
    )
    meeting_id = create_meeting(host, TITLE, MEETING_PASSWORD)
    expect(host.get_by_text("This meeting has a password.")).to_be_visible()
    expect(host.get_by_role("link", name="Join the meeting")).to_have_attribute(
        "href", f"/m/{meeting_id}/join"
    )

    # Invite an external guest; no SMTP, so the page shows the personal link.
    link = invite_guest(host, meeting_id, GUEST_EMAIL)
    assert link.startswith(f"{server.base_url}/invite/")
    host.context.grant_permissions(["clipboard-read", "clipboard-write"])
    host.get_by_role("button", name="Copy link").click()
    expect(host.get_by_text("The link is copied.")).to_be_visible()  # it says so
    assert host.evaluate("navigator.clipboard.readText()") == link
    invited = host.get_by_role("table", name="Invited people")
    row = invited.get_by_role("row").filter(has_text=GUEST_EMAIL)
    expect(row.get_by_role("cell", name="not accepted yet", exact=True)).to_be_visible()
    expect(
        host.get_by_role("button", name=f"Revoke the invitation of {GUEST_EMAIL}")
    ).to_be_visible()

    # The guest, in a browser of their own, accepts.
    guest = new_person().new_page()
    guest.goto(link)
    expect(guest.get_by_role("heading", level=1)).to_have_text(f"Invitation to “{TITLE}”")
    expect(
        guest.get_by_text(f"{ADMIN.display_name} invites you to a video meeting")
    ).to_be_visible()
    expect(guest.get_by_text(GUEST_EMAIL, exact=True)).to_be_visible()
    guest.get_by_label("Your name as others will see it").fill(GUEST_NAME)
    guest.get_by_label("Password").fill(GUEST_PASSWORD)
    guest.get_by_role("button", name="Accept invitation").click()
    guest.wait_for_url(f"{server.base_url}/m/{meeting_id}")
    expect(guest.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(guest.get_by_role("link", name="Join the meeting")).to_be_visible()
    # Hosts' controls are not there for a guest.
    expect(guest.get_by_role("region", name="Invitations")).to_have_count(0)
    expect(guest.get_by_role("link", name="Edit meeting")).to_have_count(0)

    # The guest's dashboard lists the meeting under invitations, and offers no new meeting.
    guest.get_by_role("navigation", name="Main").get_by_role("link", name="Meetings").click()
    guest.wait_for_url(f"{server.base_url}/dashboard")
    invitations = guest.get_by_role("region", name="Meetings I am invited to")
    expect(invitations.get_by_role("link", name=TITLE)).to_have_attribute(
        "href", f"/m/{meeting_id}"
    )
    expect(guest.get_by_role("link", name="New meeting")).to_have_count(0)
    expect(guest.get_by_role("region", name="Meetings I host")).to_have_count(0)
    expect(guest.get_by_role("link", name="Administration")).to_have_count(0)

    # A guest cannot open the form for a new meeting.
    refused = guest.goto(f"{server.base_url}/meetings/new")
    assert refused is not None and refused.status == 403
    expect(guest.get_by_role("heading", level=1)).to_have_text("That did not work")
    expect(guest.get_by_role("alert")).to_have_text("Guest accounts cannot do this.")
    expect(guest.get_by_role("textbox", name="Title")).to_have_count(0)

    # The host sees the invitation accepted.
    host.goto(f"{server.base_url}/m/{meeting_id}")
    expect(row.get_by_role("cell", name="accepted", exact=True)).to_be_visible()
    expect(row.get_by_role("cell").first).to_have_text(f"{GUEST_NAME} ({GUEST_EMAIL})")

    # The link works once: a third person opening it is told so.
    third = new_person().new_page()
    used = third.goto(link)
    assert used is not None and used.status == 409
    expect(third.get_by_role("heading", level=1)).to_have_text("That did not work")
    expect(third.get_by_role("alert")).to_have_text(
        "This invitation link has been used already. Sign in instead."
    )
    expect(third.get_by_role("button", name="Accept invitation")).to_have_count(0)
