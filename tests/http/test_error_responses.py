"""Bad input gets a clear 400, never a 500; and every response, a 500 and a refused
WebSocket handshake included, carries the security headers (issue 13, item 8)."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketDenialResponse

from conclave.meetings.service import MeetingDraft
from conclave.services import Services
from conclave.store.records import User
from conclave.web.app import create_app
from tests.support.web import make_user, signed_in

BEYOND_64_BITS = "99999999999999999999999"
ORIGIN = "https://testserver"


def assert_security_headers(headers: httpx.Headers) -> None:
    assert "default-src 'self'" in headers["content-security-policy"]
    assert headers["strict-transport-security"].startswith("max-age=")
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-frame-options"] == "DENY"


def test_a_server_error_is_a_page_with_the_security_headers(services: Services) -> None:
    app = create_app(services)

    def broken() -> None:
        raise RuntimeError("a defect in a route")

    app.add_api_route("/broken", broken)
    client = TestClient(app, base_url=ORIGIN, raise_server_exceptions=False)
    response = client.get("/broken", headers={"accept-language": "de"})
    assert response.status_code == 500
    assert "Auf dem Server ist ein Fehler aufgetreten." in response.text
    assert "a defect in a route" not in response.text and "Traceback" not in response.text
    assert_security_headers(response.headers)


@pytest.mark.parametrize(
    "path",
    ["/ws/meetings/AAAAAAAAAAAAAAAAAAAAAAAA", "/ws/no/such/socket"],
    ids=["meeting", "other"],
)
def test_a_refused_websocket_handshake_carries_the_security_headers(
    services: Services, path: str
) -> None:
    client = TestClient(create_app(services), base_url=ORIGIN)
    with (
        pytest.raises(WebSocketDenialResponse) as refused,
        client.websocket_connect(path, headers={"origin": "https://evil.example"}),
    ):
        pass
    assert refused.value.status_code == 403
    assert_security_headers(refused.value.headers)


@pytest.fixture
def admin(services: Services) -> User:
    return make_user(services, "root", "admin")


@pytest.mark.parametrize("action", ["disable", "enable", "remove", "export"])
def test_a_user_id_beyond_64_bits_is_a_clear_400(
    services: Services, admin: User, action: str
) -> None:
    browser = signed_in(services, admin)
    response = browser.post(f"/admin/users/{BEYOND_64_BITS}/{action}", page="/admin/users")
    assert response.status_code == 400
    assert "Some fields are missing or invalid: user_id." in response.text
    assert_security_headers(response.headers)


def test_an_invitation_id_beyond_64_bits_is_a_clear_400(services: Services, admin: User) -> None:
    meeting = services.meetings.create(admin, MeetingDraft("Plan", None, None, "guests", None))
    browser = signed_in(services, admin)
    response = browser.post(
        f"/m/{meeting.id}/invitations/{BEYOND_64_BITS}/revoke", page=f"/m/{meeting.id}"
    )
    assert response.status_code == 400
    assert "Some fields are missing or invalid: invitation_id." in response.text


@pytest.mark.parametrize(
    "query", ["until=9999-12-31", "since=9999-12-31", "since=0001-01-01", "until=0001-01-01"]
)
def test_audit_dates_out_of_range_are_a_clear_400(
    services: Services, admin: User, query: str
) -> None:
    browser = signed_in(services, admin)
    response = browser.get(f"/admin/audit?{query}")
    assert response.status_code == 400
    assert "Dates must lie between the years 1900 and 9998." in response.text
    assert browser.get("/admin/audit?since=2026-01-01&until=9998-12-31").status_code == 200


@pytest.mark.parametrize(
    ("starts_at", "ends_at", "offset"),
    [
        ("9999-12-31T23:00", "9999-12-31T23:30", "0"),
        ("9999-12-31T23:00", "9999-12-31T23:59", "120"),  # UTC is past the year 9999
        ("0001-01-01T00:00", "0001-01-01T01:00", "-60"),  # UTC is before the year 1
        ("", "9999-12-31T23:30", "0"),
    ],
)
def test_a_meeting_scheduled_out_of_range_is_a_clear_400(
    services: Services, starts_at: str, ends_at: str, offset: str
) -> None:
    host = make_user(services, "hannah")
    browser = signed_in(services, host)
    form = {"title": "Far away", "starts_at": starts_at, "ends_at": ends_at, "tz_offset": offset}
    created = browser.post("/meetings", form, page="/meetings/new")
    assert created.status_code == 400
    assert "Dates must lie between the years 1900 and 9998." in created.text
    assert services.meetings.dashboard(host).hosting == []  # nothing half-written

    meeting = services.meetings.create(host, MeetingDraft("Near", None, None, "guests", None))
    edited = browser.post(f"/m/{meeting.id}/edit", form, page=f"/m/{meeting.id}/edit")
    assert edited.status_code == 400
    assert services.meetings.hosted(host, meeting.id).title == "Near"


def test_inviting_to_a_meeting_at_the_end_of_time_works(services: Services) -> None:
    """A meeting stored before the dates were bounded (year 9999) still takes
    invitations: the link's expiry is the latest time there is, not an overflow."""
    from datetime import UTC, datetime

    host = make_user(services, "hannah")
    make_user(services, "ivan")
    far = datetime(9999, 12, 31, 23, 0, tzinfo=UTC)
    meeting = services.meetings.create(
        host, MeetingDraft("Far away", far.replace(hour=22), far, "guests", None)
    )
    browser = signed_in(services, host)
    member = browser.post(
        f"/m/{meeting.id}/invitations", {"invitee": "ivan"}, page=f"/m/{meeting.id}"
    )
    assert member.status_code == 303
    guest = browser.post(
        f"/m/{meeting.id}/invitations", {"invitee": "gast@example.org"}, page=f"/m/{meeting.id}"
    )
    assert guest.status_code == 200
    (_, first), (_, second) = (
        (invitation.id, invitation.expires_at)
        for invitation, _user in services.invitations.for_meeting(host, meeting.id)
    )
    assert first >= far and second >= far
