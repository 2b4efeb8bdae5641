"""Retention: the purge job deletes what is past its period, from the file itself, and
keeps everything younger. Time moves with the FakeClock."""

from __future__ import annotations

import asyncio
import base64
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from argon2 import profiles
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from conclave.config import ConfigError, load_settings
from conclave.meetings.service import MeetingDraft
from conclave.services import Services, build_services
from conclave.store.db import Database
from conclave.store.space import reclaim
from tests.conftest import FakeClock
from tests.support.dbfile import database_files, on_disk
from tests.support.web import PASSWORD, make_user


def identity_key() -> str:
    """A fresh P-256 public key as the browser registers it (base64 SPKI)."""
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    return base64.b64encode(
        key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    ).decode()


def _services(tmp_path: Path, clock: FakeClock, **retention: int) -> Services:
    settings = load_settings(None, data_dir=tmp_path / "data", retention=retention)
    return build_services(settings, clock, argon2=profiles.CHEAPEST)


def _meeting(services: Services, host_name: str, title: str, **draft: object) -> str:
    host = services.accounts.by_username(host_name)
    values = {"starts_at": None, "ends_at": None, **draft}
    meeting = services.meetings.create(
        host,
        MeetingDraft(title, values["starts_at"], values["ends_at"], "guests", None),  # type: ignore[arg-type]
    )
    return meeting.id


def _guest(services: Services, host_name: str, meeting_id: str, email: str, name: str) -> int:
    host = services.accounts.by_username(host_name)
    link = services.invitations.invite_email(host, meeting_id, email)
    return services.invitations.accept(link.token, name, PASSWORD, "unknown").account.id


def _meeting_ids(services: Services) -> set[str]:
    with services.db.engine.connect() as connection:
        return {r[0] for r in connection.exec_driver_sql("SELECT id FROM meetings")}


def test_purge_deletes_old_data_from_the_file_and_keeps_young_data(
    tmp_path: Path, clock: FakeClock
) -> None:
    services = _services(tmp_path, clock)
    make_user(services, "hannah")
    old = _meeting(services, "hannah", "OLD-MEETING-7f3a")
    _guest(services, "hannah", old, "old-guest-b2c4@guests.example", "OLD-GUEST-b2c4")
    services.audit.record(
        "login", actor_id=None, client="203.0.113.9", details={"note": "OLD-AUDIT-c3d5"}
    )
    clock.advance(days=40)
    young = _meeting(services, "hannah", "YOUNG-MEETING-d4e6")
    _guest(services, "hannah", young, "young-guest-e5f7@guests.example", "YOUNG-GUEST-e5f7")
    for marker in ("OLD-MEETING-7f3a", "old-guest-b2c4", "OLD-GUEST-b2c4", "YOUNG-MEETING-d4e6"):
        assert on_disk(services, marker), marker

    report = services.retention.purge()

    assert report.counts.meetings == 1 and report.counts.guest_accounts == 1
    assert report.reclaimed is not None and report.reclaimed.wal_truncated
    assert _meeting_ids(services) == {young}
    for marker in ("OLD-MEETING-7f3a", "old-guest-b2c4", "OLD-GUEST-b2c4"):
        assert not on_disk(services, marker), f"{marker} is still in the database file"
    for marker in ("YOUNG-MEETING-d4e6", "young-guest-e5f7", "YOUNG-GUEST-e5f7", "OLD-AUDIT-c3d5"):
        assert on_disk(services, marker), f"{marker} was deleted too early"

    clock.advance(days=51)  # the audit entry is now 91 days old; the young meeting 51
    report = services.retention.purge()
    assert report.counts.audit_entries >= 1
    assert not on_disk(services, "OLD-AUDIT-c3d5")
    assert not on_disk(services, "YOUNG-MEETING-d4e6")  # 51 days > 30: its turn now
    services.db.dispose()


def test_a_scheduled_meeting_is_kept_until_its_end_plus_the_period(
    tmp_path: Path, clock: FakeClock
) -> None:
    services = _services(tmp_path, clock, meeting_days=7)
    make_user(services, "hannah")
    start = clock.now + timedelta(days=20)
    later = _meeting(
        services, "hannah", "Planned", starts_at=start, ends_at=start + timedelta(hours=1)
    )
    only_start = _meeting(services, "hannah", "Start only", starts_at=start)
    clock.advance(days=26)
    services.retention.purge()
    assert _meeting_ids(services) == {later, only_start}
    clock.advance(days=2)
    services.retention.purge()
    assert _meeting_ids(services) == set()
    services.db.dispose()


