"""A full disk, as SQLite sees it: ``PRAGMA max_page_count`` at the size the database has
now, on every connection, then real data until a write needs a page that is not there.
SQLite then answers "database or disk is full" (SQLITE_FULL), as it does when the file
system has no space left."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event

from conclave.errors import StorageFull
from conclave.services import Services

FILL_LIMIT = 5000  # rows; a database a few pages over its size is full long before


def cap_database(services: Services) -> None:
    """The database file cannot grow from now on (every new connection; the pooled ones
    are closed)."""
    engine = services.db.engine
    with engine.connect() as connection:
        pages = int(connection.exec_driver_sql("PRAGMA page_count").scalar_one())

    def cap(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    event.listen(engine, "connect", cap)
    engine.dispose()


def fill(write: Callable[[int], object]) -> None:
    """Call ``write(n)`` for n = 0, 1, ... until the database is full."""
    for number in range(FILL_LIMIT):
        try:
            write(number)
        except StorageFull:
            return
    raise AssertionError(f"the database took {FILL_LIMIT} rows and is still not full")
