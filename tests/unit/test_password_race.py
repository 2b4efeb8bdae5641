"""A burst of simultaneous wrong passwords: at most the limit is checked, and no more
argon2 operations run at once than the gate allows (issue 13, item 4). Counted with an
instrumented hasher at argon2's cheapest cost, never with timing."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from conclave.config import load_settings
from conclave.errors import ConclaveError
from conclave.meetings.service import MeetingDraft
from conclave.services import Services, build_services
from tests.conftest import FakeClock
from tests.support.argon2_probe import CountingHasher
from tests.support.web import make_user

BURST = 30
GATE = 2
NETWORK = "127.0.1.0/24"


@pytest.fixture
def probe() -> CountingHasher:
    return CountingHasher()


@pytest.fixture
def raced(tmp_path: Path, clock: FakeClock, probe: CountingHasher) -> Iterator[Services]:
    settings = load_settings(
        None,
        data_dir=tmp_path / "data",
        security={"password_check_concurrency": GATE, "password_check_wait_seconds": 20},
    )
    services = build_services(settings, clock, hasher=probe)
    yield services
    probe.release()
    services.db.dispose()


def _burst(probe: CountingHasher, attempt: Callable[[], object], refused_at_once: int) -> list[str]:
    """Run ``BURST`` attempts at once while every argon2 operation is held; let them go
    once ``refused_at_once`` were refused (or after a bounded wait)."""
    outcomes: list[str] = []
    settled = threading.Condition()

    def one() -> None:
        try:
            attempt()
            name = "ok"
        except ConclaveError as error:
            name = type(error).__name__
        with settled:
            outcomes.append(name)
            settled.notify_all()

    probe.reset()
    probe.hold()
    threads = [threading.Thread(target=one) for _ in range(BURST)]
    for thread in threads:
        thread.start()
    with settled:
        settled.wait_for(lambda: outcomes.count("RateLimited") >= refused_at_once, timeout=10)
    probe.release()
    for thread in threads:
        thread.join(timeout=30)
    assert len(outcomes) == BURST
    return outcomes


def test_simultaneous_wrong_sign_ins_check_at_most_the_limit(
    raced: Services, probe: CountingHasher
) -> None:
    make_user(raced, "alice")
    limit = raced.settings.security.login_max_failures
    outcomes = _burst(
        probe,
        lambda: raced.accounts.authenticate("alice", "wrong guess 123", NETWORK),
        BURST - limit,
    )
    assert probe.calls == limit
    assert probe.peak <= GATE
    assert outcomes.count("RateLimited") == BURST - limit
    assert outcomes.count("NotAuthenticated") == limit


def test_simultaneous_wrong_meeting_passwords_check_at_most_the_limit(
    raced: Services, probe: CountingHasher
) -> None:
    host = make_user(raced, "hannah")
    meeting = raced.meetings.create(host, MeetingDraft("Daily", None, None, "off", "open sesame"))
    ivan = make_user(raced, "ivan")
    raced.invitations.invite_member(host, meeting.id, "ivan")
    limit = raced.settings.security.meeting_password_max_failures
    outcomes = _burst(
        probe,
        lambda: raced.access.decide(ivan.id, meeting.id, "a guess", client=NETWORK),
        BURST - limit,
    )
    assert probe.calls == limit
    assert probe.peak <= GATE
    assert outcomes.count("RateLimited") == BURST - limit
    assert outcomes.count("ok") == limit  # refused with wrong_password: a decision
