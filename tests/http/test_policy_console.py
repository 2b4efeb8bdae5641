"""The admin policy console: administrators only, validated, atomic, audited, and in
force at once for every consumer (privacy notice, new meetings, signaling, access,
retention, compliance report)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from conclave.compliance.report import make_report, scan_installed_files
from conclave.meetings.service import MeetingDraft
from conclave.services import Services
from conclave.signaling.protocol import CloseCode
from conclave.store import policy as policy_store
from conclave.store.records import User
from conclave.web.app import create_app
from tests.support.web import Browser, make_user, signed_in
from tests.support.ws import Meeting, running

MEETINGS_FORM = {
    "security.require_e2ee": "on",
    "meetings.allow_guests": "on",
    "meetings.default_lobby": "guests",
    "meetings.max_participants": "50",
}
PRIVACY_FORM = {
    "privacy.controller_name": "",
    "privacy.controller_contact": "",
    "privacy.dpo_contact": "",
}
RETENTION_FORM = {
    "retention.meeting_days": "30",
    "retention.guest_days": "1",
    "retention.account_inactive_days": "730",
    "retention.identity_key_days": "365",
    "retention.audit_days": "90",
}


@pytest.fixture
def admin(services: Services) -> User:
    return make_user(services, "root", "admin")


@pytest.fixture
def console(services: Services, admin: User) -> Browser:
    """The administrator's browser, at a documentation address."""
    browser = Browser(services)
    browser.client = TestClient(
        create_app(services),
        base_url="https://testserver",
        follow_redirects=False,
        client=("203.0.113.57", 50123),
    )
    assert browser.login(admin.username).status_code == 303
    return browser


def _post(browser: Browser, form: str, data: dict[str, str]) -> httpx.Response:
    return browser.post(f"/admin/policy/{form}", data, page="/admin/policy")


def _stored(services: Services) -> dict[str, str]:
    with services.db.transaction("test") as tx:
        return {k: v.value for k, v in policy_store.all_values(tx).items()}


def _changes(services: Services) -> list[dict[str, object]]:
    entries = services.audit.query(event="policy_changed", per_page=100).entries
    return [dict(e.details) | {"actor": e.actor_id} for e in reversed(entries)]


def test_only_administrators_see_and_change_the_policy(
    services: Services, console: Browser
) -> None:
    anonymous = Browser(services).get("/admin/policy")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    member = signed_in(services, make_user(services, "mia"))
    assert member.get("/admin/policy").status_code == 403
    refused = member.post("/admin/policy/privacy", PRIVACY_FORM, page="/dashboard")
    assert refused.status_code == 403
    assert (
        member.post(
            "/admin/policy/reset", {"key": "privacy.controller_name"}, page="/dashboard"
        ).status_code
        == 403
    )
    forged = console.client.post("/admin/policy/privacy", data={"csrf_token": "0" * 64})
    assert forged.status_code == 403
    assert _stored(services) == {}
    page = console.get("/admin/policy")
    assert page.status_code == 200
    for key in (*MEETINGS_FORM, *PRIVACY_FORM, *RETENTION_FORM):
        html_id = "policy-" + key.replace(".", "-").replace("_", "-")
        assert f'name="{key}"' in page.text
        assert f'<label for="{html_id}">' in page.text, key  # every control labelled
    assert 'href="/admin/policy"' in console.get("/admin/users").text