def test_zero_means_deleted_at_the_end_of_the_meeting_never_kept_forever(
    tmp_path: Path, clock: FakeClock
) -> None:
    services = _services(tmp_path, clock, meeting_days=0, guest_days=0)
    make_user(services, "hannah")
    ends = clock.now + timedelta(hours=1)
    scheduled = _meeting(services, "hannah", "Scheduled", starts_at=clock.now, ends_at=ends)
    guest = _guest(services, "hannah", scheduled, "gina@guests.example", "Gina")
    standing = _meeting(services, "hannah", "Standing room")

    services.retention.rooms.opened(standing)
    services.retention.rooms.opened(scheduled)
    clock.advance(minutes=30)
    services.retention.purge()
    assert _meeting_ids(services) == {scheduled, standing}  # both in use

    services.retention.rooms.closed(standing)
    clock.advance(minutes=1)
    services.retention.purge()
    assert _meeting_ids(services) == {scheduled}  # the unscheduled room ended: gone

    clock.advance(hours=2)  # past its scheduled end, but people are still in it
    services.retention.purge()
    assert _meeting_ids(services) == {scheduled}
    assert services.accounts.get(guest).is_guest

    services.retention.rooms.closed(scheduled)
    clock.advance(seconds=1)
    report = services.retention.purge()
    assert _meeting_ids(services) == set()
    assert report.counts.guest_accounts == 1
    assert [u.username for u in services.accounts.list_users()] == ["hannah"]
    services.db.dispose()


def test_the_live_set_protects_a_meeting_the_database_does_not_know_is_running(
    services: Services, clock: FakeClock
) -> None:
    make_user(services, "hannah")
    meeting = _meeting(services, "hannah", "Busy")
    clock.advance(days=400)
    services.retention.purge(live={meeting})
    assert _meeting_ids(services) == {meeting}
    services.retention.purge()
    assert _meeting_ids(services) == set()


def test_a_guest_is_kept_while_another_meeting_of_theirs_is_still_ahead(
    services: Services, clock: FakeClock
) -> None:
    make_user(services, "hannah")
    first = _meeting(services, "hannah", "First")
    guest = _guest(services, "hannah", first, "gina@guests.example", "Gina")
    ahead = clock.now + timedelta(days=10)
    second = _meeting(
        services, "hannah", "Second", starts_at=ahead, ends_at=ahead + timedelta(hours=1)
    )
    host = services.accounts.by_username("hannah")
    link = services.invitations.invite_email(host, second, "gina@guests.example")
    services.invitations.accept(link.token, "Gina", PASSWORD, "unknown")
    clock.advance(days=5)
    services.retention.purge()
    assert services.accounts.get(guest).username == "gina@guests.example"
    clock.advance(days=7)  # second meeting ended 1 day + 23 h ago, guest_days = 1
    services.retention.purge()
    assert all(u.id != guest for u in services.accounts.list_users())


def test_sessions_links_and_setup_tokens_go_when_expired(
    services: Services, clock: FakeClock
) -> None:
    hannah = make_user(services, "hannah")
    meeting = _meeting(services, "hannah", "Links")
    old_session = services.accounts.start_session(hannah)
    services.invitations.invite_email(hannah, meeting, "late@guests.example")
    clock.advance(hours=services.settings.invitations.link_ttl_hours + 1)
    fresh_session = services.accounts.start_session(hannah)
    services.invitations.invite_email(hannah, meeting, "fresh@guests.example")
    report = services.retention.purge()
    assert report.counts.sessions == 1 and report.counts.invitation_links == 1
    assert services.accounts.resolve_session(fresh_session) is not None
    assert services.accounts.resolve_session(old_session) is None
    assert not on_disk(services, "late@guests.example")
    assert on_disk(services, "fresh@guests.example")


def test_inactive_accounts_go_but_never_the_last_active_administrator(
    services: Services, clock: FakeClock
) -> None:
    make_user(services, "root", "admin")
    make_user(services, "idle")
    active = make_user(services, "active")
    clock.advance(days=729)
    services.accounts.start_session(active)
    clock.advance(days=2)
    report = services.retention.purge()
    assert report.counts.inactive_accounts == 1
    assert sorted(u.username for u in services.accounts.list_users()) == ["active", "root"]


def test_stale_identity_keys_are_dropped(services: Services, clock: FakeClock) -> None:
    hannah = make_user(services, "hannah")
    services.identities.register(hannah.id, identity_key())
    clock.advance(days=200)
    services.identities.register(hannah.id, identity_key())
    clock.advance(days=200)
    assert services.retention.purge().counts.identity_keys == 1
    assert len(services.identities.of(hannah.id)) == 1


def test_one_run_is_bounded_and_the_next_continues(tmp_path: Path, clock: FakeClock) -> None:
    services = _services(tmp_path, clock, purge_batch_size=10, audit_days=1)
    for n in range(25):
        services.audit.record("login", actor_id=None, client=None, details={"n": n})
    clock.advance(days=2)
    first = services.retention.purge()
    assert first.counts.audit_entries == 10 and first.more
    assert services.retention.purge().counts.audit_entries == 10
    last = services.retention.purge()
    assert last.counts.audit_entries == 5 and not last.more  # the purge entries are young
    services.db.dispose()


