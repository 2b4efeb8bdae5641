"""The meeting WebSocket and the end of things: the lobby a resume may not skip, sessions
that end (logout, a disabled account, a password change), meetings that were ended."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from conclave.meetings.service import MeetingDraft
from conclave.services import Services
from conclave.signaling import connection
from conclave.store.records import Meeting as MeetingRecord
from conclave.store.records import User
from conclave.web.session import COOKIE
from tests.support.web import PASSWORD, Browser
from tests.support.ws import Meeting, Peer, invited_guest, running

SECRET = "meeting secret 123"


def _wait_until(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not come true in time")
        time.sleep(0.01)


def _admit_first(host: Peer) -> None:
    waiting = host.until("lobby_waiting", where=lambda m: bool(m["entries"]))["entries"]
    host.send({"type": "admit", "pid": waiting[0]["pid"]})


def _next_ping(peer: Peer) -> dict[str, Any]:
    return peer.until("ping", limit=200)


# -- the lobby (issue 13, item 1) ---------------------------------------------------------


@pytest.mark.parametrize("denied", [False, True], ids=["waiting", "denied"])
def test_a_guest_in_the_lobby_is_given_no_resume_token_and_cannot_resume_past_it(
    room: Meeting,
    host: User,
    meeting: MeetingRecord,
    services: Services,
    monkeypatch: pytest.MonkeyPatch,
    denied: bool,
) -> None:
    monkeypatch.setattr(connection, "PING_SECONDS", 0.05)
    gina = invited_guest(services, host, meeting.id)
    session = services.accounts.start_session(gina)
    with room.join(host, meeting.id) as h:
        h.until("welcome")
        with room.join(gina, meeting.id, token=session) as g:
            g.until("lobby")
            carried = _next_ping(g).get("resume")
            assert carried is None
            if denied:
                waiting = h.until("lobby_waiting", where=lambda m: bool(m["entries"]))["entries"]
                h.send({"type": "deny", "pid": waiting[0]["pid"]})
                assert g.closed_with() == 4012
        # Whatever the lobby's pings carried, coming back with it is not a way in.
        with room.join(gina, meeting.id, token=session, resume=carried) as again:
            assert again.until("lobby")
            assert not any(m["type"] == "welcome" for m in again.seen)


def test_an_admitted_guest_resumes_past_the_lobby_with_her_own_session_only(
    room: Meeting, host: User, meeting: MeetingRecord, services: Services
) -> None:
    gina = invited_guest(services, host, meeting.id)
    session = services.accounts.start_session(gina)
    with room.join(host, meeting.id) as h:
        h.until("welcome")
        with room.join(gina, meeting.id, token=session) as g:
            g.until("lobby")
            _admit_first(h)
            token = g.until("welcome")["resume"]
        with room.join(gina, meeting.id, token=session, resume=token) as again:
            assert again.until("welcome")
        other_session = services.accounts.start_session(gina)
        with room.join(gina, meeting.id, token=other_session, resume=token) as elsewhere:
            assert elsewhere.until("lobby")


def test_a_token_from_an_earlier_stay_does_not_skip_a_later_denial(
    room: Meeting, host: User, meeting: MeetingRecord, services: Services
) -> None:
    """Admitted once, she keeps that stay's token, leaves, knocks again and is denied (or
    still waits): the old token does not bring her in past that decision."""
    gina = invited_guest(services, host, meeting.id)
    session = services.accounts.start_session(gina)
    with room.join(host, meeting.id) as h:
        h.until("welcome")
        with room.join(gina, meeting.id, token=session) as g:
            g.until("lobby")
            _admit_first(h)
            kept = g.until("welcome")["resume"]
            g.send({"type": "leave"})
        h.until("participant_left")
        with room.join(gina, meeting.id, token=session) as waiting:
            waiting.until("lobby")
            with room.join(gina, meeting.id, token=session, resume=kept) as second:
                assert second.until("lobby")  # a decision not made yet is not skipped
            entries = h.until("lobby_waiting", where=lambda m: bool(m["entries"]))["entries"]
            h.send({"type": "deny", "pid": entries[-1]["pid"]})
        with room.join(gina, meeting.id, token=session, resume=kept) as again:
            assert again.until("lobby")  # nor one made against her


# -- sessions that end (item 2) -----------------------------------------------------------


def _browser_of(room: Meeting, services: Services, user: User) -> tuple[Browser, str]:
    """A browser on the running app, signed in as ``user``; its session cookie."""
    browser = Browser(services, client=room.client)
    assert browser.login(user.username).status_code == 303
    return browser, browser.client.cookies[COOKIE]


def test_signing_out_closes_the_meeting_connection_of_that_session(
    room: Meeting, host: User, meeting: MeetingRecord, services: Services
) -> None:
    ivan = services.accounts.by_username("ivan")
    browser, session = _browser_of(room, services, ivan)
    phone = services.accounts.start_session(ivan)  # another device of his stays
    with room.join(host, meeting.id) as h:
        h.until("welcome")
        with room.join(ivan, meeting.id, token=session) as i:
            i.until("welcome")
            assert browser.post("/logout", page="/dashboard").status_code == 303
            assert i.closed_with() == 4001
            assert h.until("participant_left")["reason"] == "disconnected"
            [signed_out] = services.audit.query(event="logout").entries
            assert signed_out.actor_id == ivan.id
        with room.join(ivan, meeting.id, token=phone) as other_device:
            assert other_device.until("welcome")


def test_a_socket_that_waits_for_hello_while_its_session_ends_stays_out(
    room: Meeting, host: User, meeting: MeetingRecord, services: Services
) -> None:
    """The room page opens its socket on the pre-join screen; the person signs out in
    another tab and clicks Join a moment later: the socket does not enter."""
    ivan = services.accounts.by_username("ivan")
    browser, session = _browser_of(room, services, ivan)
    with room.join(host, meeting.id) as h:
        h.until("welcome")
        with room.connect(ivan, meeting.id, token=session) as i:
            assert browser.post("/logout", page="/dashboard").status_code == 303
            i.send({"type": "hello", "version": 1})
            assert i.until("error")["code"] == "not_authenticated"
            assert i.closed_with() == 4001
        h.send({"type": "hand", "raised": True})
        assert h.until("participant_updated")["participant"]["hand"] is True
        assert not any(m["type"] == "participant_joined" for m in h.seen)


def test_disabling_an_account_closes_its_meeting_connections(
    room: Meeting, host: User, meeting: MeetingRecord, services: Services
) -> None:
    admin = services.accounts.create_user("root", "Root", PASSWORD, "admin")
    ivan = services.accounts.by_username("ivan")
    browser, _ = _browser_of(room, services, admin)
    with room.join(host, meeting.id) as h:
        h.until("welcome")
        with room.join(ivan, meeting.id) as i:
            i.until("welcome")
            answer = browser.post(f"/admin/users/{ivan.id}/disable", page="/admin/users")
            assert answer.status_code == 303
            assert i.closed_with() == 4003
            assert h.until("participant_left")["reason"] == "disconnected"


def test_a_password_change_elsewhere_closes_the_connections_and_voids_resume_tokens(
    room: Meeting, host: User, meeting: MeetingRecord, services: Services
) -> None:
    gina = invited_guest(services, host, meeting.id)
    laptop = services.accounts.start_session(gina)
    browser, _ = _browser_of(room, services, gina)
    with room.join(host, meeting.id) as h:
        h.until("welcome")
        with room.join(gina, meeting.id, token=laptop) as g:
            g.until("lobby")
            _admit_first(h)
            token = g.until("welcome")["resume"]
            new = {"current": PASSWORD, "new": "another horse battery staple"}
            assert browser.post("/account/password", new, page="/account").status_code == 303
            assert g.closed_with() == 4001
        # Signed in afresh with the new password: the old stay's token no longer admits.
        fresh = services.accounts.start_session(gina)
        with room.join(gina, meeting.id, token=fresh, resume=token) as again:
            assert again.until("lobby")


def test_a_session_that_ends_out_of_band_is_closed_by_the_sweep(
    room: Meeting,
    host: User,
    meeting: MeetingRecord,
    services: Services,
) -> None:
    """``conclave user set-password`` runs in another process: the hub notices the ended
    session on its next sweep, not only when a route tells it."""
    ivan = services.accounts.by_username("ivan")
    hub = room.client.app.state.hub
    with room.join(host, meeting.id) as h:
        h.until("welcome")
        with room.join(ivan, meeting.id) as i:
            i.until("welcome")
            services.accounts.set_password(ivan.id, "another horse battery staple")
            room.client.portal.call(hub.sweep_sessions)  # type: ignore[union-attr]
            assert i.closed_with() == 4001
        h.send({"type": "hand", "raised": True})
        assert h.until("participant_updated")["participant"]["hand"] is True


def test_the_sweep_keeps_a_long_meeting_from_idling_out_its_sessions(
    room: Meeting, host: User, meeting: MeetingRecord, services: Services, clock: Any
) -> None:
    """A person in a meeting is active: an hour-long meeting must not end their session
    for idleness (session_idle_minutes) just because the page made no HTTP request."""
    ivan = services.accounts.by_username("ivan")
    session = services.accounts.start_session(ivan)
    hub = room.client.app.state.hub
    idle = services.settings.security.session_idle_minutes
    with room.join(ivan, meeting.id, token=session) as i:
        i.until("welcome")
        for _ in range(3):
            clock.advance(minutes=idle * 0.6)
            room.client.portal.call(hub.sweep_sessions)  # type: ignore[union-attr]
        assert services.accounts.resolve_session(session) is not None
        i.send({"type": "hand", "raised": True})
        assert i.until("participant_updated")["participant"]["hand"] is True


# -- ended meetings (item 6) --------------------------------------------------------------


def test_an_ended_meeting_stays_ended_until_its_host_starts_it_again(
    room: Meeting, host: User, meeting: MeetingRecord, services: Services
) -> None:
    ivan = services.accounts.by_username("ivan")
    with room.join(host, meeting.id) as h, room.join(ivan, meeting.id) as i:
        h.until("welcome")
        i.until("welcome")
        h.send({"type": "end"})
        assert i.until("ended")
        assert i.closed_with() == 4011
        assert h.closed_with() == 4011
    _wait_until(lambda: services.audit.newest("meeting_ended") is not None)
    ended = services.audit.newest("meeting_ended")
    assert ended is not None and ended.actor_id == host.id
    # Everyone is gone and the room is dropped: Join again must not open a new one.
    with room.join(ivan, meeting.id) as again:
        assert again.until("error")["code"] == "ended"
        assert again.closed_with() == 4011
    # A restart does not reopen it either.
    with running(services) as restarted, restarted.join(ivan, meeting.id) as later:
        assert later.until("error")["code"] == "ended"
        assert later.closed_with() == 4011
    # Its host starts it again by joining; then the others can come back.
    with room.join(host, meeting.id) as h:
        assert h.until("welcome")["host"] is True
        with room.join(ivan, meeting.id) as i:
            assert i.until("welcome")


def test_a_join_decided_while_the_meeting_ends_is_refused_as_ended(
    room: Meeting,
    host: User,
    meeting: MeetingRecord,  # invites Ivan to another meeting; he exists
    services: Services,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The access decision takes time (argon2 on the meeting password, or a wait for it):
    if the meeting ends meanwhile, the person it admitted must not open a fresh room."""
    record = services.meetings.create(host, MeetingDraft("Board", None, None, "off", SECRET))
    services.invitations.invite_member(host, record.id, "ivan")
    ivan = services.accounts.by_username("ivan")
    checking, proceed = threading.Event(), threading.Event()
    check = services.access.checks.check

    def held_check(*args: Any, **kwargs: Any) -> bool:
        checking.set()
        proceed.wait(10)
        return check(*args, **kwargs)

    monkeypatch.setattr(services.access.checks, "check", held_check)
    with room.join(host, record.id) as h:
        h.until("welcome")
        with room.join(ivan, record.id, password=SECRET) as i:
            assert checking.wait(10)  # his decision has read the meeting: not ended yet
            h.send({"type": "end"})
            assert h.closed_with() == 4011
            _wait_until(lambda: services.meetings.visible(host, record.id).ended_at is not None)
            proceed.set()
            assert i.until("error")["code"] == "ended"
            assert i.closed_with() == 4011
    assert record.id not in room.client.app.state.hub.rooms


