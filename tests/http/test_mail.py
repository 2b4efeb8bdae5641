"""With SMTP configured, the personal link goes out by mail and is not shown."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from argon2 import profiles

from conclave.config import load_settings
from conclave.meetings.service import MeetingDraft
from conclave.services import Services, build_services
from tests.conftest import FakeClock
from tests.support.net import free_port
from tests.support.web import PASSWORD, Browser, make_user, signed_in


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler = Inbox()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest.fixture
def mail_services(tmp_path: Path, clock: FakeClock, inbox: tuple[Inbox, int]) -> Iterator[Services]:
    smtp = {"host": "127.0.0.1", "port": inbox[1], "starttls": False}
    settings = load_settings(None, data_dir=tmp_path / "data", smtp=smtp)
    built = build_services(settings, clock, argon2=profiles.CHEAPEST)
    yield built
    built.db.dispose()


def test_invitation_is_mailed_and_the_link_works(
    mail_services: Services, inbox: tuple[Inbox, int]
) -> None:
    host = make_user(mail_services, "hannah")
    meeting = mail_services.meetings.create(host, MeetingDraft("Review", None, None, "off", None))
    page = signed_in(mail_services, host).post(
        f"/m/{meeting.id}/invitations", {"invitee": "gina@example.org"}, page=f"/m/{meeting.id}"
    )
    assert page.status_code == 200
    assert "/invite/" not in page.text
    assert "sent by e-mail" in page.text
    (mail,) = inbox[0].messages
    assert mail["To"] == "gina@example.org"
    assert "Review" in mail["Subject"]
    token = re.search(r"/invite/([A-Za-z0-9_-]+)", mail.get_payload(decode=True).decode()).group(1)
    guest = Browser(mail_services)
    data = {"display_name": "Gina", "password": PASSWORD}
    assert guest.post(f"/invite/{token}", data, page=f"/invite/{token}").status_code == 303


def test_unreachable_smtp_server_falls_back_to_showing_the_link(
    tmp_path: Path, clock: FakeClock
) -> None:
    closed_port = free_port()  # nothing listens there
    settings = load_settings(
        None,
        data_dir=tmp_path / "data",
        smtp={"host": "127.0.0.1", "port": closed_port, "starttls": False, "timeout_seconds": 2},
    )
    services = build_services(settings, clock, argon2=profiles.CHEAPEST)
    host = make_user(services, "hannah")
    meeting = services.meetings.create(host, MeetingDraft("Review", None, None, "off", None))
    page = signed_in(services, host).post(
        f"/m/{meeting.id}/invitations", {"invitee": "gina@example.org"}, page=f"/m/{meeting.id}"
    )
    assert page.status_code == 200
    assert "/invite/" in page.text
    services.db.dispose()
