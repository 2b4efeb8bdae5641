"""What a client may put in hello, and the socket a page opens before its user joins."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import pytest
from argon2 import profiles

from conclave.config import load_settings
from conclave.meetings.service import MeetingDraft
from conclave.services import Services, build_services
from conclave.signaling import hub
from conclave.store.records import Meeting as MeetingRecord
from conclave.store.records import User
from tests.conftest import FakeClock
from tests.support.web import make_user
from tests.support.ws import Meeting, running

SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"


def test_the_offer_in_hello_reaches_the_host_ahead_of_the_news(
    room: Meeting, host: User, meeting: MeetingRecord, services: Services
) -> None:
    ivan = services.accounts.by_username("ivan")
    with room.join(host, meeting.id) as h:
        h_pid = h.until("welcome")["you"]
        hello = {"media": {"mic": True, "cam": True}, "offer": {"type": "offer", "sdp": SDP}}
        with room.join(ivan, meeting.id, **hello) as i:
            welcome = i.until("welcome")
            assert welcome["offer_to"] == h_pid
            signal = h.receive()
            assert signal == {
                "type": "signal",
                "from": welcome["you"],
                "payload": {"description": {"type": "offer", "sdp": SDP}},
            }
            joined = h.receive()
            assert joined["type"] == "participant_joined"
            assert joined["participant"]["mic"] is True and joined["participant"]["cam"] is True


def test_the_offer_in_hello_is_dropped_when_ice_servers_are_configured(
    tmp_path: Path, clock: FakeClock
) -> None:
    """The page prepares its connection without ICE servers; with some configured, that
    offer would not work: the server drops it and the client offers anew after welcome."""
    settings = load_settings(
        None, data_dir=tmp_path / "data", media={"ice_servers": [{"urls": ["stun:10.0.0.5"]}]}
    )
    services = build_services(settings, clock, argon2=profiles.CHEAPEST)
    try:
        host = make_user(services, "hannah")
        ivan = make_user(services, "ivan")
        record = services.meetings.create(host, MeetingDraft("Board", None, None, "off", None))
        services.invitations.invite_member(host, record.id, "ivan")
        with running(services) as room, room.join(host, record.id) as h:
            h.until("welcome")
            offer = {"type": "offer", "sdp": SDP}
            with room.join(ivan, record.id, offer=offer) as i:
                assert i.until("welcome")["offer_to"] is None
                assert h.receive()["type"] == "participant_joined"  # no signal before it
                i.send({"type": "media", "mic": True, "cam": False, "screen": False})
                assert h.receive()["type"] == "participant_updated"  # nor after it
    finally:
        services.db.dispose()


def test_a_socket_may_wait_for_hello_but_a_session_keeps_only_a_few_waiting(
    room: Meeting, host: User, meeting: MeetingRecord, services: Services
) -> None:
    token = services.accounts.start_session(host)
    with ExitStack() as waiting:
        for _ in range(hub.MAX_WAITING_PER_SESSION):
            waiting.enter_context(room.connect(host, meeting.id, token=token))
        with room.connect(host, meeting.id, token=token) as one_too_many:
            assert one_too_many.until("error")["code"] == "rate_limited"
            assert one_too_many.closed_with() == 4029
    with room.connect(host, meeting.id, token=token) as later:  # the others are gone
        later.send({"type": "hello", "version": 1})
        assert later.until("welcome")["host"] is True


def test_the_server_keeps_only_so_many_sockets_waiting_in_all(
    room: Meeting,
    host: User,
    meeting: MeetingRecord,
    services: Services,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(hub, "MAX_WAITING", 2)
    ivan = services.accounts.by_username("ivan")
    with (
        room.connect(host, meeting.id),
        room.connect(ivan, meeting.id),
        room.connect(ivan, meeting.id) as third,  # another session of Ivan's
    ):
        assert third.until("error")["code"] == "rate_limited"
        assert third.closed_with() == 4029


def test_a_late_hello_is_refused_once_the_user_signed_out(
    room: Meeting,
    host: User,
    meeting: MeetingRecord,
    services: Services,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The session was checked at the upgrade; a hello that comes later (the user waited on
    the pre-join screen) is checked again."""
    monkeypatch.setattr(hub, "SESSION_FRESH_SECONDS", 0.0)
    token = services.accounts.start_session(host)
    with room.connect(host, meeting.id, token=token) as still_signed_in:
        still_signed_in.send({"type": "hello", "version": 1})
        assert still_signed_in.until("welcome")["host"] is True
    with room.connect(host, meeting.id, token=token) as peer:
        services.accounts.end_session(token)  # signs out in another tab
        peer.send({"type": "hello", "version": 1})
        assert peer.until("error")["code"] == "not_authenticated"
        assert peer.closed_with() == 4001
