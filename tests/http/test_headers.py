"""Every response carries the security headers; /healthz needs no session."""

from __future__ import annotations

import pytest

from conclave.services import Services
from tests.support.web import Browser, make_user, signed_in

PATHS = ["/healthz", "/login", "/privacy", "/dashboard", "/no/such/page", "/static/css/app.css"]


@pytest.mark.parametrize("path", PATHS)
def test_security_headers_on_every_response(services: Services, path: str) -> None:
    response = Browser(services).get(path)
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "http" not in csp  # no other origin
    assert response.headers["strict-transport-security"].startswith("max-age=")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    policy = response.headers["permissions-policy"]
    for feature in ("camera=(self)", "microphone=(self)", "display-capture=(self)"):
        assert feature in policy


def test_healthz(services: Services) -> None:
    response = Browser(services).get("/healthz")
    assert response.status_code == 200
    no_janus_in_process = {"status": "ok", "sfu": "none", "storage": "ok"}
    assert response.json() == no_janus_in_process


def test_errors_render_pages_not_tracebacks(services: Services) -> None:
    browser = signed_in(services, make_user(services, "alice"))
    response = browser.get("/no/such/page")
    assert response.status_code == 404
    assert "This page does not exist." in response.text
    assert "Traceback" not in response.text
    wrong_method = browser.client.put("/login")
    assert wrong_method.status_code == 405


def test_pages_have_no_inline_script_or_style(services: Services) -> None:
    browser = signed_in(services, make_user(services, "alice", "admin"))
    for path in ("/login", "/dashboard", "/privacy", "/account", "/admin/users", "/meetings/new"):
        html = browser.get(path).text
        assert "<script>" not in html and "<style" not in html and " style=" not in html
        assert " on" + "click=" not in html