def test_each_run_is_on_record_at_least_once_a_day(services: Services, clock: FakeClock) -> None:
    services.retention.purge()
    services.retention.purge()
    assert services.audit.query(event="retention_purge").total == 1
    clock.advance(hours=25)
    services.retention.purge()
    entries = services.audit.query(event="retention_purge").entries
    assert len(entries) == 2 and entries[0].details == {"more": False}
    last = services.retention.last_purge()
    assert last is not None and last.occurred_at == clock.now


def test_an_old_database_file_is_switched_to_incremental_vacuum_once(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as old:  # made the way Conclave did before: auto_vacuum off
        old.execute("PRAGMA journal_mode=WAL")
        old.execute("CREATE TABLE t (x TEXT)")
        old.executemany("INSERT INTO t VALUES (?)", [("x" * 500,)] * 200)
    db = Database(f"sqlite:///{path}")
    first = reclaim(db.engine)
    assert first is not None and first.converted
    with db.engine.begin() as connection:
        assert connection.exec_driver_sql("PRAGMA auto_vacuum").scalar() == 2
        connection.exec_driver_sql("DELETE FROM t")
    second = reclaim(db.engine)
    assert second is not None and not second.converted and second.pages_freed > 10
    assert second.wal_truncated
    assert all(p.stat().st_size == 0 for p in [path.with_name("old.db-wal")] if p.exists())
    db.dispose()


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("audit_days", 0),
        ("account_inactive_days", 0),
        ("identity_key_days", 0),
        ("meeting_days", -1),
        ("guest_days", -1),
        ("meeting_days", "forever"),
        ("purge_interval_minutes", 0),
        ("purge_batch_size", 1),
    ],
)
def test_invalid_retention_values_are_refused_naming_the_field(
    tmp_path: Path, key: str, value: object
) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(None, data_dir=tmp_path, retention={key: value})
    assert any(p.startswith(f"retention.{key} = ") for p in refused.value.problems), (
        refused.value.problems
    )


def test_zero_is_allowed_where_it_means_the_end_of_the_meeting(tmp_path: Path) -> None:
    settings = load_settings(
        None, data_dir=tmp_path, retention={"meeting_days": 0, "guest_days": 0}
    )
    assert settings.retention.meeting_days == 0 and settings.retention.guest_days == 0


def test_database_files_helper_sees_the_wal(services: Services) -> None:
    make_user(services, "walter")
    assert any(p.name.endswith("-wal") for p in database_files(services))


def test_migration_0003_keeps_existing_rows_both_ways(tmp_path: Path) -> None:
    from alembic import command

    from conclave.store.db import alembic_config

    db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    meeting = "m" * 24

    def upgrade_or_downgrade(step: str, target: str) -> None:
        with db.engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            getattr(command, step)(config, target)

    upgrade_or_downgrade("upgrade", "0002")
    with db.engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO users (username, display_name, password_hash, role, disabled, created_at)"
            " VALUES ('ann', 'Ann', 'x', 'member', 0, '2026-01-01 00:00:00')"
        )
        connection.exec_driver_sql(
            "INSERT INTO meetings VALUES (?, 1, 'T', NULL, NULL, NULL, 'off', '2026-01-01')",
            (meeting,),
        )
        connection.exec_driver_sql(
            "INSERT INTO invitations (meeting_id, user_id, created_at, expires_at)"
            " VALUES (?, 1, '2026-01-01', '2026-01-02')",
            (meeting,),
        )
    db.migrate()
    count = "SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM meetings)"
    count += " + (SELECT count(*) FROM invitations)"
    with db.engine.begin() as connection:
        assert connection.exec_driver_sql(count).scalar() == 3
        assert connection.exec_driver_sql("SELECT count(*) FROM audit_log").scalar() == 0
    upgrade_or_downgrade("downgrade", "0002")  # no table rebuild, so no cascade
    with db.engine.begin() as connection:
        assert connection.exec_driver_sql(count).scalar() == 3
    db.dispose()


def test_the_purge_job_runs_shortly_after_start_and_at_once_when_woken(
    services: Services,
) -> None:
    from conclave.retention.task import FIRST_RUN_DELAY, PurgeTask

    async def scenario() -> tuple[int, int, int]:
        # The first run waits FIRST_RUN_DELAY (the server's first requests come first,
        # issue 2), then runs by itself; a wake (a changed policy) does not wait.
        waiting = PurgeTask(services.retention, first_delay=0.05)
        waiting.start()
        for _ in range(500):  # bounded: until the first run is done
            if waiting.runs:
                break
            await asyncio.sleep(0.01)
        await waiting.stop()
        woken = PurgeTask(services.retention, first_delay=3600.0)
        woken.start()
        await asyncio.sleep(0)
        before = woken.runs
        woken.wake()
        for _ in range(500):
            if woken.runs:
                break
            await asyncio.sleep(0.01)
        await woken.stop()
        return waiting.runs, before, woken.runs

    assert 0 < FIRST_RUN_DELAY <= 5
    assert asyncio.run(scenario()) == (1, 0, 1)
