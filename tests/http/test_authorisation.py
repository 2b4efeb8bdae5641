"""Who may do what: every meeting and admin endpoint against every kind of caller."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from conclave.meetings.service import MeetingDraft
from conclave.services import Services
from conclave.store.records import Meeting
from tests.support.web import Browser, make_user, signed_in

CALLERS = ("anonymous", "uninvited", "invited", "other_guest", "host", "admin")


@dataclass
class World:
    services: Services
    meeting: Meeting
    invitation_id: int
    browsers: dict[str, Browser]


@pytest.fixture
def world(services: Services) -> World:
    host = make_user(services, "hannah")
    invited = make_user(services, "ivan")
    make_user(services, "uma")
    admin = make_user(services, "root", "admin")
    draft = MeetingDraft("Board meeting", None, None, "guests", None)
    meeting = services.meetings.create(host, draft)
    other = services.meetings.create(host, MeetingDraft("Other", None, None, "off", None))
    invitation = services.invitations.invite_member(host, meeting.id, "ivan")
    link = services.invitations.invite_email(host, other.id, "gina@guests.example")
    services.invitations.accept(link.token, "Gina", "correct horse battery", "unknown")
    browsers = {
        "anonymous": Browser(services),
        "uninvited": signed_in(services, services.accounts.by_username("uma")),
        "invited": signed_in(services, invited),
        "other_guest": signed_in(services, services.accounts.by_username("gina@guests.example")),
        "host": signed_in(services, host),
        "admin": signed_in(services, admin),
    }
    return World(services, meeting, invitation.id, browsers)


# Expected status per caller. 303 = sent to the login page; 404 hides the meeting.
VIEW = {
    "anonymous": 303,
    "uninvited": 404,
    "invited": 200,
    "other_guest": 404,
    "host": 200,
    "admin": 404,
}
HOST_PAGE = {
    "anonymous": 303,
    "uninvited": 404,
    "invited": 403,
    "other_guest": 404,
    "host": 200,
    "admin": 404,
}
HOST_ACTION = {
    "anonymous": 401,
    "uninvited": 404,
    "invited": 403,
    "other_guest": 404,
    "host": 303,
    "admin": 404,
}
MEMBER_PAGE = {
    "anonymous": 303,
    "uninvited": 200,
    "invited": 200,
    "other_guest": 403,
    "host": 200,
    "admin": 200,
}
MEMBER_ACTION = {
    "anonymous": 401,
    "uninvited": 303,
    "invited": 303,
    "other_guest": 403,
    "host": 303,
    "admin": 303,
}
ADMIN_PAGE = {
    "anonymous": 303,
    "uninvited": 403,
    "invited": 403,
    "other_guest": 403,
    "host": 403,
    "admin": 200,
}
ADMIN_ACTION = {
    "anonymous": 401,
    "uninvited": 403,
    "invited": 403,
    "other_guest": 403,
    "host": 403,
    "admin": 303,
}


def _get(world: World, caller: str, path: str) -> int:
    return world.browsers[caller].get(path).status_code


def _post(world: World, caller: str, path: str, data: dict[str, str]) -> int:
    return world.browsers[caller].post(path, data, page="/privacy").status_code


@pytest.mark.parametrize("caller", CALLERS)
def test_meeting_pages(world: World, caller: str) -> None:
    mid = world.meeting.id
    assert _get(world, caller, f"/m/{mid}") == VIEW[caller]
    assert _get(world, caller, f"/m/{mid}/edit") == HOST_PAGE[caller]
    assert _get(world, caller, "/meetings/new") == MEMBER_PAGE[caller]
    assert _get(world, caller, "/dashboard") == (303 if caller == "anonymous" else 200)


@pytest.mark.parametrize("caller", CALLERS)
def test_meeting_actions(world: World, caller: str) -> None:
    mid = world.meeting.id
    edit = {"title": "Renamed", "lobby": "everyone"}
    assert _post(world, caller, f"/m/{mid}/edit", edit) == HOST_ACTION[caller]
    invite = {"invitee": "uma"}
    assert _post(world, caller, f"/m/{mid}/invitations", invite) == HOST_ACTION[caller]
    revoke = f"/m/{mid}/invitations/{world.invitation_id}/revoke"
    assert _post(world, caller, revoke, {}) == HOST_ACTION[caller]
    create = {"title": "Mine", "lobby": "guests"}
    assert _post(world, caller, "/meetings", create) == MEMBER_ACTION[caller]
    assert _post(world, caller, f"/m/{mid}/delete", {}) == HOST_ACTION[caller]
    survived = world.services.meetings.dashboard(world.services.accounts.by_username("hannah"))
    assert (world.meeting.id in {m.id for m in survived.hosting}) == (caller != "host")


@pytest.mark.parametrize("caller", CALLERS)
def test_admin_endpoints(world: World, caller: str) -> None:
    target = world.services.accounts.by_username("uma").id
    assert _get(world, caller, "/admin/users") == ADMIN_PAGE[caller]
    new_user = {"username": "newbie", "password": "another long secret", "role": "member"}
    assert _post(world, caller, "/admin/users", new_user) == ADMIN_ACTION[caller]
    assert _post(world, caller, f"/admin/users/{target}/disable", {}) == ADMIN_ACTION[caller]
    assert _post(world, caller, f"/admin/users/{target}/enable", {}) == ADMIN_ACTION[caller]
    assert _post(world, caller, f"/admin/users/{target}/remove", {}) == ADMIN_ACTION[caller]
    names = {u.username for u in world.services.accounts.list_users()}
    assert ("newbie" in names) == (caller == "admin")
    assert ("uma" in names) == (caller != "admin")


def test_unknown_meeting_ids_are_404_for_everyone(world: World) -> None:
    for path in ("/m/doesnotexist1234567890", "/m/x", "/m/" + "a" * 300, "/m/%00%00"):
        assert world.browsers["host"].get(path).status_code == 404


def test_admin_cannot_remove_or_disable_the_last_admin(world: World) -> None:
    admin = world.services.accounts.by_username("root")
    browser = world.browsers["admin"]
    assert _post(world, "admin", f"/admin/users/{admin.id}/remove", {}) == 409
    assert _post(world, "admin", f"/admin/users/{admin.id}/disable", {}) == 409
    assert browser.get("/admin/users").status_code == 200


def test_unknown_user_ids_and_actions(world: World) -> None:
    assert _post(world, "admin", "/admin/users/999999/remove", {}) == 404
    assert _post(world, "admin", "/admin/users/1/explode", {}) == 400
    assert _post(world, "admin", "/admin/users/notanumber/remove", {}) == 400
