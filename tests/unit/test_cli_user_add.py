"""``conclave user add`` names the account: ``--display-name``, or asked at a terminal."""

from __future__ import annotations

import os
import pty
import select
import sys
import time
from pathlib import Path

from tests.support.web import PASSWORD
from tests.unit.test_cli import _run

ANSWER_SECONDS = 60.0  # a deadline for each prompt (starting Python is slow on a busy machine)


def _at_a_terminal(data: Path, args: list[str], answers: list[tuple[str, str]]) -> tuple[int, str]:
    """Run ``conclave`` on a pseudo-terminal of its own (as a person types), answering each
    prompt when it appears; the exit status and everything the terminal showed."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: its controlling terminal is the pty (getpass reads from it)
        os.execv(sys.executable, [sys.executable, "-m", "conclave", "--data-dir", str(data), *args])
    shown = b""
    try:
        for prompt, answer in answers:
            deadline = time.monotonic() + ANSWER_SECONDS
            while prompt.encode() not in shown.rpartition(b"\n")[2]:
                assert time.monotonic() < deadline, f"no prompt {prompt!r}: {shown!r}"
                if select.select([fd], [], [], 1.0)[0]:
                    shown += os.read(fd, 4096)
            shown += b"\n"
            os.write(fd, answer.encode() + b"\n")
        deadline = time.monotonic() + ANSWER_SECONDS
        while time.monotonic() < deadline:
            if select.select([fd], [], [], 1.0)[0]:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                shown += chunk
    finally:
        os.close(fd)
        _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), shown.decode(errors="replace")


def _listed(data: Path) -> list[str]:
    return _run(data, "user", "list").stdout.splitlines()


def test_display_name_option(tmp_path: Path) -> None:
    data = tmp_path / "data"
    added = _run(
        data,
        "user",
        "add",
        "alice",
        "--display-name",
        "Alice Liddell",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert added.returncode == 0, added.stderr
    assert _listed(data) == ["alice\tmember\tactive\tAlice Liddell"]


def test_at_a_terminal_the_display_name_is_asked_for_with_the_user_name_as_default(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    code, shown = _at_a_terminal(
        data,
        ["user", "add", "alice"],
        [
            ("Display name [alice]: ", "Alice Liddell"),
            ("Password: ", PASSWORD),
            ("Repeat password: ", PASSWORD),
        ],
    )
    assert code == 0, shown
    assert "created member alice" in shown
    code, shown = _at_a_terminal(
        data,
        ["user", "add", "bob"],
        [("Display name [bob]: ", ""), ("Password: ", PASSWORD), ("Repeat password: ", PASSWORD)],
    )
    assert code == 0, shown
    assert _listed(data) == ["alice\tmember\tactive\tAlice Liddell", "bob\tmember\tactive\tbob"]


def test_not_at_a_terminal_nothing_is_asked_and_the_user_name_is_shown(tmp_path: Path) -> None:
    data = tmp_path / "data"
    added = _run(data, "user", "add", "carol", "--password-stdin", stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    assert "Display name" not in added.stdout + added.stderr
    assert _listed(data) == ["carol\tmember\tactive\tcarol"]
