"""Give the space of deleted rows back to the file system (SQLite only).

``secure_delete`` already overwrites deleted rows with zeros. After a purge that deleted
something, ``reclaim`` drops the freed pages from the database file with an incremental
vacuum and truncates the write-ahead log, which may still hold old copies of the pages.
Measured (docs/data-protection.md): an incremental vacuum costs about a millisecond per
thousand deleted audit entries, a full VACUUM rewrites the whole file (0.4 s for 27 MB),
so a database file made before auto_vacuum was switched on is converted once with VACUUM.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import Engine

log = logging.getLogger("conclave.store")
INCREMENTAL = 2


@dataclass(frozen=True, slots=True)
class Reclaimed:
    converted: bool  # the one-time switch to auto_vacuum=INCREMENTAL (a full VACUUM)
    pages_freed: int
    wal_truncated: bool


def reclaim(engine: Engine) -> Reclaimed | None:
    """Vacuum and checkpoint; None for databases other than SQLite."""
    if engine.dialect.name != "sqlite":
        return None
    with engine.connect() as connection:
        raw = connection.connection.dbapi_connection
        if raw is None:
            return None
        cursor = raw.cursor()
        try:
            raw.commit()
            converted = cursor.execute("PRAGMA auto_vacuum").fetchone()[0] != INCREMENTAL
            before = cursor.execute("PRAGMA page_count").fetchone()[0]
            if converted:
                cursor.execute("PRAGMA auto_vacuum=INCREMENTAL")
                raw.executescript("VACUUM;")
            else:
                # executescript steps the pragma to completion (execute frees one page)
                raw.executescript("PRAGMA incremental_vacuum;")
            after = cursor.execute("PRAGMA page_count").fetchone()[0]
            busy = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            raw.commit()
        finally:
            cursor.close()
    if busy:
        log.info("wal checkpoint incomplete", extra={"reason": "readers active"})
    return Reclaimed(
        converted=converted, pages_freed=max(0, before - after), wal_truncated=not busy
    )
