"""``conclave compliance``: exit status 0 without failures, 1 with, 2 for a bad configuration."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PRIVACY = {
    "CONCLAVE_PRIVACY__CONTROLLER_NAME": "Example GmbH",
    "CONCLAVE_PRIVACY__CONTROLLER_CONTACT": "datenschutz@example.org",
}


def _run(data: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "conclave", "--data-dir", str(data), "compliance", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
        check=False,
    )


def test_exit_status_and_nothing_created(tmp_path: Path) -> None:
    data = tmp_path / "data"
    failing = _run(data)
    assert failing.returncode == 1, failing.stderr
    assert "[FAILED] The privacy notice names the controller and a contact" in failing.stdout
    assert not data.exists()  # a report creates no database, certificate or secret
    passing = _run(data, **PRIVACY)
    assert passing.returncode == 0, passing.stdout
    assert "failed: 0" in passing.stdout


def test_invalid_configuration_and_arguments(tmp_path: Path) -> None:
    bad = _run(tmp_path / "data", CONCLAVE_MEETINGS__DEFAULT_LOBBY="nobody")
    assert bad.returncode == 2 and "meetings.default_lobby" in bad.stderr
    url = _run(tmp_path / "data", "--url", "ftp://meet.example.org")
    assert url.returncode == 2 and "is not an http:// or https:// URL" in url.stderr


def test_formats_and_languages(tmp_path: Path) -> None:
    data = tmp_path / "data"
    report = json.loads(_run(data, "--format", "json", **PRIVACY).stdout)
    assert report["exit_status"] == 0 and report["target"] is None
    german = json.loads(_run(data, "--format", "json", "--lang", "de", **PRIVACY).stdout)
    assert german["language"] == "de"
    assert [c["id"] for c in german["checks"]] == [c["id"] for c in report["checks"]]
    assert german["checks"][0]["title"] != report["checks"][0]["title"]
    html = _run(data, "--format", "html", "--lang", "de", **PRIVACY).stdout
    assert html.startswith("<!doctype html>") and html.rstrip().endswith("</html>")
    markdown = _run(data, "--format", "markdown", **PRIVACY).stdout
    assert markdown.startswith("# Conclave compliance report")


def test_a_bad_configuration_fails(tmp_path: Path) -> None:
    bad = _run(
        tmp_path / "data",
        "--format",
        "json",
        CONCLAVE_SECURITY__REQUIRE_E2EE="false",
        CONCLAVE_SECURITY__HSTS_MAX_AGE="0",
        CONCLAVE_MEETINGS__DEFAULT_LOBBY="off",
        CONCLAVE_MEDIA__ICE_SERVERS='[{"urls": ["stun:stun.l.google.com:19302"]}]',
        **PRIVACY,
    )
    assert bad.returncode == 1
    failed = {c["id"] for c in json.loads(bad.stdout)["checks"] if c["status"] == "fail"}
    assert failed == {"e2ee-required", "hsts", "guest-lobby", "ice-servers"}
