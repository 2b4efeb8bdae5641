"""What ``conclave serve`` does before it answers (issue 2: ready in under 2 s): it
leaves out what only other commands, the admin pages or an old database need. The
timing itself is measured by bench/startup.py, not here."""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from conclave import cli
from conclave.config import Settings, load_settings
from conclave.services import Services
from conclave.web.app import create_app

# Loaded when first used, never by a start on a database already at the newest revision.
NOT_AT_START = (
    "alembic",  # migrations: only when the database is behind (store/db.py)
    "conclave.compliance.command",  # `conclave compliance`
    "conclave.compliance.report",  # the admin compliance page
    "conclave.compliance.scan",
    "babel.messages.mofile",  # compiling the German catalog: first German page
    "aiosmtplib",  # invitation mail
)


def test_the_server_start_imports_nothing_it_does_not_need() -> None:
    code = (
        "import sys; from conclave import cli; cli._parser(); import conclave.server; "
        f"print(','.join(m for m in {NOT_AT_START!r} if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=120
    )
    assert done.stdout.strip() == ""


def test_serve_imports_the_server_without_the_collector_and_serves_with_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import conclave.server

    seen: list[bool] = []

    def serve(_settings: Settings) -> None:
        seen.append(gc.isenabled())

    monkeypatch.setattr(conclave.server, "serve", serve)
    assert cli.main(["--data-dir", str(tmp_path), "serve"]) == 0
    assert seen == [True] and gc.isenabled()


def test_serve_reenables_the_collector_when_the_import_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "conclave.server", None)  # the import raises
    with pytest.raises(ImportError):
        cli._serve(load_settings(None), None)  # type: ignore[arg-type]
    assert gc.isenabled()


def test_no_openapi_schema_is_built_or_served(services: Services) -> None:
    app = create_app(services)
    with TestClient(app, base_url="https://testserver") as client:
        for path in ("/openapi.json", "/docs", "/redoc", "/docs/oauth2-redirect"):
            assert client.get(path).status_code == 404, path
        assert client.get("/healthz").status_code == 200
    assert app.openapi_schema is None
