"""The meeting WebSocket in-process: authorisation, lobby, moderation, chat, bad input."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from pathlib import Path

import pytest
from argon2 import profiles
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from starlette.websockets import WebSocketDisconnect

from conclave.config import load_settings
from conclave.meetings.service import MeetingDraft
from conclave.services import Services, build_services
from conclave.signaling import connection
from conclave.store.records import Meeting as MeetingRecord
from conclave.store.records import User
from tests.conftest import FakeClock
from tests.support.web import make_user
from tests.support.ws import Meeting, invited_guest, running


def _guest(services: Services, host: User, meeting: MeetingRecord) -> User:
    return invited_guest(services, host, meeting.id)


def test_two_members_meet_and_signal(
    room: Meeting, host: User, meeting: MeetingRecord, services: Services
) -> None:
    ivan = services.accounts.by_username("ivan")
    with room.join(host, meeting.id) as h:
        session = h.until("session")
        assert session["ice_servers"] == [] and session["e2ee_required"] is True
        welcome = h.until("welcome")
        assert welcome["host"] is True and welcome["participants"] == []
        with room.join(ivan, meeting.id) as i:
            mine = i.until("welcome")
            assert [x["name"] for x in mine["participants"]] == ["Hannah"]
            joined = h.until("participant_joined")["participant"]
            assert joined["uid"] == mine["uid"] and len(joined.pop("uid")) == 16
            assert joined == {
                "pid": mine["you"],
                "name": "Ivan",
                "role": "member",
                "host": False,
                "mic": False,
                "cam": False,
                "screen": False,
                "hand": False,
                "hand_order": 0,
            }
            i.send({"type": "signal", "to": welcome["you"], "payload": {"sdp": "v=0"}})
            relayed = h.until("signal")
            assert relayed == {"type": "signal", "from": mine["you"], "payload": {"sdp": "v=0"}}
            i.send({"type": "chat", "text": "hello everyone"})
            for peer in (h, i):
                chat = peer.until("chat")
                assert chat["text"] == "hello everyone" and chat["name"] == "Ivan"
            i.send({"type": "leave"})
            assert i.closed_with() == 1000
        left = h.until("participant_left")
        assert left["reason"] == "left"


@pytest.mark.parametrize(
    ("who", "code", "error"),
    [("stranger", 4003, "not_invited"), ("admin", 4003, "not_invited")],
)
def test_people_who_are_not_invited_are_refused(
    room: Meeting, meeting: MeetingRecord, services: Services, who: str, code: int, error: str
) -> None:
    user = make_user(services, who, "admin" if who == "admin" else "member")
    with room.join(user, meeting.id) as peer:
        assert peer.until("error")["code"] == error
        assert peer.closed_with() == code


def test_unknown_meeting(room: Meeting, host: User) -> None:
    with room.join(host, "A" * 24) as peer:
        assert peer.until("error")["code"] == "not_found"
        assert peer.closed_with() == 4004


def test_no_session(room: Meeting, meeting: MeetingRecord, host: User) -> None:
    with room.connect(host, meeting.id, token="x" * 43) as peer:
        assert peer.closed_with() == 4001


def test_cross_origin_upgrade_is_refused(room: Meeting, meeting: MeetingRecord, host: User) -> None:
    with (
        pytest.raises(WebSocketDisconnect),
        room.connect(host, meeting.id, origin="https://evil.example") as peer,
    ):
        peer.receive()


def test_wrong_meeting_password(room: Meeting, host: User, services: Services) -> None:
    record = services.meetings.create(
        host, MeetingDraft("Locked", None, None, "off", "open sesame")
    )
    ivan = make_user(services, "ivan")
    services.invitations.invite_member(host, record.id, "ivan")
    with room.join(ivan, record.id, password="guess") as peer:
        assert peer.until("error")["code"] == "wrong_password"
        assert peer.closed_with() == 4003
    with room.join(ivan, record.id) as peer:
        assert peer.until("error")["code"] == "wrong_password"
    with room.join(ivan, record.id, password="open sesame") as peer:
        assert peer.until("welcome")["you"]


def test_lobby_admit_and_deny(
    room: Meeting, host: User, meeting: MeetingRecord, services: Services
) -> None:
    gina = _guest(services, host, meeting)
    with room.join(host, meeting.id) as h:
        h.until("welcome")
        with room.join(gina, meeting.id) as g:
            assert g.until("lobby")
            waiting = h.until("lobby_waiting", where=lambda m: bool(m["entries"]))["entries"]
            assert [e["name"] for e in waiting] == ["Gina"]
            h.send({"type": "deny", "pid": waiting[0]["pid"]})
            assert g.until("denied")
            assert g.closed_with() == 4012
        with room.join(gina, meeting.id) as g:
            g.until("lobby")
            entry = h.until("lobby_waiting", where=lambda m: bool(m["entries"]))["entries"][0]
            h.send({"type": "admit", "pid": entry["pid"]})
            assert [x["name"] for x in g.until("welcome")["participants"]] == ["Hannah"]


def test_kicked_participant_cannot_come_back_until_invited_again(
    room: Meeting, host: User, meeting: MeetingRecord, services: Services
) -> None:
    ivan = services.accounts.by_username("ivan")
    with room.join(host, meeting.id) as h:
        h.until("welcome")
        with room.join(ivan, meeting.id) as i:
            pid = i.until("welcome")["you"]
            h.send({"type": "kick", "pid": pid})
            assert i.until("kicked")
            assert i.closed_with() == 4010
        assert h.until("participant_left")["reason"] == "kicked"
        with room.join(ivan, meeting.id) as again:
            assert again.until("error")["code"] == "removed"
            assert again.closed_with() == 4003
        services.invitations.invite_member(host, meeting.id, "ivan")
        with room.join(ivan, meeting.id) as back:
            assert back.until("welcome")


def test_a_removed_participant_hears_so_after_the_room_emptied(
    room: Meeting, host: User, meeting: MeetingRecord, services: Services
) -> None:
    """The removal outlives the room: once everyone has left, the removed person is still
    told "removed", not "not invited"."""
    ivan = services.accounts.by_username("ivan")
    with room.join(host, meeting.id) as h:
        h.until("welcome")
        with room.join(ivan, meeting.id) as i:
            pid = i.until("welcome")["you"]
            h.send({"type": "kick", "pid": pid})
            assert i.closed_with() == 4010
        assert h.until("participant_left")["reason"] == "kicked"
        h.send({"type": "leave"})
        h.closed_with()
    with room.join(ivan, meeting.id) as again:
        error = again.until("error")
        assert (error["code"], error["message"]) == (
            "removed",
            "You were removed from this meeting.",
        )
        assert again.closed_with() == 4003


def test_moderation_rights(
    room: Meeting, host: User, meeting: MeetingRecord, services: Services
) -> None:
    ivan = services.accounts.by_username("ivan")
    with room.join(host, meeting.id) as h:
        host_pid = h.until("welcome")["you"]
        with room.join(ivan, meeting.id) as i:
            ivan_pid = i.until("welcome")["you"]
            i.send({"type": "kick", "pid": host_pid})
            assert i.until("error")["code"] == "not_host"
            i.send({"type": "media", "mic": True, "cam": False, "screen": False})
            assert h.until("participant_updated")["participant"]["mic"] is True
            h.send({"type": "mute", "pid": ivan_pid})
            assert i.until("muted")
            h.send({"type": "ask_unmute", "pid": ivan_pid})
            assert i.until("unmute_requested")
            h.send({"type": "lock", "locked": True})
            assert i.until("locked")["locked"] is True
            h.send({"type": "promote", "pid": ivan_pid})
            assert i.until("participant_updated")["participant"]["host"] is True
            h.send({"type": "clear_chat"})
            assert i.until("chat_cleared")
            h.send({"type": "end"})
            assert i.until("ended") and i.closed_with() == 4011
        assert h.closed_with() == 4011


def test_locked_meeting_sends_members_to_the_lobby(
    room: Meeting, host: User, meeting: MeetingRecord, services: Services
) -> None:
    ivan = services.accounts.by_username("ivan")
    with room.join(host, meeting.id) as h:
        h.until("welcome")
        h.send({"type": "lock", "locked": True})
        h.until("locked")
        with room.join(ivan, meeting.id) as i:
            assert i.until("lobby")["reason"]


def test_malformed_messages_get_errors_then_the_connection_closes(
    room: Meeting, host: User, meeting: MeetingRecord, services: Services
) -> None:
    ivan = services.accounts.by_username("ivan")
    with room.join(host, meeting.id) as h:
        h.until("welcome")
        with room.join(ivan, meeting.id) as i:
            i.until("welcome")
            i.socket.send_text("not json")
            assert i.until("error")["code"] == "not_json"
            i.send({"type": "teleport"})
            assert i.until("error")["code"] == "unknown_type"
            i.send({"type": "signal", "to": "nobody", "payload": {}})
            assert i.until("error")["code"] == "unknown_participant"
            i.send({"type": "chat", "text": "x" * 17000})
            assert "at most 16384 characters" in i.until("error")["message"]
            i.socket.send_bytes(b"\x00\x01")
            i.send({"type": "hello", "version": 1})
            assert i.closed_with() == 4000
        # The host is unaffected.
        h.send({"type": "chat", "text": "still here"})
        assert h.until("chat")["text"] == "still here"


def test_oversized_message_closes_with_4008(
    room: Meeting, host: User, meeting: MeetingRecord
) -> None:
    with room.join(host, meeting.id) as h:
        h.until("welcome")
        h.socket.send_text('{"type":"chat","text":"' + "x" * 70_000 + '"}')
        assert h.until("error")["code"] == "too_large"
        assert h.closed_with() == 4008


def test_second_connection_of_the_same_session_replaces_the_first(
    room: Meeting, host: User, meeting: MeetingRecord, services: Services
) -> None:
    token = services.accounts.start_session(host)
    with room.connect(host, meeting.id, token=token) as first:
        first.send({"type": "hello", "version": 1})
        first.until("welcome")
        with room.connect(host, meeting.id, token=token) as second:
            second.send({"type": "hello", "version": 1})
            assert second.until("welcome")["host"] is True
            assert first.closed_with() == 4009


def test_resume_token_skips_the_lobby(
    room: Meeting, host: User, meeting: MeetingRecord, services: Services
) -> None:
    gina = _guest(services, host, meeting)
    session = services.accounts.start_session(gina)  # her browser's cookie
    with room.join(host, meeting.id) as h:
        h.until("welcome")
        with room.join(gina, meeting.id, token=session) as g:
            g.until("lobby")
            h.send(
                {
                    "type": "admit",
                    "pid": h.until("lobby_waiting", where=lambda m: bool(m["entries"]))["entries"][
                        0
                    ]["pid"],
                }
            )
            token = g.until("welcome")["resume"]
        with room.join(gina, meeting.id, token=session, resume=token) as again:
            assert again.until("welcome")
        with room.join(gina, meeting.id, token=session, resume="0" * 45) as forged:
            assert forged.until("lobby")


def test_version_and_hello_checks(room: Meeting, host: User, meeting: MeetingRecord) -> None:
    with room.connect(host, meeting.id) as peer:
        peer.send({"type": "hello", "version": 99})
        assert peer.until("error")["code"] == "unsupported_version"
        assert peer.closed_with() == 4000
    with room.connect(host, meeting.id) as peer:
        peer.send({"type": "chat", "text": "hi"})
        assert peer.until("error")["code"] == "hello_expected"


def test_a_participant_who_vanishes_is_dropped(
    room: Meeting, host: User, meeting: MeetingRecord, services: Services
) -> None:
    ivan = services.accounts.by_username("ivan")
    hub = room.client.app.state.hub
    with room.join(host, meeting.id) as h:
        h.until("welcome")
        hub.idle_seconds = 0.5  # production: 25 s without any message, not even a pong
        with room.join(ivan, meeting.id) as silent:
            silent.until("welcome")
            assert silent.closed_with() == 4013
        assert h.until("participant_left")["reason"] == "disconnected"


def test_identity_keys_are_registered_and_bad_ones_refused(
    room: Meeting, host: User, meeting: MeetingRecord, services: Services
) -> None:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    spki = base64.b64encode(key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo))
    with room.join(host, meeting.id, identity=spki.decode()) as h:
        h.until("welcome")
    assert services.identities.of(host.id) == [spki.decode()]
    wrong_curve = ec.generate_private_key(ec.SECP384R1()).public_key()
    other = wrong_curve.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    for bad in (base64.b64encode(other).decode(), base64.b64encode(b"junk").decode()):
        with room.join(host, meeting.id, identity=bad) as peer:
            assert peer.until("error")["message"] == "The identity key is not valid."
            assert peer.closed_with() == 4000
    assert services.identities.of(host.id) == [spki.decode()]


def test_session_hands_out_short_lived_turn_credentials_of_this_participant(
    tmp_path: Path, clock: FakeClock
) -> None:
    secret = "coturn shared secret"
    settings = load_settings(
        None,
        data_dir=tmp_path / "data",
        media={
            "turn": {"urls": ["turn:10.0.0.5:3478"], "secret": secret, "ttl_seconds": 600},
            "ice_transport_policy": "relay",
        },
    )
    services = build_services(settings, clock, argon2=profiles.CHEAPEST)
    try:
        host = make_user(services, "hannah")
        record = services.meetings.create(host, MeetingDraft("Board", None, None, "off", None))
        with running(services) as room, room.join(host, record.id) as h:
            session = h.until("session")
    finally:
        services.db.dispose()
    assert session["ice_transport_policy"] == "relay"
    (server,) = session["ice_servers"]
    assert server["urls"] == ["turn:10.0.0.5:3478"]
    expiry, pseudonym = server["username"].split(":")
    assert int(expiry) == int(clock.now.timestamp()) + 600
    assert "hannah" not in pseudonym and len(pseudonym) >= 16  # no account name for coturn logs
    expected = hmac.new(secret.encode(), server["username"].encode(), hashlib.sha1).digest()
    assert base64.b64decode(server["credential"]) == expected


def test_sfu_messages_are_refused_outside_sfu_mode_and_before_admission(
    room: Meeting, host: User, meeting: MeetingRecord, services: Services
) -> None:
    """No Janus here: the meeting stays P2P, and SFU requests never reach an SFU."""
    offer = {"type": "sfu_publish", "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"}
    guest = _guest(services, host, meeting)
    with room.join(host, meeting.id) as h:
        assert h.until("welcome")["media_mode"] == "p2p"
        h.send(offer)
        assert h.until("error")["code"] == "not_sfu"
        with room.join(guest, meeting.id) as g:
            g.until("lobby")
            g.send(offer)
            assert g.until("error")["code"] == "not_participant"
        h.send({"type": "sfu_candidate", "target": "elsewhere", "candidate": None})
        assert h.until("error")["code"] == "invalid"
        h.send({"type": "sfu_publish", "sdp": "v=0" + "x" * 70_000})
        assert h.until("error")["code"] in ("invalid", "too_large")


def test_a_busy_listener_still_gets_pings_and_stays(
    room: Meeting,
    host: User,
    meeting: MeetingRecord,
    services: Services,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Pings go out on a schedule, not only when a connection is idle: a participant who
    only listens in a lively room answers pings and says nothing else."""
    monkeypatch.setattr(connection, "PING_SECONDS", 0.05)
    ivan = services.accounts.by_username("ivan")
    with room.join(host, meeting.id) as h, room.join(ivan, meeting.id) as listener:
        h.until("welcome")
        listener.until("welcome")
        # The host keeps the listener's outbox busy for up to 5 s (a ping is due every
        # 0.05 s); bounded by the clock, not by a count that a fast machine finishes first.
        deadline = time.monotonic() + 5
        for step in range(100_000):
            h.send({"type": "hand", "raised": step % 2 == 0})
            if listener.receive()["type"] == "ping":
                break
            if time.monotonic() > deadline:
                raise AssertionError("no ping reached a busy connection within 5 s")
        else:
            raise AssertionError("no ping reached a busy connection")
