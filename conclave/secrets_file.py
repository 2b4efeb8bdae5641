"""The server's own secret (CSRF signing), generated once into the data dir."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from conclave.private_files import private_dir


def server_secret(data_dir: Path) -> bytes:
    path = data_dir / "secret.key"
    if path.is_file():
        value = bytes.fromhex(path.read_text().strip())
        if len(value) >= 32:
            return value
    private_dir(data_dir)
    value = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value.hex())
    return value
