"""Creating, editing and deleting meetings through the pages, with bad input."""

from __future__ import annotations

import re

from conclave.meetings.service import MeetingDraft
from conclave.services import Services
from tests.support.web import make_user, signed_in

MEETING_URL = re.compile(r"^/m/([A-Za-z0-9_-]{24})$")


def test_create_edit_delete(services: Services) -> None:
    host = make_user(services, "hannah")
    browser = signed_in(services, host)
    created = browser.post(
        "/meetings",
        {
            "title": "  Quarterly   review ",
            "starts_at": "2026-12-01T10:00",
            "ends_at": "2026-12-01T11:30",
            "tz_offset": "-60",  # the browser is in UTC+1
            "lobby": "everyone",
            "password": "open sesame",
        },
        page="/meetings/new",
    )
    assert created.status_code == 303
    match = MEETING_URL.match(created.headers["location"])
    assert match, created.headers["location"]
    meeting = services.meetings.hosted(host, match.group(1))
    assert meeting.title == "Quarterly review"
    assert (
        meeting.starts_at is not None
        and meeting.starts_at.isoformat() == "2026-12-01T09:00:00+00:00"
    )
    assert meeting.lobby_policy == "everyone"
    assert meeting.password_hash is not None and meeting.password_hash.startswith("$argon2id$")
    page = browser.get(f"/m/{meeting.id}")
    assert "Quarterly review" in page.text and "This meeting has a password." in page.text
    assert "Quarterly review" in browser.get("/dashboard").text

    edited = browser.post(
        f"/m/{meeting.id}/edit",
        {"title": "Renamed", "lobby": "off", "remove_password": "on"},
        page=f"/m/{meeting.id}/edit",
    )
    assert edited.status_code == 303
    changed = services.meetings.hosted(host, meeting.id)
    assert (changed.title, changed.lobby_policy, changed.password_hash) == ("Renamed", "off", None)
    assert changed.starts_at is None

    deleted = browser.post(f"/m/{meeting.id}/delete", page=f"/m/{meeting.id}")
    assert deleted.status_code == 303
    assert browser.get(f"/m/{meeting.id}").status_code == 404


def test_meeting_ids_are_long_and_random(services: Services) -> None:
    from conclave.meetings.service import MeetingDraft

    host = make_user(services, "hannah")
    ids = {
        services.meetings.create(host, MeetingDraft(f"m{i}", None, None, "off", None)).id
        for i in range(50)
    }
    assert len(ids) == 50
    assert all(len(i) == 24 for i in ids)  # 18 random bytes = 144 bits


def test_bad_meeting_input_is_refused_and_nothing_is_written(services: Services) -> None:
    host = make_user(services, "hannah")
    browser = signed_in(services, host)
    cases = [
        ({"title": "", "lobby": "off"}, 400, "Some fields are missing or invalid"),
        ({"title": "   ", "lobby": "off"}, 400, "The title must have 1 to 200 characters."),
        ({"title": "x" * 201, "lobby": "off"}, 400, "The title must have 1 to 200 characters."),
        ({"title": "x" * 500, "lobby": "off"}, 400, "Some fields are missing or invalid"),
        ({"title": "ok", "lobby": "nobody"}, 400, "The lobby setting must be one of"),
        ({"title": "ok", "lobby": "off", "starts_at": "tomorrow"}, 400, "Enter dates as"),
        (
            {
                "title": "ok",
                "lobby": "off",
                "starts_at": "2026-12-01T10:00",
                "ends_at": "2026-12-01T09:00",
            },
            400,
            "The meeting must end after it starts.",
        ),
        (
            {"title": "ok", "lobby": "off", "starts_at": "2026-12-01T10:00", "tz_offset": "99999"},
            400,
            "Enter dates as",
        ),
        ({"title": "ok", "lobby": "off", "password": "p" * 129}, 400, "at most 128 characters"),
    ]
    for data, status, message in cases:
        response = browser.post("/meetings", data, page="/meetings/new")
        assert response.status_code == status, (data, response.text[:300])
        if message:
            assert message in response.text, data
    assert services.meetings.dashboard(host).hosting == []


def test_oversized_request_bodies_are_refused(services: Services) -> None:
    browser = signed_in(services, make_user(services, "hannah"))
    response = browser.post("/meetings", {"title": "x" * 100_000}, page="/meetings/new")
    assert response.status_code == 413


def test_guests_cannot_create_meetings(services: Services) -> None:
    guest = make_user(services, "gina", "guest")
    browser = signed_in(services, guest)
    response = browser.post("/meetings", {"title": "Mine", "lobby": "off"}, page="/dashboard")
    assert response.status_code == 403
    assert "New meeting" not in browser.get("/dashboard").text


def test_scheduled_times_are_written_in_the_browsers_locale(services: Services) -> None:
    """Before the page's script runs (or without it): the request's full locale, in UTC."""
    from datetime import UTC, datetime

    host = make_user(services, "hannah")
    starts = datetime(2026, 12, 7, 14, 30, tzinfo=UTC)
    meeting = services.meetings.create(host, MeetingDraft("Plans", starts, None, "off", None))
    browser = signed_in(services, host)
    for accept_language, written in [
        ("en-GB,en;q=0.8", "7 Dec 2026, 14:30 UTC"),
        ("en-US,en;q=0.8", "Dec 7, 2026, 2:30\u202fPM UTC"),
        ("de-DE,de;q=0.8", "07.12.2026, 14:30 UTC"),
    ]:
        for path in (f"/m/{meeting.id}", "/dashboard"):
            page = browser.get(path, headers={"accept-language": accept_language})
            assert f"data-local>{written}</time>" in page.text, (accept_language, path)
