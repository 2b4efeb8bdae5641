"""Folders and files only the server's own user may read.

The data directory holds the database (password hashes, guests' e-mail addresses, the
audit log), the server secret and the TLS private key; docs/configuration.md asks for it
to be private. The server creates it that way (0700, files 0600), and tightens a folder
or database that an older version or a person created readable by others. One the server
may not change (a folder the administrator gave it, owned by someone else) stays as it is.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def private_dir(path: Path) -> None:
    """Create ``path`` (with its parents) if it is missing, private to this user."""
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    _tighten(path, PRIVATE_DIR)


def private_file(path: Path) -> None:
    """Create ``path`` empty if it is missing, private to this user (SQLite makes its WAL
    and shared-memory files with the database file's permissions)."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE))
    _tighten(path, PRIVATE_FILE)


def _tighten(path: Path, mode: int) -> None:
    try:
        if stat.S_IMODE(path.stat().st_mode) & ~mode:
            path.chmod(mode)
    except PermissionError:
        pass  # not ours to change
