"""``conclave purge``, ``conclave user export`` and ``conclave user remove``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from argon2 import profiles

from conclave.config import load_settings
from conclave.meetings.service import MeetingDraft
from conclave.services import Services, build_services
from tests.conftest import FakeClock
from tests.support.dbfile import on_disk
from tests.support.web import PASSWORD, make_user
from tests.unit.test_cli import _run


def _installation(data: Path, clock: FakeClock) -> Services:
    return build_services(load_settings(None, data_dir=data), clock, argon2=profiles.CHEAPEST)


def test_purge_deletes_what_is_past_its_retention(tmp_path: Path) -> None:
    data = tmp_path / "data"
    clock = FakeClock()
    clock.now = datetime.now(UTC) - timedelta(days=400)
    services = _installation(data, clock)
    hannah = make_user(services, "hannah")
    services.meetings.create(hannah, MeetingDraft("ANCIENT-MEETING-91", None, None, "off", None))
    services.audit.record("login", actor_id=hannah.id, client="192.0.2.4")
    clock.now = datetime.now(UTC)
    services.meetings.create(hannah, MeetingDraft("CURRENT-MEETING-92", None, None, "off", None))
    services.db.dispose()

    purged = _run(data, "purge")
    assert purged.returncode == 0, purged.stderr
    lines = purged.stdout.splitlines()
    assert "meetings: 1" in lines and "audit entries: 1" in lines
    assert "inactive accounts: 0" in lines  # 400 days < account_inactive_days
    services = _installation(data, clock)
    assert not on_disk(services, "ANCIENT-MEETING-91") and on_disk(services, "CURRENT-MEETING-92")
    assert services.retention.last_purge() is not None
    services.db.dispose()


def test_user_export_prints_json_and_remove_erases(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert (
        _run(data, "user", "add", "alice", "--password-stdin", stdin=PASSWORD + "\n").returncode
        == 0
    )
    exported = _run(data, "user", "export", "alice")
    assert exported.returncode == 0, exported.stderr
    document = json.loads(exported.stdout)
    assert document["account"]["username"] == "alice" and document["format"].startswith("conclave")
    missing = _run(data, "user", "export", "nobody")
    assert missing.returncode == 1 and "No such user." in missing.stderr
    removed = _run(data, "user", "remove", "alice")
    assert removed.returncode == 0 and removed.stdout.startswith("removed alice: ")
    services = _installation(data, FakeClock())
    assert services.accounts.list_users() == []
    events = [(e.event, e.details.get("via")) for e in reversed(services.audit.query().entries)]
    assert events == [("user_created", "cli"), ("data_exported", "cli"), ("user_deleted", "cli")]
    assert not on_disk(services, "alice")
    services.db.dispose()
