"""Look at the SQLite files themselves: is a string still anywhere on disk?"""

from __future__ import annotations

from pathlib import Path

from conclave.services import Services


def database_files(services: Services) -> list[Path]:
    main = Path(services.settings.database_url.removeprefix("sqlite:///"))
    return [p for p in (main, main.with_name(main.name + "-wal")) if p.exists()]


def on_disk(services: Services, marker: str) -> bool:
    """True if the marker's bytes are in the database file or its write-ahead log."""
    needle = marker.encode()
    return any(needle in path.read_bytes() for path in database_files(services))


def rows_mentioning(services: Services, needles: list[str]) -> list[tuple[str, tuple[object, ...]]]:
    """Every row of every table with a cell equal to or containing one of the needles."""
    found = []
    with services.db.engine.connect() as connection:
        raw = connection.connection.dbapi_connection
        assert raw is not None
        tables = [r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in raw.execute(f'SELECT * FROM "{table}"'):
                if any(isinstance(c, str) and any(n in c for n in needles) for c in row):
                    found.append((table, tuple(row)))
    return found
