"""Migrations and persistence: an empty database migrates to exactly the models; a
restart keeps everything."""

from __future__ import annotations

import re
import sqlite3
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


def _alembic(db: Database, step: str, target: str) -> None:
    """Alembic's upgrade or downgrade, as `Database.migrate` runs it when it must."""
    with db.engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        getattr(command, step)(config, target)


def test_migrating_an_empty_database_matches_the_models(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'empty.db'}")
    _alembic(db, "upgrade", "head")  # every migration, from nothing
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
        _alembic(db, "upgrade", start)
        with db.engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO users (username, display_name, password_hash, role, disabled,"
                " created_at) VALUES ('ann', 'Ann', 'x', 'member', 0, '2026-01-01 00:00:00')"
            )
    # Behind head: Alembic migrates it. New: built at head without Alembic (below).
    assert _migrate_in_new_process(url) == (start is not None)
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
    _alembic(db, "downgrade", "base")  # Alembic can step back from a database built new
    with db.engine.connect() as connection:
        assert revisions(connection) == []  # the table is still there, empty
    db.migrate()
    with db.engine.connect() as connection:
        assert revisions(connection) == [HEAD_REVISION]
        assert "audit_log" in inspect(connection).get_table_names()
    db.dispose()


_TOP_LEVEL_COMMA = re.compile(r",\s*(?![^()]*\))")


def _built(path: Path) -> dict[str, object]:
    """Everything SQLite holds about a database's schema, and every row it holds."""
    con = sqlite3.connect(path)
    try:
        found: dict[str, object] = {}
        for kind, name, sql in con.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
        ):
            if kind == "table":  # clauses in any order, whitespace aside
                head, _, body = " ".join(sql.split()).partition("(")
                parts = sorted(p.strip() for p in _TOP_LEVEL_COMMA.split(body.rstrip(")")))
                columns = sorted(c[1] for c in con.execute(f"PRAGMA table_info('{name}')"))
                rows = sorted(
                    con.execute(f"SELECT {', '.join(columns)} FROM {name}").fetchall(), key=repr
                )
                found[name] = (head, parts, rows)
            else:
                found[f"{kind} {name}"] = sql
        for pragma in ("auto_vacuum", "journal_mode", "user_version"):
            found[pragma] = con.execute(f"PRAGMA {pragma}").fetchone()
        return found
    finally:
        con.close()


def test_a_new_database_is_built_exactly_as_the_migrations_build_it(tmp_path: Path) -> None:
    # `migrate` builds a new database from the models and records the head revision
    # instead of running every migration (issue 2). A migration that does more than the
    # models say (rows it inserts, a trigger, a changed constraint) fails this test: then
    # `migrate` must do the same for a new database, or run Alembic for it again.
    migrated = Database(f"sqlite:///{tmp_path / 'migrated.db'}")
    _alembic(migrated, "upgrade", "head")
    built = Database(f"sqlite:///{tmp_path / 'built.db'}")
    built.migrate()
    with built.engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_heads() == (HEAD_REVISION,)
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    _alembic(built, "upgrade", "head")  # Alembic agrees: nothing left to do
    migrated.dispose()
    built.dispose()
    assert _built(tmp_path / "built.db") == _built(tmp_path / "migrated.db")
