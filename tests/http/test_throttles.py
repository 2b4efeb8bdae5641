"""Who the password throttles lock out, and who they must not (issue 13, items 3 to 5).

The server sees the client addresses below (scope values, no traffic): two people in one
office network (127.0.1.0/24) and someone at home (127.0.2.0/24)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import profiles

from conclave.config import load_settings
from conclave.meetings.service import MeetingDraft
from conclave.services import Services, build_services
from conclave.store.records import Meeting, User
from tests.conftest import FakeClock
from tests.support.argon2_probe import CountingHasher
from tests.support.web import PASSWORD, Browser, make_user, signed_in

ATTACKER = "127.0.1.7"
COLLEAGUE = "127.0.1.8"
HOME = "127.0.2.5"
WRONG = "wrong password 123"
LINK = re.compile(r"https://[^<\s\"]+/invite/([A-Za-z0-9_-]+)")
TOO_MANY = "Too many failed attempts"


def _services(tmp_path: Path, clock: FakeClock, **security: Any) -> Iterator[Services]:
    settings = load_settings(None, data_dir=tmp_path / "data", security=security)
    built = build_services(settings, clock, argon2=profiles.CHEAPEST)
    yield built
    built.db.dispose()


def _locked(response: httpx.Response) -> bool:
    if response.status_code != 429:
        return False
    assert int(response.headers["retry-after"]) > 0
    return True


# -- sign-in ------------------------------------------------------------------------------
def test_an_office_colleague_is_not_locked_out_by_guesses_at_another_account(
    services: Services,
) -> None:
    make_user(services, "alice")
    make_user(services, "bob")
    attacker = Browser(services, ATTACKER)
    for _ in range(services.settings.security.login_max_failures):
        assert attacker.login("alice", WRONG).status_code == 401
    assert Browser(services, COLLEAGUE).login("bob").status_code == 303


def test_the_guessed_account_is_locked_from_the_guessing_network_even_for_the_right_password(
    services: Services, clock: FakeClock
) -> None:
    make_user(services, "alice")
    attacker = Browser(services, ATTACKER)
    for _ in range(services.settings.security.login_max_failures):
        assert attacker.login("alice", WRONG).status_code == 401
    blocked = attacker.login("alice")
    assert _locked(blocked) and TOO_MANY in blocked.text
    assert _locked(Browser(services, COLLEAGUE).login("alice"))  # the same pair
    clock.advance(minutes=services.settings.security.login_window_minutes, seconds=1)
    assert attacker.login("alice").status_code == 303  # the lock ends with the window


def test_the_right_password_from_another_network_passes_and_unlocks_nothing_else(
    services: Services,
) -> None:
    make_user(services, "alice")
    attacker = Browser(services, ATTACKER)
    for _ in range(services.settings.security.login_max_failures):
        attacker.login("alice", WRONG)
    assert Browser(services, HOME).login("alice").status_code == 303
    assert _locked(attacker.login("alice", WRONG))


def test_unknown_accounts_are_locked_like_real_ones(services: Services) -> None:
    attacker = Browser(services, ATTACKER)
    for _ in range(services.settings.security.login_max_failures):
        assert attacker.login("ghost", WRONG).status_code == 401
    assert _locked(attacker.login("ghost", WRONG))


def test_password_spraying_from_one_network_stops_at_the_network_limit(
    tmp_path: Path, clock: FakeClock
) -> None:
    for services in _services(tmp_path, clock, login_max_failures=2, login_network_max_failures=6):
        accounts = [make_user(services, f"user{i}").username for i in range(7)]
        attacker = Browser(services, ATTACKER)
        for name in accounts[:6]:  # one guess per account: no pair comes near its limit
            assert attacker.login(name, WRONG).status_code == 401
        assert _locked(attacker.login(accounts[6], WRONG))
        assert _locked(Browser(services, COLLEAGUE).login(accounts[6]))  # the whole network
        assert Browser(services, HOME).login(accounts[6]).status_code == 303


def test_the_network_limit_must_not_be_below_the_account_limit(tmp_path: Path) -> None:
    from conclave.config import ConfigError

    with pytest.raises(ConfigError) as caught:
        load_settings(
            None,
            data_dir=tmp_path,
            security={"login_max_failures": 10, "login_network_max_failures": 5},
        )
    assert "security.login_network_max_failures" in str(caught.value)
    assert "security.login_max_failures (10)" in str(caught.value)


# -- the invitation link of an existing guest account --------------------------------------
@pytest.fixture
def host(services: Services) -> User:
    return make_user(services, "hannah")


def _meeting(services: Services, host: User, title: str) -> Meeting:
    return services.meetings.create(host, MeetingDraft(title, None, None, "off", None))


def _link(services: Services, host: User, meeting: Meeting, email: str) -> str:
    return services.invitations.invite_email(host, meeting.id, email).token


def _guest(services: Services, host: User) -> None:
    token = _link(services, host, _meeting(services, host, "First"), "gina@example.org")
    services.invitations.accept(token, "Gina", PASSWORD, "127.0.3.0/24")


def test_guesses_at_an_invitation_link_count_with_sign_in_failures(
    services: Services, host: User
) -> None:
    _guest(services, host)
    second = _meeting(services, host, "Second")
    token = _link(services, host, second, "gina@example.org")
    attacker = Browser(services, ATTACKER)
    page = f"/invite/{token}"
    limit = services.settings.security.login_max_failures
    for _ in range(limit - 1):
        wrong = attacker.post(page, {"display_name": "G", "password": WRONG}, page=page)
        assert wrong.status_code == 401
    assert attacker.login("gina@example.org", WRONG).status_code == 401  # the last one
    assert _locked(attacker.post(page, {"display_name": "G", "password": PASSWORD}, page=page))
    assert _locked(attacker.login("gina@example.org"))
    gina = Browser(services, HOME)
    right = gina.post(page, {"display_name": "Gina", "password": PASSWORD}, page=page)
    assert right.status_code == 303
    assert gina.get(f"/m/{second.id}").status_code == 200


def _form(page: str, token: str, email: str) -> str:
    page = page.replace(token, "TOKEN").replace(email, "EMAIL")
    return re.sub(r'name="csrf_token" value="[0-9a-f]+"', "", page)


def test_the_invitation_link_does_not_say_whether_the_address_has_an_account(
    services: Services, host: User
) -> None:
    _guest(services, host)
    second = _meeting(services, host, "Second")
    known = _link(services, host, second, "gina@example.org")
    unknown = _link(services, host, second, "nina@example.org")
    holder = Browser(services, ATTACKER)
    pages = [holder.get(f"/invite/{t}") for t in (known, unknown)]
    assert [p.status_code for p in pages] == [200, 200]
    assert _form(pages[0].text, known, "gina@example.org") == _form(
        pages[1].text, unknown, "nina@example.org"
    )
    answers = [
        holder.post(f"/invite/{t}", {"display_name": "X", "password": "short"}, page="/login")
        for t in (known, unknown)
    ]
    assert [a.status_code for a in answers] == [400, 400]
    assert all("at least 12 characters" in a.text for a in answers)
    assert "nina@example.org" not in {u.username for u in services.accounts.list_users()}


def test_a_full_network_limit_refuses_links_to_new_and_known_addresses_alike(
    tmp_path: Path, clock: FakeClock
) -> None:
    for services in _services(tmp_path, clock, login_max_failures=2, login_network_max_failures=2):
        host = make_user(services, "hannah")
        _guest(services, host)
        second = _meeting(services, host, "Second")
        known = _link(services, host, second, "gina@example.org")
        unknown = _link(services, host, second, "nina@example.org")
        holder = Browser(services, ATTACKER)
        for name in ("someone", "someone-else"):
            assert holder.login(name, WRONG).status_code == 401
        for token in (known, unknown):
            form = {"display_name": "X", "password": PASSWORD}
            assert _locked(holder.post(f"/invite/{token}", form, page="/login"))
        assert "nina@example.org" not in {u.username for u in services.accounts.list_users()}


# -- the account page ---------------------------------------------------------------------
def test_the_current_password_on_the_account_page_is_throttled_like_sign_in(
    services: Services,
) -> None:
    alice = make_user(services, "alice")
    thief = signed_in(services, alice, ATTACKER)  # a stolen session, say
    limit = services.settings.security.login_max_failures
    for _ in range(limit):
        wrong = thief.post(
            "/account/password", {"current": WRONG, "new": "a new long passphrase"}, "/account"
        )
        assert wrong.status_code == 400 and "The current password is wrong." in wrong.text
    changed = thief.post(
        "/account/password", {"current": PASSWORD, "new": "a new long passphrase"}, "/account"
    )
    assert _locked(changed)
    assert _locked(thief.post("/account/delete", {"password": PASSWORD}, "/account"))
    assert _locked(thief.login("alice"))  # the same counter as sign-in
    assert Browser(services, HOME).login("alice").status_code == 303  # password unchanged
    assert services.accounts.get(alice.id).username == "alice"  # account still there


def test_wrong_passwords_to_delete_the_account_are_throttled(services: Services) -> None:
    alice = make_user(services, "alice")
    thief = signed_in(services, alice, ATTACKER)
    for _ in range(services.settings.security.login_max_failures):
        wrong = thief.post("/account/delete", {"password": WRONG}, "/account")
        assert wrong.status_code == 400 and "The password is wrong." in wrong.text
    assert _locked(thief.post("/account/delete", {"password": PASSWORD}, "/account"))
    assert services.accounts.get(alice.id).username == "alice"


# -- the argon2 gate ----------------------------------------------------------------------
def test_a_password_check_beyond_the_gate_gets_429_and_counts_nothing(
    tmp_path: Path, clock: FakeClock
) -> None:
    probe = CountingHasher()
    settings = load_settings(
        None,
        data_dir=tmp_path / "data",
        security={
            "login_max_failures": 1,
            "password_check_concurrency": 1,
            "password_check_wait_seconds": 0,
        },
    )
    services = build_services(settings, clock, hasher=probe)
    try:
        make_user(services, "alice")
        make_user(services, "bob")
        probe.hold()
        first: list[int] = []
        alice = Browser(services, ATTACKER)
        alice.token()
        busy = threading.Thread(target=lambda: first.append(alice.login("alice").status_code))
        busy.start()
        assert probe.wait_running(1)
        refused = Browser(services, COLLEAGUE).login("bob", WRONG)
        probe.release()
        busy.join(timeout=30)
        assert first == [303]
        assert _locked(refused)
        assert "busy" in refused.text
        assert probe.peak == 1
        # The refused attempt checked nothing and counts nothing (the limit here is 1).
        assert Browser(services, COLLEAGUE).login("bob").status_code == 303
    finally:
        probe.release()
        services.db.dispose()
