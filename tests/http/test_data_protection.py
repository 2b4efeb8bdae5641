"""Data protection over HTTP: download and delete one's own data, the admin's export,
removal and audit log view, and what the audit log records."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

from argon2 import profiles
from fastapi.testclient import TestClient

from conclave.config import load_settings
from conclave.meetings.service import MeetingDraft
from conclave.services import Services, build_services
from conclave.store.records import User
from conclave.web.app import create_app
from conclave.web.session import COOKIE
from tests.conftest import FakeClock
from tests.support.dbfile import on_disk, rows_mentioning
from tests.support.web import PASSWORD, Browser, make_user

ADDRESS = "203.0.113.57"


def browser_at(services: Services, address: str = ADDRESS) -> Browser:
    """A browser whose requests come from ``address``."""
    browser = Browser(services)
    browser.client = TestClient(
        create_app(services),
        base_url="https://testserver",
        follow_redirects=False,
        client=(address, 50123),
    )
    return browser


def signed_in_at(services: Services, user: User, address: str = ADDRESS) -> Browser:
    browser = browser_at(services, address)
    assert browser.login(user.username).status_code == 303
    return browser


def _events(services: Services) -> list[tuple[str, int | None, int | None]]:
    entries = services.audit.query(per_page=500).entries
    return [(e.event, e.actor_id, e.subject_id) for e in reversed(entries)]


def test_sign_ins_are_audited_with_the_network_only_and_no_secrets(services: Services) -> None:
    alice = make_user(services, "alice")
    browser = browser_at(services)
    typed = "S3cret-Wrong-Pass-9z"
    assert browser.login("alice", typed).status_code == 401
    assert browser.login("nobody-here", typed).status_code == 401
    assert browser.login("alice").status_code == 303
    assert _events(services) == [
        ("login_failed", None, None),
        ("login_failed", None, None),
        ("login", alice.id, None),
    ]
    entries = services.audit.query().entries
    assert {e.client for e in entries} == {"203.0.113.0/24"}
    assert entries[-1].details == {"reason": "bad_credentials"}
    token = browser.client.cookies[COOKIE]
    for secret in (typed, PASSWORD, ADDRESS, "nobody-here", token):
        assert rows_mentioning(services, [secret]) == [], secret
        assert not on_disk(services, secret), secret


def test_download_my_data(services: Services) -> None:
    alice = make_user(services, "alice")
    make_user(services, "bob")
    browser = signed_in_at(services, alice)
    assert browser.get("/account").status_code == 200
    assert "Download my data" in browser.get("/account").text
    response = browser.post("/account/export", page="/account")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.headers["cache-control"] == "no-store"
    document = response.json()
    assert document["account"]["username"] == "alice"
    assert "bob" not in response.text
    assert browser.get("/account/export").status_code == 405
    forged = browser.client.post("/account/export", data={"csrf_token": "0" * 64})
    assert forged.status_code == 403
    assert Browser(services).client.post("/account/export").status_code in {303, 403}
    [entry] = services.audit.query(event="data_exported").entries
    assert (entry.actor_id, entry.client, entry.details) == (
        alice.id,
        "203.0.113.0/24",
        {"via": "self"},
    )


def test_delete_my_account(services: Services) -> None:
    alice = make_user(services, "alice")
    services.meetings.create(alice, MeetingDraft("Alice's jour fixe", None, None, "off", None))
    browser = signed_in_at(services, alice)
    other_session = signed_in_at(services, alice)
    wrong = browser.post("/account/delete", {"password": "not my password"}, page="/account")
    assert wrong.status_code == 400 and "The password is wrong." in wrong.text
    assert services.accounts.get(alice.id)
    done = browser.post("/account/delete", {"password": PASSWORD}, page="/account")
    assert done.status_code == 303
    assert done.headers["location"] == "/login?notice=account_deleted"
    assert COOKIE in done.headers["set-cookie"] and "Max-Age=0" in done.headers["set-cookie"]
    assert (
        "Your account and the data linked to it were deleted."
        in browser.get(done.headers["location"]).text
    )
    assert other_session.get("/dashboard").status_code == 303  # every session ended
    assert all(u.id != alice.id for u in services.accounts.list_users())
    assert rows_mentioning(services, ["alice", "Alice"]) == []
    [entry] = services.audit.query(event="user_deleted").entries
    assert entry.actor_id is None and entry.details["via"] == "self"


def test_the_last_administrator_cannot_delete_themselves(services: Services) -> None:
    root = make_user(services, "root", "admin")
    browser = signed_in_at(services, root)
    refused = browser.post("/account/delete", {"password": PASSWORD}, page="/account")
    assert refused.status_code == 400 and "last active administrator" in refused.text
    assert services.accounts.get(root.id)


def test_admin_exports_and_removes_any_account(services: Services) -> None:
    root = make_user(services, "root", "admin")
    alice = make_user(services, "alice")
    admin = signed_in_at(services, root)
    page = admin.get("/admin/users").text
    assert f'action="/admin/users/{alice.id}/export"' in page and "/admin/audit" in page
    exported = admin.post(f"/admin/users/{alice.id}/export", page="/admin/users")
    assert exported.status_code == 200 and exported.json()["account"]["username"] == "alice"
    assert admin.post("/admin/users/9999/export", page="/admin/users").status_code == 404
    removed = admin.post(f"/admin/users/{alice.id}/remove", page="/admin/users")
    assert removed.status_code == 303
    assert rows_mentioning(services, ["alice"]) == []
    assert [(e, a, s) for e, a, s in _events(services) if e != "login"] == [
        ("data_exported", root.id, None),  # anonymised: alice is gone
        ("user_deleted", root.id, None),
    ]


def test_members_cannot_use_the_admin_data_pages(services: Services) -> None:
    make_user(services, "root", "admin")
    alice = make_user(services, "alice")
    bob = make_user(services, "bob")
    browser = signed_in_at(services, alice)
    assert browser.get("/admin/audit").status_code == 403
    assert browser.post(f"/admin/users/{bob.id}/export", page="/account").status_code == 403
    assert Browser(services).get("/admin/audit").status_code == 303


def test_admin_changes_and_meeting_deletion_are_audited(services: Services) -> None:
    root = make_user(services, "root", "admin")
    admin = signed_in_at(services, root)
    created = admin.post(
        "/admin/users",
        {"username": "carol", "password": PASSWORD, "display_name": "Carol"},
        page="/admin/users",
    )
    assert created.status_code == 303
    carol = services.accounts.by_username("carol")
    assert admin.post(f"/admin/users/{carol.id}/disable", page="/admin/users").status_code == 303
    assert admin.post(f"/admin/users/{carol.id}/enable", page="/admin/users").status_code == 303
    member = signed_in_at(services, carol)
    new = "a brand new secret phrase"
    changed = member.post("/account/password", {"current": PASSWORD, "new": new}, "/account")
    assert changed.status_code == 303
    meeting = services.meetings.create(carol, MeetingDraft("Tmp", None, None, "off", None))
    assert member.post(f"/m/{meeting.id}/delete", page="/dashboard").status_code == 303
    assert _events(services) == [
        ("login", root.id, None),
        ("user_created", root.id, carol.id),
        ("user_disabled", root.id, carol.id),
        ("user_enabled", root.id, carol.id),
        ("login", carol.id, None),
        ("password_changed", carol.id, None),
        ("meeting_deleted", carol.id, None),
    ]
    for secret in (PASSWORD, new):
        assert rows_mentioning(services, [secret]) == []
    assert [t for t, _row in rows_mentioning(services, ["Tmp"])] == []  # the meeting is gone


def test_a_guest_account_made_by_an_invitation_is_audited(services: Services) -> None:
    host = make_user(services, "hannah")
    meeting = services.meetings.create(host, MeetingDraft("Call", None, None, "off", None))
    link = services.invitations.invite_email(host, meeting.id, "gina@guests.example")
    browser = browser_at(services)
    response = browser.post(
        f"/invite/{link.token}",
        {"display_name": "Gina", "password": PASSWORD},
        page=f"/invite/{link.token}",
    )
    assert response.status_code == 303
    gina = services.accounts.by_username("gina@guests.example")
    [entry] = services.audit.query(event="user_created").entries
    assert (entry.actor_id, entry.details) == (gina.id, {"role": "guest", "via": "invitation"})
    assert "gina" not in json.dumps(entry.details)


def test_audit_log_view_filters_by_event_actor_and_days_with_pages(
    services: Services, clock: FakeClock
) -> None:
    root = make_user(services, "root", "admin")
    alice = make_user(services, "alice")
    for day in range(60):
        services.audit.record("login", actor_id=alice.id, client="198.51.100.7")
        if day == 30:
            services.audit.record(
                "data_exported", actor_id=root.id, client=None, subject_id=alice.id
            )
        clock.advance(days=1)
    admin = signed_in_at(services, root)  # the 62nd entry: root's login today

    def rows(query: str) -> list[tuple[str, str]]:
        page = admin.get(f"/admin/audit?{query}")
        assert page.status_code == 200, page.text
        return re.findall(
            r"<tr>\s*<td[^>]*><time[^>]*>([^<]*)</time></td>\s*<td[^>]*>([^<]*)</td>",
            page.text,
        )

    first = admin.get("/admin/audit").text
    assert "62 entries" in first and "page 1 of 2" in first and 'rel="next"' in first
    assert len(rows("")) == 50 and len(rows("page=2")) == 12
    assert (
        'href="/admin/audit?event=login&amp;page=2"' in admin.get("/admin/audit?event=login").text
    )
    assert [label for _t, label in rows("event=data_exported")] == ["Personal data exported"]
    exported = admin.get("/admin/audit?event=data_exported").text
    assert "alice" in exported and "root" in exported  # actor and subject by name
    assert (
        len(rows("actor=alice")) == 50
        and "60 entries" in admin.get("/admin/audit?actor=alice").text
    )
    assert len(rows("actor=root")) == 2
    start = (clock.now - timedelta(days=60)).date()
    window = rows(f"since={start + timedelta(days=10)}&until={start + timedelta(days=19)}")
    assert len(window) == 10  # days 10 to 19, both included
    bad = admin.get("/admin/audit?since=yesterday")
    assert bad.status_code == 400 and "since: enter a date as YYYY-MM-DD." in bad.text
    unknown = admin.get("/admin/audit?actor=nobody")
    assert unknown.status_code == 400 and "No such user." in unknown.text
    assert "198.51.100.0/24" in first and "198.51.100.7" not in first
    german = admin.get("/admin/audit?event=data_exported", headers={"accept-language": "de"}).text
    assert "Personenbezogene Daten exportiert" in german and "Audit-Protokoll" in german


def test_the_privacy_notice_states_the_retention_periods(tmp_path: Path, clock: FakeClock) -> None:
    default = Browser(_built(tmp_path / "a", clock)).get("/privacy").text
    assert "at most 30 days after it has ended" in default
    assert "1 day after the last meeting you are invited to has ended" in default
    assert "90 days" in default and "download everything this server stores about you" in default
    zero = _built(tmp_path / "b", clock, meeting_days=0, guest_days=0)
    text = Browser(zero).get("/privacy").text
    assert "at the latest when it has ended" in text
    assert "Deleted when the last meeting you are invited to has ended" in text
    german = Browser(zero).get("/privacy", headers={"accept-language": "de"}).text
    assert "Audit-Protokoll" in german


def _built(data: Path, clock: FakeClock, **retention: int) -> Services:
    settings = load_settings(None, data_dir=data, retention=retention)
    return build_services(settings, clock, argon2=profiles.CHEAPEST)