def test_tokens_from_before_the_end_do_not_skip_the_lobby_once_it_starts_again(
    room: Meeting, host: User, meeting: MeetingRecord, services: Services
) -> None:
    gina = invited_guest(services, host, meeting.id)
    session = services.accounts.start_session(gina)
    with room.join(host, meeting.id) as h:
        h.until("welcome")
        with room.join(gina, meeting.id, token=session) as g:
            g.until("lobby")
            _admit_first(h)
            kept = g.until("welcome")["resume"]
            h.send({"type": "end"})
            assert g.closed_with() == 4011
    # A restart: the end is no longer in any server's memory.
    with running(services) as restarted, restarted.join(host, meeting.id) as h:
        assert h.until("welcome")["host"] is True  # started again
        with restarted.join(gina, meeting.id, token=session, resume=kept) as again:
            assert again.until("lobby")


# -- a restart is not news (item 13) -------------------------------------------------------


def test_after_a_restart_the_people_who_come_back_are_not_announced_as_new(
    host: User, meeting: MeetingRecord, services: Services
) -> None:
    ivan = services.accounts.by_username("ivan")
    sessions = {u.id: services.accounts.start_session(u) for u in (host, ivan)}
    with (
        running(services) as before,
        before.join(host, meeting.id, token=sessions[host.id]) as h,
    ):
        host_token = h.until("welcome")["resume"]
        with before.join(ivan, meeting.id, token=sessions[ivan.id]) as i:
            ivan_token = i.until("welcome")["resume"]
            assert h.until("participant_joined")["returning"] is False
    with (
        running(services) as after,
        after.join(host, meeting.id, token=sessions[host.id], resume=host_token) as h,
    ):
        h.until("welcome")
        with after.join(ivan, meeting.id, token=sessions[ivan.id], resume=ivan_token) as i:
            i.until("welcome")
            assert h.until("participant_joined")["returning"] is True
