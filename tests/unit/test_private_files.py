"""The data directory and what the server writes into it are private to the server's user:
they hold password hashes, guests' e-mail addresses and the server secret."""

from __future__ import annotations

import stat
from pathlib import Path

from argon2 import profiles

from conclave.config import load_settings
from conclave.private_files import private_dir
from conclave.services import build_services


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_data_directory_and_its_database_are_private(tmp_path: Path) -> None:
    data = tmp_path / "conclave-data"
    services = build_services(load_settings(None, data_dir=data), argon2=profiles.CHEAPEST)
    try:
        assert _mode(data) == 0o700
        assert _mode(data / "conclave.db") == 0o600
        assert _mode(data / "secret.key") == 0o600
    finally:
        services.db.dispose()


def test_a_data_directory_made_readable_by_others_is_tightened(tmp_path: Path) -> None:
    data = tmp_path / "conclave-data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    (data / "conclave.db").touch(mode=0o644)
    (data / "conclave.db").chmod(0o644)
    services = build_services(load_settings(None, data_dir=data), argon2=profiles.CHEAPEST)
    try:
        assert (_mode(data), _mode(data / "conclave.db")) == (0o700, 0o600)
    finally:
        services.db.dispose()


def test_a_private_folder_keeps_what_it_has(tmp_path: Path) -> None:
    folder = tmp_path / "a" / "b"
    private_dir(folder)
    (folder / "kept").write_text("x")
    private_dir(folder)
    assert _mode(folder) == 0o700
    assert (folder / "kept").read_text() == "x"
