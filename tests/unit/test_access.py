"""The access decision: admit, lobby or refuse, with a reason, for every case."""

from __future__ import annotations

from pathlib import Path

import pytest
from argon2 import profiles

from conclave.config import ConfigError, load_settings
from conclave.errors import NotAuthorised, NotFound, RateLimited
from conclave.meetings.service import MeetingDraft
from conclave.services import Services, build_services
from conclave.store.records import Meeting, User
from tests.conftest import FakeClock
from tests.support.web import make_user


@pytest.fixture
def host(services: Services) -> User:
    return make_user(services, "hannah")


def _meeting(
    services: Services, host: User, lobby: str = "guests", password: str | None = None
) -> Meeting:
    return services.meetings.create(host, MeetingDraft("Daily", None, None, lobby, password))


def _decide(
    services: Services, user: User, meeting: Meeting, password: str | None = None, **kw: object
) -> tuple[str, str]:
    decision = services.access.decide(user.id, meeting.id, password, **kw)  # type: ignore[arg-type]
    return decision.outcome, decision.reason


def test_host_is_admitted_even_when_locked_and_without_password(
    services: Services, host: User
) -> None:
    meeting = _meeting(services, host, "everyone", "secret")
    assert _decide(services, host, meeting, locked=True) == ("admit", "host")


def test_not_invited_is_refused(services: Services, host: User) -> None:
    stranger = make_user(services, "sam")
    admin = make_user(services, "root", "admin")
    meeting = _meeting(services, host)
    assert _decide(services, stranger, meeting) == ("refuse", "not_invited")
    assert _decide(services, admin, meeting) == ("refuse", "not_invited")


@pytest.mark.parametrize(
    ("lobby", "role", "expected"),
    [
        ("off", "member", ("admit", "invited")),
        ("off", "guest", ("admit", "invited")),
        ("guests", "member", ("admit", "invited")),
        ("guests", "guest", ("lobby", "lobby_policy")),
        ("everyone", "member", ("lobby", "lobby_policy")),
        ("everyone", "guest", ("lobby", "lobby_policy")),
    ],
)
def test_lobby_policy(
    services: Services, host: User, lobby: str, role: str, expected: tuple[str, str]
) -> None:
    meeting = _meeting(services, host, lobby)
    if role == "guest":
        link = services.invitations.invite_email(host, meeting.id, "gina@example.org")
        person = services.invitations.accept(
            link.token, "Gina", "correct horse battery", "unknown"
        ).account
    else:
        person = make_user(services, "ivan")
        services.invitations.invite_member(host, meeting.id, "ivan")
    assert _decide(services, person, meeting) == expected


def test_locked_meeting_sends_invited_people_to_the_lobby(services: Services, host: User) -> None:
    meeting = _meeting(services, host, "off")
    ivan = make_user(services, "ivan")
    services.invitations.invite_member(host, meeting.id, "ivan")
    assert _decide(services, ivan, meeting, locked=True) == ("lobby", "meeting_locked")


def test_meeting_password(services: Services, host: User) -> None:
    meeting = _meeting(services, host, "off", "open sesame")
    ivan = make_user(services, "ivan")
    services.invitations.invite_member(host, meeting.id, "ivan")
    assert _decide(services, ivan, meeting, None) == ("refuse", "wrong_password")
    assert _decide(services, ivan, meeting, "wrong") == ("refuse", "wrong_password")
    assert _decide(services, ivan, meeting, "open sesame") == ("admit", "invited")


OFFICE = "127.0.1.0/24"
HOME = "127.0.2.0/24"


def _invited(services: Services, host: User, meetings: list[Meeting], name: str) -> User:
    person = make_user(services, name)
    for meeting in meetings:
        services.invitations.invite_member(host, meeting.id, name)
    return person


def test_wrong_meeting_passwords_are_throttled(
    services: Services, host: User, clock: FakeClock
) -> None:
    meeting = _meeting(services, host, "off", "open sesame")
    ivan = _invited(services, host, [meeting], "ivan")
    for _ in range(services.settings.security.meeting_password_max_failures):
        assert _decide(services, ivan, meeting, "guess", client=OFFICE) == (
            "refuse",
            "wrong_password",
        )
    for network in (OFFICE, HOME):  # the person is locked out of this meeting anywhere
        with pytest.raises(RateLimited) as caught:
            _decide(services, ivan, meeting, "open sesame", client=network)
        assert caught.value.retry_after > 0
    clock.advance(minutes=services.settings.security.login_window_minutes, seconds=1)
    assert _decide(services, ivan, meeting, "open sesame", client=OFFICE) == ("admit", "invited")


