"""The compliance report in the administration pages: administrators only."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import profiles

from conclave.compliance.checks import CHECKS
from conclave.config import load_settings
from conclave.services import Services, build_services
from tests.support.net import free_port
from tests.support.web import Browser, make_user, signed_in


@pytest.fixture
def quiet_services(tmp_path: Path) -> Iterator[Services]:
    """Services whose configured port nothing listens on: the page's scan of its own
    server finds nobody (the live scan is tested against a real server elsewhere)."""
    settings = load_settings(
        None,
        data_dir=tmp_path / "data",
        server={"port": free_port(), "hostnames": ["127.0.0.1"]},
        privacy={"controller_name": "Example GmbH", "controller_contact": "dsb@example.org"},
    )
    built = build_services(settings, argon2=profiles.CHEAPEST)
    yield built
    built.db.dispose()


def test_only_administrators_see_the_report(quiet_services: Services) -> None:
    anonymous = Browser(quiet_services).get("/admin/compliance")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    member = signed_in(quiet_services, make_user(quiet_services, "mia"))
    assert member.get("/admin/compliance").status_code == 403
    assert member.get("/admin/compliance?format=json").status_code == 403


def test_the_report_page_and_downloads(quiet_services: Services) -> None:
    admin = signed_in(quiet_services, make_user(quiet_services, "root", "admin"))
    page = admin.get("/admin/compliance")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    for check in CHECKS:
        assert f'id="check-{check.id}"' in page.text
    assert "Technical and organisational measures" in page.text
    assert 'href="/static/css/compliance.css"' in page.text
    # Nobody listens on the configured port: the live checks say so, and fail.
    assert "could not be reached" in page.text
    download = admin.get("/admin/compliance?format=json")
    assert download.headers["content-type"] == "application/json"
    assert download.headers["content-disposition"].startswith(
        'attachment; filename="conclave-compliance-'
    )
    data = json.loads(download.text)
    statuses = {c["id"]: c["status"] for c in data["checks"]}
    assert statuses["no-foreign-origins"] == "fail" and statuses["privacy-notice"] == "pass"
    assert admin.get("/admin/compliance?format=pdf").status_code == 400
    users = admin.get("/admin/users")
    assert 'href="/admin/compliance"' in users.text


def test_the_report_page_in_german(quiet_services: Services) -> None:
    admin = signed_in(quiet_services, make_user(quiet_services, "root", "admin"))
    page = admin.get("/admin/compliance", headers={"accept-language": "de"})
    assert '<html lang="de">' in page.text
    assert "Prüfbericht Datenschutz" in page.text
    for check in CHECKS:
        assert check.title not in page.text
