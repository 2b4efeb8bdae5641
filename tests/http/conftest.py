"""Fixtures of the in-process meeting WebSocket tests: the running app, a host, and a
meeting with a member invited (guests wait in the lobby)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conclave.meetings.service import MeetingDraft
from conclave.services import Services
from conclave.store.records import Meeting as MeetingRecord
from conclave.store.records import User
from tests.support.web import make_user
from tests.support.ws import Meeting, running


@pytest.fixture
def room(services: Services) -> Iterator[Meeting]:
    with running(services) as meeting:
        yield meeting


@pytest.fixture
def host(services: Services) -> User:
    return make_user(services, "hannah")


@pytest.fixture
def meeting(services: Services, host: User) -> MeetingRecord:
    record = services.meetings.create(host, MeetingDraft("Stand-up", None, None, "guests", None))
    make_user(services, "ivan")
    services.invitations.invite_member(host, record.id, "ivan")
    return record