def test_wrong_meeting_passwords_lock_neither_other_meetings_nor_colleagues(
    services: Services, host: User
) -> None:
    guessed = _meeting(services, host, "off", "open sesame")
    other = _meeting(services, host, "off", "other words")
    ivan = _invited(services, host, [guessed, other], "ivan")
    olga = _invited(services, host, [guessed, other], "olga")
    for _ in range(services.settings.security.meeting_password_max_failures):
        _decide(services, ivan, guessed, "guess", client=OFFICE)
    assert _decide(services, ivan, other, "other words", client=OFFICE) == ("admit", "invited")
    assert _decide(services, olga, guessed, "open sesame", client=OFFICE) == ("admit", "invited")


def test_guesses_at_one_meeting_from_one_network_stop_at_the_network_limit(
    tmp_path: Path, clock: FakeClock
) -> None:
    settings = load_settings(
        None,
        data_dir=tmp_path / "data",
        security={"meeting_password_max_failures": 2, "meeting_password_network_max_failures": 5},
    )
    services = build_services(settings, clock, argon2=profiles.CHEAPEST)
    try:
        host = make_user(services, "hannah")
        guessed = _meeting(services, host, "off", "open sesame")
        other = _meeting(services, host, "off", "other words")
        people = [_invited(services, host, [guessed, other], f"user{i}") for i in range(4)]
        for person in people[:2]:
            for _ in range(2):
                _decide(services, person, guessed, "guess", client=OFFICE)
        _decide(services, people[2], guessed, "guess", client=OFFICE)  # five in all
        with pytest.raises(RateLimited):
            _decide(services, people[3], guessed, "open sesame", client=OFFICE)
        assert _decide(services, people[3], guessed, "open sesame", client=HOME) == (
            "admit",
            "invited",
        )
        assert _decide(services, people[3], other, "other words", client=OFFICE) == (
            "admit",
            "invited",
        )
    finally:
        services.db.dispose()


def test_the_meeting_network_limit_must_not_be_below_the_personal_limit(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(
            None,
            data_dir=tmp_path,
            security={
                "meeting_password_max_failures": 8,
                "meeting_password_network_max_failures": 3,
            },
        )
    assert "security.meeting_password_network_max_failures" in str(caught.value)


def test_disabled_account_is_refused(services: Services, host: User) -> None:
    admin = make_user(services, "root", "admin")
    meeting = _meeting(services, host, "off")
    ivan = make_user(services, "ivan")
    services.invitations.invite_member(host, meeting.id, "ivan")
    services.accounts.set_disabled(admin, ivan.id, True)
    assert _decide(services, ivan, meeting) == ("refuse", "account_disabled")


def test_expired_invitation_is_refused(services: Services, host: User, clock: FakeClock) -> None:
    meeting = _meeting(services, host, "off")
    ivan = make_user(services, "ivan")
    services.invitations.invite_member(host, meeting.id, "ivan")
    clock.advance(hours=services.settings.invitations.link_ttl_hours + 1)
    assert _decide(services, ivan, meeting) == ("refuse", "invitation_expired")


def test_revoked_invitation_is_refused(services: Services, host: User) -> None:
    meeting = _meeting(services, host, "off")
    ivan = make_user(services, "ivan")
    invitation = services.invitations.invite_member(host, meeting.id, "ivan")
    services.invitations.revoke(host, meeting.id, invitation.id)
    assert _decide(services, ivan, meeting) == ("refuse", "not_invited")


def test_a_removed_participant_is_told_so_until_invited_again(
    services: Services, host: User
) -> None:
    """A host's *Remove* is remembered: the room and the meeting page say "removed" (not
    "no such meeting"), and the dashboard no longer lists the meeting."""
    meeting = _meeting(services, host, "off")
    ivan = make_user(services, "ivan")
    services.invitations.invite_member(host, meeting.id, "ivan")
    services.invitations.remove_from_meeting(meeting.id, ivan.id)
    decision = services.access.decide(ivan.id, meeting.id, None)
    assert (decision.outcome, decision.reason) == ("refuse", "removed")
    assert decision.meeting is None  # nothing more about the meeting than that
    with pytest.raises(NotAuthorised) as raised:
        services.meetings.visible(ivan, meeting.id)
    assert (raised.value.text, raised.value.reason) == (
        "You were removed from this meeting.",
        "removed",
    )
    assert services.meetings.dashboard(ivan).invited == []
    assert services.invitations.for_meeting(host, meeting.id) == []
    services.invitations.invite_member(host, meeting.id, "ivan")  # invited again: in again
    assert _decide(services, ivan, meeting) == ("admit", "invited")
    assert services.meetings.visible(ivan, meeting.id).id == meeting.id


def test_unknown_meeting(services: Services, host: User) -> None:
    with pytest.raises(NotFound):
        services.access.decide(host.id, "A" * 24, None)
    with pytest.raises(NotFound):
        services.access.decide(host.id, "x" * 1000, None)
