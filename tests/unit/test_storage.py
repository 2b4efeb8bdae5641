"""Migrations and persistence: an empty database migrates to exactly the models; a
restart keeps everything."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from argon2 import profiles
from sqlalchemy import inspect

from conclave.config import load_settings
from conclave.meetings.service import MeetingDraft
from conclave.services import build_services
from conclave.store.db import HEAD_REVISION, Database, alembic_config, revisions
from conclave.store.schema import Base
from tests.support.web import PASSWORD


def test_migrating_an_empty_database_matches_the_models(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'empty.db'}")
    db.migrate()
    with db.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
        assert set(inspect(connection).get_table_names()) >= {
            "users",
            "sessions",
            "meetings",
            "invitations",
            "setup_tokens",
            "alembic_version",
        }
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    db.migrate()  # idempotent
    db.dispose()


def test_restart_loses_nothing(tmp_path: Path) -> None:
    settings = load_settings(None, data_dir=tmp_path / "data")
    first = build_services(settings, argon2=profiles.CHEAPEST)
    host = first.accounts.create_user("hannah", "Hannah", PASSWORD)
    first.accounts.create_user("ivan", "Ivan", PASSWORD)
    meeting = first.meetings.create(host, MeetingDraft("Plans", None, None, "off", "pw"))
    first.invitations.invite_member(host, meeting.id, "ivan")
    link = first.invitations.invite_email(host, meeting.id, "gina@example.org")
    token = first.accounts.start_session(host)
    secret = first.secret
    first.db.dispose()

    second = build_services(settings, argon2=profiles.CHEAPEST)
    assert second.secret == secret
    assert [u.username for u in second.accounts.list_users()] == ["hannah", "ivan"]
    signed_in = second.accounts.resolve_session(token)
    assert signed_in is not None and signed_in.user.username == "hannah"
    assert second.meetings.hosted(host, meeting.id).title == "Plans"
    invitations = second.invitations.for_meeting(host, meeting.id)
    assert len(invitations) == 2
    assert second.invitations.pending(link.token).meeting.id == meeting.id
    second.db.dispose()


def test_deleting_a_user_removes_their_meetings_sessions_and_invitations(tmp_path: Path) -> None:
    settings = load_settings(None, data_dir=tmp_path / "data")
    services = build_services(settings, argon2=profiles.CHEAPEST)
    admin = services.accounts.create_user("root", "Root", PASSWORD, "admin")
    host = services.accounts.create_user("hannah", "Hannah", PASSWORD)
    meeting = services.meetings.create(host, MeetingDraft("Plans", None, None, "off", None))
    services.invitations.invite_email(host, meeting.id, "gina@example.org")
    services.accounts.start_session(host)
    services.accounts.remove(admin, host.id)
    with services.db.engine.connect() as connection:
        for table in ("meetings", "invitations", "sessions"):
            assert connection.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar() == 0
    services.db.dispose()


def test_head_revision_is_the_newest_migration() -> None:
    # A new migration must update HEAD_REVISION, or a start would skip it.
    assert ScriptDirectory.from_config(alembic_config()).get_heads() == [HEAD_REVISION]


def _migrate_in_new_process(url: str) -> bool:
    """Run ``Database.migrate`` as a start does; True when it needed Alembic."""
    code = (
        "import sys; from conclave.store.db import Database; db = Database(sys.argv[1]); "
        "db.migrate(); db.dispose(); print('alembic' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, url], check=True, capture_output=True, text=True, timeout=120
    )
    return done.stdout.strip() == "True"


@pytest.mark.parametrize("start", [None, "0001", "0002"], ids=["new", "at-0001", "at-0002"])
def test_a_start_migrates_an_older_database_and_skips_alembic_at_head(
    tmp_path: Path, start: str | None
) -> None:
    url = f"sqlite:///{tmp_path / 'conclave.db'}"
    db = Database(url)
    if start is not None:
        with db.engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, start)
            connection.exec_driver_sql(
                "INSERT INTO users (username, display_name, password_hash, role, disabled,"
                " created_at) VALUES ('ann', 'Ann', 'x', 'member', 0, '2026-01-01 00:00:00')"
            )
    assert _migrate_in_new_process(url)  # not at head: Alembic ran
    with db.engine.connect() as connection:
        assert revisions(connection) == [HEAD_REVISION]
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
        users = connection.exec_driver_sql("SELECT count(*) FROM users").scalar()
        assert users == (0 if start is None else 1)
    assert not _migrate_in_new_process(url)  # at head: nothing to do, Alembic not loaded
    db.dispose()


def test_a_database_downgraded_to_nothing_is_migrated_again(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'conclave.db'}")
    db.migrate()
    with db.engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
        assert revisions(connection) == []  # the table is still there, empty
    db.migrate()
    with db.engine.connect() as connection:
        assert revisions(connection) == [HEAD_REVISION]
        assert "audit_log" in inspect(connection).get_table_names()
    db.dispose()
