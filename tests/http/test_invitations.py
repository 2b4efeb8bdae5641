"""Invitations: members see them, external guests accept a personal single-use link."""

from __future__ import annotations

import re

import pytest

from conclave.meetings.service import MeetingDraft
from conclave.services import Services
from conclave.store.records import Meeting, User
from tests.conftest import FakeClock
from tests.support.web import PASSWORD, Browser, make_user, signed_in

LINK = re.compile(r"https://[^<\s\"]+/invite/([A-Za-z0-9_-]+)")


@pytest.fixture
def host(services: Services) -> User:
    return make_user(services, "hannah")


@pytest.fixture
def meeting(services: Services, host: User) -> Meeting:
    return services.meetings.create(host, MeetingDraft("Kick-off", None, None, "guests", None))


def _invite_by_mail(services: Services, host: User, meeting: Meeting, email: str) -> str:
    page = signed_in(services, host).post(
        f"/m/{meeting.id}/invitations", {"invitee": email}, page=f"/m/{meeting.id}"
    )
    assert page.status_code == 200, page.text
    match = LINK.search(page.text)
    assert match, "the link is shown when no SMTP server is configured"
    return match.group(1)


def test_member_invitation_appears_on_the_dashboard(
    services: Services, host: User, meeting: Meeting
) -> None:
    ivan = make_user(services, "ivan")
    browser = signed_in(services, ivan)
    assert "Kick-off" not in browser.get("/dashboard").text
    response = signed_in(services, host).post(
        f"/m/{meeting.id}/invitations", {"invitee": "ivan"}, page=f"/m/{meeting.id}"
    )
    assert response.status_code == 303
    assert "Kick-off" in browser.get("/dashboard").text
    shown = browser.get(f"/m/{meeting.id}")
    assert shown.status_code == 200
    assert "no password. Guests wait in the lobby" in " ".join(shown.text.split())


def test_inviting_twice_or_unknown_members_is_a_clear_error(
    services: Services, host: User, meeting: Meeting
) -> None:
    make_user(services, "ivan")
    browser = signed_in(services, host)
    page = f"/m/{meeting.id}"
    assert browser.post(f"{page}/invitations", {"invitee": "ivan"}, page).status_code == 303
    twice = browser.post(f"{page}/invitations", {"invitee": "ivan"}, page)
    assert twice.status_code == 400 and "invited already" in twice.text
    unknown = browser.post(f"{page}/invitations", {"invitee": "nobody"}, page)
    assert unknown.status_code == 400 and "no member with this user name" in unknown.text
    bad_mail = browser.post(f"{page}/invitations", {"invitee": "a@b"}, page)
    assert bad_mail.status_code == 400 and "valid e-mail address" in bad_mail.text
    too_long = browser.post(f"{page}/invitations", {"invitee": "x" * 300}, page)
    assert too_long.status_code == 400


def test_guest_accepts_link_and_can_enter_only_that_meeting(
    services: Services, host: User, meeting: Meeting
) -> None:
    other = services.meetings.create(host, MeetingDraft("Secret", None, None, "off", None))
    token = _invite_by_mail(services, host, meeting, "Gina@Example.org")
    guest = Browser(services)
    form = guest.get(f"/invite/{token}")
    assert form.status_code == 200 and "gina@example.org" in form.text
    accepted = guest.post(
        f"/invite/{token}", {"display_name": "Gina", "password": PASSWORD}, page=f"/invite/{token}"
    )
    assert accepted.status_code == 303
    assert accepted.headers["location"] == f"/m/{meeting.id}"
    assert guest.get(f"/m/{meeting.id}").status_code == 200
    assert guest.get(f"/m/{other.id}").status_code == 404
    assert guest.get("/meetings/new").status_code == 403
    account = services.accounts.by_username("gina@example.org")
    assert account.role == "guest" and account.display_name == "Gina"
    # The guest signs in later with the e-mail address.
    assert Browser(services).login("gina@example.org").status_code == 303


def test_a_second_live_link_for_one_address_is_refused(
    services: Services, host: User, meeting: Meeting, clock: FakeClock
) -> None:
    _invite_by_mail(services, host, meeting, "gina@example.org")
    browser = signed_in(services, host)
    page = f"/m/{meeting.id}"
    again = browser.post(f"{page}/invitations", {"invitee": "Gina@Example.org"}, page)
    assert again.status_code == 400 and "invited already" in again.text
    assert len(services.invitations.for_meeting(host, meeting.id)) == 1
    assert 'data-confirm="Revoke this invitation? Its link stops working."' in again.text
    clock.advance(hours=services.settings.invitations.link_ttl_hours + 1)  # the link expired
    _invite_by_mail(services, host, meeting, "gina@example.org")


def test_an_over_long_display_name_gets_the_form_with_the_rule(
    services: Services, host: User, meeting: Meeting
) -> None:
    token = _invite_by_mail(services, host, meeting, "gina@example.org")
    data = {"display_name": "G" * 300, "password": PASSWORD}
    refused = Browser(services).post(f"/invite/{token}", data, page=f"/invite/{token}")
    assert refused.status_code == 400
    assert "A display name has 1 to 100 printable characters." in refused.text
    assert "Accept invitation" in refused.text
    assert not [u for u in services.accounts.list_users() if u.is_guest]


