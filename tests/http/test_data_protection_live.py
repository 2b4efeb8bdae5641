"""Data protection while meetings run: removals from a meeting are audited; exporting or
deleting the data of someone in a running meeting does not break it for the others; the
purge job runs inside the server and never takes a meeting that is in use."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from conclave.meetings.service import MeetingDraft
from conclave.services import Services
from conclave.store.records import Meeting as MeetingRecord
from conclave.store.records import User
from tests.conftest import FakeClock
from tests.support.web import PASSWORD, Browser, make_user
from tests.support.ws import Meeting, running


@pytest.fixture
def room(services: Services) -> Iterator[Meeting]:
    with running(services) as meeting:
        meeting.client.follow_redirects = False
        yield meeting


def _on(room: Meeting) -> Browser:
    """A browser on the running app (same hub as the WebSockets)."""
    browser = Browser.__new__(Browser)
    browser.client = room.client
    return browser


def _removals(services: Services) -> list[tuple[int | None, int | None, str | int | bool]]:
    for _ in range(500):  # the hub writes the entry from a task: wait for it, bounded
        found = services.audit.query(event="participant_removed").entries
        if found:
            return [(e.actor_id, e.subject_id, e.details["meeting"]) for e in found]
        time.sleep(0.01)
    return []


def test_a_removal_from_a_meeting_is_audited(
    room: Meeting, host: User, meeting: MeetingRecord, services: Services
) -> None:
    ivan = services.accounts.by_username("ivan")
    with room.join(host, meeting.id) as h:
        h.until("welcome")
        with room.join(ivan, meeting.id) as i:
            pid = i.until("welcome")["you"]
            h.send({"type": "kick", "pid": pid})
            assert i.closed_with() == 4010
        assert h.until("participant_left")["reason"] == "kicked"
    assert _removals(services) == [(host.id, ivan.id, meeting.id)]


def test_export_and_deletion_during_a_meeting_leave_it_running(
    room: Meeting, host: User, meeting: MeetingRecord, services: Services
) -> None:
    ivan = services.accounts.by_username("ivan")
    make_user(services, "root", "admin")
    with room.join(host, meeting.id) as h:
        h.until("welcome")
        with room.join(ivan, meeting.id) as i:
            i.until("welcome")
            h.until("participant_joined")
            browser = _on(room)
            assert browser.login("ivan").status_code == 303
            exported = browser.post("/account/export", page="/account")
            assert exported.json()["account"]["username"] == "ivan"
            i.send({"type": "hand", "raised": True})  # ivan is still in the meeting
            assert h.until("participant_updated")["participant"]["hand"] is True
            deleted = browser.post("/account/delete", {"password": PASSWORD}, page="/account")
            assert deleted.status_code == 303
            assert i.closed_with() == 4003
        assert h.until("participant_left")["reason"] == "disconnected"
        h.send({"type": "hand", "raised": True})  # the host's meeting goes on
        assert h.until("participant_updated")["participant"]["hand"] is True
    assert all(u.username != "ivan" for u in services.accounts.list_users())


def test_an_admin_removing_a_participant_closes_only_their_connection(
    room: Meeting, host: User, meeting: MeetingRecord, services: Services
) -> None:
    ivan = services.accounts.by_username("ivan")
    root = make_user(services, "root", "admin")
    with room.join(host, meeting.id) as h:
        h.until("welcome")
        with room.join(ivan, meeting.id) as i:
            i.until("welcome")
            admin = _on(room)
            assert admin.login(root.username).status_code == 303
            removed = admin.post(f"/admin/users/{ivan.id}/remove", page="/admin/users")
            assert removed.status_code == 303
            assert i.closed_with() == 4003
        assert h.until("participant_left")["reason"] == "disconnected"
        h.send({"type": "hand", "raised": True})
        assert h.until("participant_updated")["participant"]["hand"] is True


def test_the_server_purges_in_the_background_and_spares_a_room_in_use(
    services: Services, clock: FakeClock, host: User, meeting: MeetingRecord
) -> None:
    stale = services.meetings.create(host, MeetingDraft("Long ago", None, None, "off", None))
    with running(services) as room:
        purge = room.client.app.state.purge  # type: ignore[attr-defined]
        for _ in range(1000):  # bounded: the job's own first run, shortly after start
            if purge.runs:
                break
            time.sleep(0.01)
        assert purge.runs >= 1
        with room.join(host, meeting.id) as h:
            h.until("welcome")
            assert meeting.id in services.retention.rooms.live
            room.client.portal.call(purge.run_once)  # type: ignore[union-attr]
            clock.advance(days=services.settings.retention.meeting_days + 1)
            report = room.client.portal.call(purge.run_once)  # type: ignore[union-attr]
            assert report is not None and report.counts.meetings == 1
            ids = {m.id for m in services.meetings.dashboard(host).hosting}
            assert meeting.id in ids and stale.id not in ids
        for _ in range(500):  # bounded: until the hub has seen the room empty
            room.client.portal.call(services.retention.rooms.settled)  # type: ignore[union-attr]
            if meeting.id not in services.retention.rooms.live:
                break
            time.sleep(0.01)
        assert meeting.id not in services.retention.rooms.live
    with services.db.engine.connect() as connection:
        marks = connection.exec_driver_sql(
            "SELECT room_open_since, room_closed_at FROM meetings WHERE id = ?", (meeting.id,)
        ).one()
    assert marks[0] is None and marks[1] is not None
    assert services.retention.last_purge() is not None


def test_rooms_a_crash_left_open_are_closed_when_the_server_starts(
    services: Services, meeting: MeetingRecord
) -> None:
    services.retention.rooms.opened(meeting.id)  # no event loop: written at once
    with services.db.engine.connect() as connection:
        marks = "SELECT room_open_since, room_closed_at FROM meetings WHERE id = ?"
        assert connection.exec_driver_sql(marks, (meeting.id,)).one()[0] is not None
    services.retention.rooms.live.clear()  # what a new process knows: nothing
    with running(services), services.db.engine.connect() as connection:
        since, closed = connection.exec_driver_sql(marks, (meeting.id,)).one()
    assert since is None and closed is not None