def test_the_controller_shows_in_the_privacy_notice_at_once(
    services: Services, console: Browser, admin: User
) -> None:
    assert "has not yet entered the controller" in Browser(services).get("/privacy").text
    saved = _post(
        console,
        "privacy",
        {
            "privacy.controller_name": "Beispiel GmbH",
            "privacy.controller_contact": "Hauptstraße 1, 12345 Berlin, dsb@beispiel.de",
            "privacy.dpo_contact": "",
        },
    )
    assert saved.status_code == 303
    notice = Browser(services).get("/privacy").text
    assert "Beispiel GmbH" in notice and "Hauptstraße 1, 12345 Berlin" in notice
    assert _changes(services) == [
        {
            "setting": "privacy.controller_name",
            "old": "",
            "new": "Beispiel GmbH",
            "via": "console",
            "actor": admin.id,
        },
        {
            "setting": "privacy.controller_contact",
            "old": "",
            "new": "Hauptstraße 1, 12345 Berlin, dsb@beispiel.de",
            "via": "console",
            "actor": admin.id,
        },
    ]
    [entry] = services.audit.query(event="policy_changed", per_page=1).entries
    assert entry.client == "203.0.113.0/24"  # the network only, as everywhere in the log
    page = console.get("/admin/policy?notice=saved")
    assert "The settings were saved." in page.text
    assert "Set here by root" in page.text


def test_invalid_values_name_the_field_and_change_nothing(
    services: Services, console: Browser
) -> None:
    bad = dict(RETENTION_FORM)
    bad["retention.meeting_days"] = "7"  # valid on its own: must not be written either
    bad["retention.audit_days"] = "0"
    bad["retention.identity_key_days"] = "soon"
    refused = _post(console, "retention", bad)
    assert refused.status_code == 400
    text = refused.text
    assert "retention.audit_days: must be at least 1." in text
    assert "retention.identity_key_days: enter a whole number." in text
    assert 'aria-invalid="true"' in text and 'value="soon"' in text
    assert _stored(services) == {}
    assert _changes(services) == []
    assert services.policy.current().retention.meeting_days == 30
    too_many = dict(MEETINGS_FORM, **{"meetings.max_participants": "501"})
    assert (
        "meetings.max_participants: must be at most 500."
        in _post(console, "meetings", too_many).text
    )
    lobby = dict(MEETINGS_FORM, **{"meetings.default_lobby": "nobody"})
    assert "meetings.default_lobby: choose one of" in _post(console, "meetings", lobby).text
    long_name = dict(PRIVACY_FORM, **{"privacy.controller_name": "x" * 201})
    assert (
        "privacy.controller_name: at most 200 characters."
        in _post(console, "privacy", long_name).text
    )
    assert _stored(services) == {} and _changes(services) == []


def test_german_page_and_error(services: Services, console: Browser) -> None:
    console.client.cookies.set("conclave-lang", "de")
    page = console.get("/admin/policy")
    assert "Datenschutz" in page.text and 'lang="de"' in page.text
    bad = dict(RETENTION_FORM, **{"retention.audit_days": "0"})
    refused = _post(console, "retention", bad).text
    assert "retention.audit_days: mindestens 1" in refused


def test_retention_zero_means_the_end_of_the_meeting(services: Services, console: Browser) -> None:
    zero = dict(RETENTION_FORM, **{"retention.meeting_days": "0", "retention.guest_days": "0"})
    assert _post(console, "retention", zero).status_code == 303
    assert services.retention.current().meeting_days == 0
    assert services.retention.current().guest_days == 0
    notice = Browser(services).get("/privacy").text
    assert "Until the host deletes the meeting, at the latest when it has ended" in notice
    assert "Deleted when the last meeting you are invited to has ended" in notice


def test_reset_returns_to_the_file_value(services: Services, console: Browser, admin: User) -> None:
    changed = dict(RETENTION_FORM, **{"retention.audit_days": "30"})
    assert _post(console, "retention", changed).status_code == 303
    assert _stored(services) == {"retention.audit_days": "30"}
    assert services.retention.current().audit_days == 30
    page = console.get("/admin/policy").text
    assert 'form="reset-policy-retention-audit-days"' in page
    assert 'id="reset-policy-retention-audit-days"' in page
    reset = console.post(
        "/admin/policy/reset", {"key": "retention.audit_days"}, page="/admin/policy"
    )
    assert reset.status_code == 303
    assert _stored(services) == {}
    assert services.retention.current().audit_days == 90
    assert _changes(services)[-1] == {
        "setting": "retention.audit_days",
        "old": "30",
        "new": "90",
        "via": "reset",
        "actor": admin.id,
    }
    unknown = console.post("/admin/policy/reset", {"key": "server.port"}, page="/admin/policy")
    assert unknown.status_code == 404
    # Saving the file's value again stores nothing: the file decides.
    assert _post(console, "retention", RETENTION_FORM).status_code == 303
    assert _stored(services) == {}