def test_invitation_link_is_single_use(services: Services, host: User, meeting: Meeting) -> None:
    token = _invite_by_mail(services, host, meeting, "gina@example.org")
    first = Browser(services)
    data = {"display_name": "Gina", "password": PASSWORD}
    assert first.post(f"/invite/{token}", data, page=f"/invite/{token}").status_code == 303
    second = Browser(services)
    used = second.get(f"/invite/{token}")
    assert used.status_code == 409 and 'href="/login"' in used.text  # "Sign in instead": where
    reuse = second.post(f"/invite/{token}", {**data, "display_name": "Mallory"}, page="/login")
    assert reuse.status_code == 409 and "used already" in reuse.text
    assert [u.display_name for u in services.accounts.list_users() if u.is_guest] == ["Gina"]


def test_invitation_link_expires(
    services: Services, host: User, meeting: Meeting, clock: FakeClock
) -> None:
    token = _invite_by_mail(services, host, meeting, "gina@example.org")
    clock.advance(hours=services.settings.invitations.link_ttl_hours + 1)
    guest = Browser(services)
    expired = guest.get(f"/invite/{token}")
    assert expired.status_code == 409 and "expired" in expired.text
    data = {"display_name": "Gina", "password": PASSWORD}
    assert guest.post(f"/invite/{token}", data, page="/login").status_code == 409
    assert not [u for u in services.accounts.list_users() if u.is_guest]


def test_unknown_and_malformed_tokens(services: Services) -> None:
    guest = Browser(services)
    for token in ("x", "A" * 43, "%2e%2e", "a" * 500):
        assert guest.get(f"/invite/{token}").status_code == 404


def test_revoked_invitation_cannot_be_accepted(
    services: Services, host: User, meeting: Meeting
) -> None:
    token = _invite_by_mail(services, host, meeting, "gina@example.org")
    (invitation,) = [inv for inv, _ in services.invitations.for_meeting(host, meeting.id)]
    browser = signed_in(services, host)
    revoked = browser.post(
        f"/m/{meeting.id}/invitations/{invitation.id}/revoke", {}, page=f"/m/{meeting.id}"
    )
    assert revoked.status_code == 303
    assert Browser(services).get(f"/invite/{token}").status_code == 404


def test_weak_password_on_acceptance_leaves_no_account(
    services: Services, host: User, meeting: Meeting
) -> None:
    token = _invite_by_mail(services, host, meeting, "gina@example.org")
    guest = Browser(services)
    weak = guest.post(
        f"/invite/{token}", {"display_name": "Gina", "password": "short"}, page=f"/invite/{token}"
    )
    assert weak.status_code == 400 and "at least 12 characters" in weak.text
    assert not [u for u in services.accounts.list_users() if u.is_guest]
    ok = guest.post(
        f"/invite/{token}", {"display_name": "Gina", "password": PASSWORD}, page=f"/invite/{token}"
    )
    assert ok.status_code == 303


def test_existing_guest_adds_a_second_meeting_with_their_password(
    services: Services, host: User, meeting: Meeting
) -> None:
    second = services.meetings.create(host, MeetingDraft("Follow-up", None, None, "off", None))
    first_token = _invite_by_mail(services, host, meeting, "gina@example.org")
    Browser(services).post(
        f"/invite/{first_token}", {"display_name": "Gina", "password": PASSWORD}, page="/login"
    )
    token = _invite_by_mail(services, host, second, "gina@example.org")
    guest = Browser(services)
    assert "Invited here before with this address?" in guest.get(f"/invite/{token}").text
    wrong = guest.post(
        f"/invite/{token}", {"display_name": "G", "password": "not the right one"}, page="/login"
    )
    assert wrong.status_code == 401
    assert "Wrong password for the existing account." in wrong.text
    right = guest.post(
        f"/invite/{token}", {"display_name": "Gina", "password": PASSWORD}, page="/login"
    )
    assert right.status_code == 303
    assert guest.get(f"/m/{second.id}").status_code == 200
    assert guest.get(f"/m/{meeting.id}").status_code == 200


def test_a_disabled_guest_account_cannot_take_a_new_link(
    services: Services, host: User, meeting: Meeting
) -> None:
    first = _invite_by_mail(services, host, meeting, "gina@example.org")
    gina = services.invitations.accept(first, "Gina", PASSWORD, "unknown").account
    admin = make_user(services, "root", "admin")
    services.accounts.set_disabled(admin, gina.id, True)
    second = services.meetings.create(host, MeetingDraft("Follow-up", None, None, "off", None))
    token = _invite_by_mail(services, host, second, "gina@example.org")
    page = f"/invite/{token}"
    refused = Browser(services).post(page, {"display_name": "Gina", "password": PASSWORD}, page)
    assert refused.status_code == 403 and "This account is disabled." in refused.text
    assert Browser(services).get(page).status_code == 200  # the link is not spent


def test_a_removed_guest_is_told_so_and_can_be_invited_again(
    services: Services, host: User, meeting: Meeting
) -> None:
    token = _invite_by_mail(services, host, meeting, "gina@example.org")
    guest = Browser(services)
    data = {"display_name": "Gina", "password": PASSWORD}
    assert guest.post(f"/invite/{token}", data, page=f"/invite/{token}").status_code == 303
    gina = services.accounts.by_username("gina@example.org")
    services.invitations.remove_from_meeting(meeting.id, gina.id)  # a host's *Remove*
    for path in (f"/m/{meeting.id}", f"/m/{meeting.id}/join"):
        page = guest.get(path)
        assert page.status_code == 403, path
        assert "You were removed from this meeting." in page.text
        assert "Kick-off" not in page.text  # nothing more: not even the title
    again = _invite_by_mail(services, host, meeting, "gina@example.org")
    back = guest.post(f"/invite/{again}", data, page="/login")
    assert back.status_code == 303, back.text
    assert guest.get(f"/m/{meeting.id}").status_code == 200
