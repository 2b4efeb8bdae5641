"""The ``conclave`` command acts on the same installation as the server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from tests.support.web import PASSWORD


def _run(
    data: Path, *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "conclave", "--data-dir", str(data), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_user_commands(tmp_path: Path) -> None:
    data = tmp_path / "data"
    added = _run(data, "user", "add", "root", "--admin", "--password-stdin", stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    assert "created admin root" in added.stdout
    assert (
        _run(data, "user", "add", "alice", "--password-stdin", stdin=PASSWORD + "\n").returncode
        == 0
    )
    listing = _run(data, "user", "list")
    assert listing.stdout.splitlines() == [
        "alice\tmember\tactive\talice",
        "root\tadmin\tactive\troot",
    ]
    duplicate = _run(data, "user", "add", "alice", "--password-stdin", stdin=PASSWORD + "\n")
    assert duplicate.returncode == 1 and "This user name is taken." in duplicate.stderr
    weak = _run(data, "user", "add", "bob", "--password-stdin", stdin="short\n")
    assert weak.returncode == 1 and "at least 12 characters" in weak.stderr
    changed = _run(
        data, "user", "set-password", "alice", "--password-stdin", stdin="another long secret\n"
    )
    assert changed.returncode == 0 and "all sessions ended" in changed.stdout
    assert _run(data, "user", "remove", "alice").returncode == 0
    missing = _run(data, "user", "remove", "alice")
    assert missing.returncode == 1 and "No such user." in missing.stderr
    last_admin = _run(data, "user", "remove", "root")
    assert last_admin.returncode == 1 and "last active administrator" in last_admin.stderr
    assert _run(data, "user", "list").stdout.splitlines() == ["root\tadmin\tactive\troot"]


def test_a_password_prompt_that_gets_no_password_ends_with_a_clear_message(
    tmp_path: Path,
) -> None:
    ended = _run(tmp_path / "data", "user", "add", "carol", stdin="x\n")
    assert ended.returncode != 0
    assert "no password given" in ended.stderr and "Traceback" not in ended.stderr


def test_check_reports_every_problem_with_exit_status_2(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text(
        '[privacy]\ncontroller_name = "ACME"\ncontroller_contact = "dpo@acme.example"\n'
    )
    ok = _run(tmp_path, "check", "--config", str(good))
    assert ok.returncode == 0 and "The configuration is valid." in ok.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text('[server]\nport = 70000\n[media]\nmode = "x"\n[nonsense]\na = 1\n')
    checked = _run(tmp_path, "check", "--config", str(bad))
    assert checked.returncode == 2
    assert "server.port = 70000" in checked.stderr
    assert "media.mode = 'x'" in checked.stderr
    assert "nonsense: unknown setting" in checked.stderr
    via_env = _run(tmp_path, "check", env={"CONCLAVE_CONFIG": str(bad)})
    assert via_env.returncode == 2


def test_serve_refuses_to_start_on_invalid_configuration(tmp_path: Path) -> None:
    result = _run(tmp_path, "serve", "--port", "0")
    assert result.returncode == 2
    assert "server.port = 0" in result.stderr


def test_serve_on_a_port_in_use_stops_before_it_announces_anything(tmp_path: Path) -> None:
    """A second Conclave on the same port (or any other server there): a plain message,
    no banner, no setup link, and nothing started."""
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = str(taken.getsockname()[1])
        result = _run(tmp_path / "data", "serve", "--host", "127.0.0.1", "--port", port)
    assert result.returncode != 0
    assert f"port {port} is in use" in result.stderr
    assert "listening" not in result.stdout and "setup" not in result.stdout
    assert not (tmp_path / "data" / "janus").exists()
