"""Engine set-up, migrations at start, and named transactions."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    create_engine,
    event,
    inspect,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from conclave.errors import StorageFull
from conclave.private_files import private_dir, private_file
from conclave.store.health import WriteHealth, storage_full
from conclave.store.schema import Base

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

log = logging.getLogger("conclave.store")
MIGRATIONS = Path(__file__).with_name("migrations")
# The newest revision in migrations/versions: a database that is at it needs no Alembic
# at start. tests/unit/test_storage.py fails when a new migration does not update it.
HEAD_REVISION = "0005"
# Alembic's record of the revision, as Alembic itself defines it.
VERSION_TABLE = Table(
    "alembic_version",
    MetaData(),
    Column("version_num", String(32), nullable=False),
    PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
)


class Database:
    """Owns the engine; every unit of work is a named transaction."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = _make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.write_health = WriteHealth()

    @contextmanager
    def transaction(self, name: str) -> Iterator[Session]:
        """Run one unit of work: committed when the block ends, rolled back on error.
        A write refused for want of space (a full disk) is :class:`StorageFull`."""
        try:
            with self._sessions.begin() as session:
                try:
                    yield session
                except Exception:
                    log.debug("transaction rolled back", extra={"transaction": name})
                    raise
        except DBAPIError as error:
            if not storage_full(error):
                raise
            self.write_health.failed(name)
            raise StorageFull(StorageFull.message) from error

    def migrate(self) -> None:
        """Bring the schema to the newest revision (run at every start).

        Importing Alembic took a tenth of a second or more of every start (issue 2), so
        it is only imported for a database that needs migrating: one at
        :data:`HEAD_REVISION` is left as it is, and a new, empty one gets the tables of
        the models and the head revision on record, which is Alembic's own recipe for a
        database built from scratch (``create_all``, then ``stamp head``).
        tests/unit/test_storage.py checks that this builds exactly what the migrations
        build."""
        with self.engine.begin() as connection:
            found = revisions(connection)
            if found == [HEAD_REVISION]:
                return
            if not found and not inspect(connection).get_table_names():
                Base.metadata.create_all(connection)
                VERSION_TABLE.create(connection)
                connection.execute(VERSION_TABLE.insert().values(version_num=HEAD_REVISION))
                return
            from alembic import command

            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def dispose(self) -> None:
        self.engine.dispose()


def revisions(connection: Connection) -> list[str]:
    """The revisions Alembic recorded in the database (none for a new database)."""
    if not inspect(connection).has_table("alembic_version"):
        return []
    rows = connection.exec_driver_sql("SELECT version_num FROM alembic_version")
    return [str(row[0]) for row in rows]


def alembic_config() -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _make_engine(url: str) -> Engine:
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        path = Path(url.removeprefix("sqlite:///"))
        private_dir(path.parent)
        private_file(path)
    engine = create_engine(url, pool_pre_ping=not url.startswith("sqlite"))
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # Takes effect for a new database file only; older files are converted once by the
    # first purge (conclave/store/space.py).
    cursor.execute("PRAGMA auto_vacuum=INCREMENTAL")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()