def test_a_new_meeting_gets_the_new_lobby_default(services: Services, console: Browser) -> None:
    member = signed_in(services, make_user(services, "mia"))
    assert re.search(r'value="guests"\s+selected', member.get("/meetings/new").text)
    everyone = dict(MEETINGS_FORM, **{"meetings.default_lobby": "everyone"})
    assert _post(console, "meetings", everyone).status_code == 303
    form = member.get("/meetings/new").text
    assert re.search(r'value="everyone"\s+selected', form), form


@pytest.fixture
def room(services: Services) -> Iterator[Meeting]:
    with running(services) as meeting:
        yield meeting


def test_switching_e2ee_off_needs_the_confirmation_and_shows_everywhere(
    services: Services, console: Browser, room: Meeting, admin: User
) -> None:
    off = dict(MEETINGS_FORM)
    del off["security.require_e2ee"]  # an unticked checkbox is not sent
    refused = _post(console, "meetings", off)
    assert refused.status_code == 400
    assert "security.require_e2ee: tick the confirmation" in refused.text
    assert services.policy.current().security.require_e2ee is True and _stored(services) == {}
    report = make_report(services.settings, scan_installed_files(), services=services)
    assert {r.id: r.status for r in report.results}["e2ee-required"] == "pass"

    confirmed = _post(console, "meetings", off | {"confirm_e2ee_off": "on"})
    assert confirmed.status_code == 303
    assert _changes(services) == [
        {
            "setting": "security.require_e2ee",
            "old": "true",
            "new": "false",
            "via": "console",
            "actor": admin.id,
        }
    ]
    meeting = services.meetings.create(admin, MeetingDraft("Jour fixe", None, None, "off", None))
    with room.join(admin, meeting.id) as peer:
        assert peer.until("session")["e2ee_required"] is False
    notice = Browser(services).get("/privacy").text
    assert "switched off the requirement of end-to-end encryption" in notice
    report = make_report(services.settings, scan_installed_files(), services=services)
    assert {r.id: r.status for r in report.results}["e2ee-required"] == "fail"
    assert "End-to-end encryption is not required" in console.get("/admin/policy").text


def test_guest_access_off_refuses_guests(
    services: Services, console: Browser, room: Meeting, admin: User
) -> None:
    meeting = services.meetings.create(admin, MeetingDraft("Review", None, None, "off", None))
    link = services.invitations.invite_email(admin, meeting.id, "gina@example.org")
    guest = services.invitations.accept(
        link.token, "Gina", "correct horse battery", "unknown"
    ).account
    with room.join(guest, meeting.id) as peer:
        assert peer.until("welcome")
    unused = services.invitations.invite_email(admin, meeting.id, "gus@example.org")
    no_guests = dict(MEETINGS_FORM)
    del no_guests["meetings.allow_guests"]
    assert _post(console, "meetings", no_guests).status_code == 303
    page = console.get(f"/m/{meeting.id}").text
    assert "Guest access is switched off on this server." in page
    invited = console.post(
        f"/m/{meeting.id}/invitations", {"invitee": "hugo@example.org"}, page=f"/m/{meeting.id}"
    )
    assert invited.status_code == 400 and "Guest access is switched off" in invited.text
    assert [i.email for i, _ in services.invitations.for_meeting(admin, meeting.id)].count(
        "hugo@example.org"
    ) == 0  # nothing half-made
    opened = Browser(services).get(f"/invite/{unused.token}")
    assert opened.status_code == 409 and "Guest access is switched off" in opened.text
    with room.join(guest, meeting.id) as peer:
        refusal = peer.until("error")
        assert refusal["code"] == "guests_not_allowed"
        assert peer.closed_with() == CloseCode.REFUSED
    with room.join(admin, meeting.id) as peer:  # members still enter
        assert peer.until("welcome")


