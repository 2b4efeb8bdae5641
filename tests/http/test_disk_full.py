"""A full disk: every write that needs space is a clear 503 page, in the user's language,
with the security headers; nothing is half-written, and /healthz says so (issue 13,
items 8 and 9).

The disk is made full for real, as SQLite sees it (``tests/support/diskfull.py``)."""

from __future__ import annotations

import pytest

from conclave.meetings.service import MeetingDraft
from conclave.services import Services
from conclave.store.records import User
from tests.support.diskfull import cap_database, fill
from tests.support.web import PASSWORD, Browser, make_user, signed_in


@pytest.fixture
def host(services: Services) -> User:
    return make_user(services, "hannah", "admin")


def test_writes_on_a_full_disk_are_a_clear_503_and_nothing_is_half_written(
    services: Services, host: User
) -> None:
    browser = signed_in(services, host)
    browser.client.cookies.set("conclave-lang", "de")
    assert browser.get("/healthz").json()["storage"] == "ok"
    cap_database(services)
    fill(
        lambda n: services.meetings.create(
            host, MeetingDraft(f"Filler {n}", None, None, "off", None)
        )
    )
    fill(lambda n: services.accounts.create_user(f"filler{n}", f"Filler {n}", PASSWORD, "member"))
    meetings = len(services.meetings.dashboard(host).hosting)
    accounts = len(services.accounts.list_users())
    audit_rows = services.audit.query(page=1).total

    created = browser.post("/meetings", {"title": "One more"}, page="/meetings/new")
    assert created.status_code == 503
    assert "Der Server kann gerade nichts speichern" in created.text
    assert 'lang="de"' in created.text and "Traceback" not in created.text
    assert "default-src 'self'" in created.headers["content-security-policy"]
    assert created.headers["retry-after"].isdigit()
    assert len(services.meetings.dashboard(host).hosting) == meetings

    user = browser.post(
        "/admin/users",
        {"username": "newcomer", "password": PASSWORD, "display_name": "New"},
        page="/admin/users",
    )
    assert user.status_code == 503
    assert len(services.accounts.list_users()) == accounts
    assert services.audit.query(page=1).total == audit_rows

    health = Browser(services).get("/healthz")
    assert health.status_code == 503
    assert health.json()["status"] == "failing" and health.json()["storage"] == "full"


def test_english_by_default(services: Services, host: User) -> None:
    browser = signed_in(services, host)
    cap_database(services)
    fill(
        lambda n: services.meetings.create(
            host, MeetingDraft(f"Filler {n}", None, None, "off", None)
        )
    )
    created = browser.post("/meetings", {"title": "One more"}, page="/meetings/new")
    assert created.status_code == 503
    assert "The server cannot save anything right now" in created.text