def test_the_maximum_meeting_size_reaches_the_signaling(
    services: Services, console: Browser, room: Meeting, admin: User
) -> None:
    assert (
        _post(
            console, "meetings", dict(MEETINGS_FORM, **{"meetings.max_participants": "3"})
        ).status_code
        == 303
    )
    hub = room.client.app.state.hub
    assert hub.capacity() == min(3, services.settings.media.mesh_limit)
    meeting = services.meetings.create(admin, MeetingDraft("Small", None, None, "off", None))
    with room.join(admin, meeting.id) as peer:
        assert peer.until("session")["mesh_limit"] == hub.capacity()


def test_the_export_names_the_console_change(
    services: Services, console: Browser, admin: User
) -> None:
    assert (
        _post(
            console, "privacy", dict(PRIVACY_FORM, **{"privacy.controller_name": "Beispiel GmbH"})
        ).status_code
        == 303
    )
    document = json.loads(
        services.data_rights.export_json(admin.id, actor_id=admin.id, client=None, via="self")
    )
    assert "privacy.controller_name" in json.dumps(document["settings_changed"])
    assert document["controller"] == "Beispiel GmbH"


def test_ice_servers_refuse_public_services_and_confirm_foreign_ones(
    services: Services, console: Browser, room: Meeting, admin: User
) -> None:
    key = "media.ice_servers"
    lan = services.meetings.create(admin, MeetingDraft("LAN", None, None, "off", None))
    prepares = 'data-prepare-connection="true"'  # the room page may connect before Join
    assert prepares in console.get(f"/m/{lan.id}/join").text
    public = _post(console, "media", {key: "stun:10.0.0.5:3478\nstun:stun.l.google.com:19302"})
    assert public.status_code == 400
    assert "media.ice_servers: stun:stun.l.google.com:19302 is a public service" in public.text
    confirmed_public = _post(
        console, "media", {key: "stun:stun.l.google.com:19302", "confirm_foreign_ice": "on"}
    )
    assert confirmed_public.status_code == 400  # a public service is never allowed
    not_ice = _post(console, "media", {key: "https://turn.example.org"})
    assert not_ice.status_code == 400 and "media.ice_servers:" in not_ice.text
    foreign = _post(console, "media", {key: "turn:turn.example.net:3478?transport=udp"})
    assert foreign.status_code == 400 and "tick the confirmation" in foreign.text
    assert _stored(services) == {} and _changes(services) == []

    saved = _post(
        console,
        "media",
        {
            key: "stun:10.0.0.5:3478\r\nturn:turn.example.net:3478?transport=udp\n",
            "confirm_foreign_ice": "on",
        },
    )
    assert saved.status_code == 303
    assert [s.urls for s in services.policy.current().media.ice_servers] == [
        ["stun:10.0.0.5:3478"],
        ["turn:turn.example.net:3478?transport=udp"],
    ]
    assert _changes(services)[-1]["new"] == (
        "stun:10.0.0.5:3478 turn:turn.example.net:3478?transport=udp"
    )
    meeting = services.meetings.create(admin, MeetingDraft("Media", None, None, "off", None))
    with room.join(admin, meeting.id) as peer:
        urls = [s["urls"] for s in peer.until("session")["ice_servers"]]
        assert urls == [["stun:10.0.0.5:3478"], ["turn:turn.example.net:3478?transport=udp"]]
    report = make_report(services.settings, scan_installed_files(), services=services)
    assert {r.id: r.status for r in report.results}["ice-servers"] == "warn"
    assert "turn:turn.example.net:3478?transport=udp" in console.get("/admin/policy").text
    assert 'data-prepare-connection="false"' in console.get(f"/m/{lan.id}/join").text
    # A local server alone needs no confirmation; an empty list means none at all.
    assert _post(console, "media", {key: "stun:10.0.0.5:3478"}).status_code == 303
    assert _post(console, "media", {key: ""}).status_code == 303
    assert _stored(services) == {}  # the file's value (none) again
    assert prepares in console.get(f"/m/{lan.id}/join").text
