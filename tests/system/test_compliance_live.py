"""The compliance report against real servers: a running ``conclave serve`` passes the
live checks; a small local server with a foreign script, or without TLS, fails them. The
scan talks to the origin it is given and to nothing else."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx

from conclave.compliance.checks.third_parties import foreign_origins
from conclave.compliance.checks.transport import hsts, tls_only, tls_protocols
from conclave.compliance.facts import gather
from conclave.compliance.report import make_report, scan_url
from conclave.compliance.scan import ENTRY_POINTS, PUBLIC_PAGES, scan_origin
from conclave.config import load_settings
from conclave.tls import ensure_tls
from tests.support.server import running_server
from tests.support.tiny_http import Page, tiny_server
from tests.support.web import PASSWORD

PRIVACY_ENV = {
    "CONCLAVE_PRIVACY__CONTROLLER_NAME": "Example GmbH",
    "CONCLAVE_PRIVACY__CONTROLLER_CONTACT": "Example GmbH, Berlin, https://example.org/contact",
}
CSP = "default-src 'self'; base-uri 'none'"
HSTS = "max-age=31536000"
SAFE = {"content-security-policy": CSP, "strict-transport-security": HSTS}


def _cli(
    data: Path, *args: str, env: dict[str, str] | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "conclave", "--data-dir", str(data), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "CONCLAVE_SERVER__HOSTNAMES": '["127.0.0.1"]', **(env or {})},
        check=False,
    )


def test_the_served_pages_pass_and_the_cli_reports_in_every_format(tmp_path: Path) -> None:
    with running_server(tmp_path, **PRIVACY_ENV) as server:
        settings = load_settings(
            None, data_dir=server.data_dir, server={"hostnames": ["127.0.0.1"]}
        )
        scan = scan_url(settings, server.base_url)
        assert scan.error is None and scan.verified
        fetched = {r.url.removeprefix(server.base_url) for r in scan.resources}
        assert set(PUBLIC_PAGES) | set(ENTRY_POINTS) <= fetched
        assert "/static/js/e2ee/worker.js" in fetched  # found through the room's imports
        assert "/static/css/app.css" in fetched and "/static/js/forms.js" in fetched
        assert scan.foreign == ()
        assert scan.plain_http == "refused"
        assert scan.peer_certificate is not None
        facts = gather(settings, now=_now(), scan=scan)
        for check in (tls_only, tls_protocols, hsts, foreign_origins):
            assert check(facts).status == "pass", check(facts)
        assert [(a.offer, a.connected) for a in scan.tls] == [
            ("TLS 1.0/1.1", False),
            ("TLS 1.2, CBC suites only", False),
            ("TLS 1.2, AEAD suites", True),
            ("TLS 1.3", True),
        ]

        # The command, as an administrator runs it next to the server: exit status 0
        # (the self-signed certificate only warns), every format parses.
        text = _cli(server.data_dir, "compliance", "--url", server.base_url, env=PRIVACY_ENV)
        assert text.returncode == 0, text.stdout + text.stderr
        assert f"Checked: the server at {server.base_url}" in text.stdout
        data = json.loads(
            _cli(
                server.data_dir,
                "compliance",
                "--url",
                server.base_url,
                "--format",
                "json",
                env=PRIVACY_ENV,
            ).stdout
        )
        statuses = {c["id"]: c["status"] for c in data["checks"]}
        assert statuses["no-foreign-origins"] == statuses["tls-only"] == "pass"
        assert statuses["certificate"] == "warn" and data["exit_status"] == 0
        german = _cli(
            server.data_dir,
            "compliance",
            "--url",
            server.base_url,
            "--format",
            "markdown",
            "--lang",
            "de",
            env=PRIVACY_ENV,
        )
        assert german.returncode == 0 and "# Conclave: Prüfbericht Datenschutz" in german.stdout

        # Without the controller named, the same server fails the report.
        failing = _cli(server.data_dir, "compliance", "--url", server.base_url)
        assert failing.returncode == 1
        assert "[NICHT ERFÜLLT]" not in failing.stdout and "[FAILED]" in failing.stdout


def test_a_certificate_the_scan_cannot_trust_fails_unless_insecure(tmp_path: Path) -> None:
    with running_server(tmp_path) as server:
        stranger = load_settings(None, data_dir=tmp_path / "elsewhere")  # another installation
        scan = scan_url(stranger, server.base_url)
        assert scan.error is not None and "CERTIFICATE_VERIFY_FAILED" in scan.error
        report = make_report(stranger, scan, now=_now())
        statuses = {r.id: r.status for r in report.results}
        assert statuses["certificate"] == statuses["no-foreign-origins"] == "fail"
        insecure = scan_url(stranger, server.base_url, insecure=True)
        assert insecure.error is None and not insecure.verified
        certificate = next(
            r for r in make_report(stranger, insecure, now=_now()).results if r.id == "certificate"
        )
        assert any("--insecure" in item.render(str) for item in certificate.evidence)


def _now() -> datetime:
    return datetime.now(UTC)


def _tls_files(tmp_path: Path) -> tuple[Path, Path]:
    material = ensure_tls(load_settings(None, data_dir=tmp_path / "tiny"))
    return material.cert_file, material.key_file


def test_a_foreign_script_and_font_fail_and_are_never_requested(tmp_path: Path) -> None:
    cert_file, key_file = _tls_files(tmp_path)
    # The "foreign" origin is another local server: had the scan requested anything
    # from it, its request log would show it.
    with tiny_server({"/x.js": Page("alert(1)", "text/javascript")}, host="127.0.0.2") as other:
        page = (
            '<!doctype html><html><head><link rel="stylesheet" href="/static/site.css">'
            f'<script src="{other.base_url}/x.js"></script></head>'
            '<body><a href="https://example.org/imprint">Imprint</a></body></html>'
        )
        css = f'@import url("{other.base_url}/font.css");\n'
        css += "body { background: url(/static/dot.png) }"
        pages = {path: Page(page, headers=SAFE) for path in ("/", "/login", "/privacy")} | {
            "/static/site.css": Page(css, "text/css", headers=SAFE),
            "/static/dot.png": Page("png", "image/png", headers=SAFE),
        }
        with tiny_server(pages, tls=(cert_file, key_file)) as site:
            settings = load_settings(None, data_dir=tmp_path / "tiny")
            scan = scan_url(settings, site.base_url)
            assert scan.error is None
            foreign = {(finding.url, finding.how) for finding in scan.foreign}
            assert foreign == {
                (f"{other.base_url}/x.js", "<script src>"),
                (f"{other.base_url}/font.css", "CSS @import"),
            }
            assert [link.url for link in scan.links] == ["https://example.org/imprint"] * 3
            status = foreign_origins(gather(settings, now=_now(), scan=scan))
            assert status.status == "fail"
            evidence = "\n".join(item.render(str) for item in status.evidence)
            assert f"{site.base_url}/ loads {other.base_url}/x.js (<script src>)" in evidence
            assert "/static/dot.png" in site.requests
        assert other.requests == []


def test_a_server_with_old_tls_and_cbc_suites_fails(tmp_path: Path) -> None:
    pages = {path: Page("<!doctype html><p>hello</p>", headers=SAFE) for path in PUBLIC_PAGES}
    with tiny_server(pages, tls=_tls_files(tmp_path), weak_tls=True) as site:
        settings = load_settings(None, data_dir=tmp_path / "tiny")
        scan = scan_url(settings, site.base_url)
        assert scan.error is None
        result = tls_protocols(gather(settings, now=_now(), scan=scan))
        evidence = "\n".join(item.render(str) for item in result.evidence)
        assert result.status == "fail", evidence
        assert f"{site.base_url} accepted TLS 1.0/1.1" in evidence
        assert f"{site.base_url} accepted TLS 1.2, CBC suites only" in evidence


def test_a_server_without_tls_fails(tmp_path: Path) -> None:
    pages = {path: Page("<!doctype html><p>hello</p>") for path in ("/", "/login", "/privacy")}
    with tiny_server(pages) as site:
        settings = load_settings(None, data_dir=tmp_path / "data")
        scan = scan_url(settings, site.base_url)
        facts = gather(settings, now=_now(), scan=scan)
        assert tls_only(facts).status == "fail"
        assert hsts(facts).status == "fail"
        policy = foreign_origins(facts)
        assert policy.status == "fail"
        assert any("no Content-Security-Policy header" in e.render(str) for e in policy.evidence)


def test_the_scan_refuses_to_leave_its_origin_on_redirects(tmp_path: Path) -> None:
    with tiny_server({}, host="127.0.0.3") as other:
        pages = {"/": Page("", status=302, headers={"location": f"{other.base_url}/"})}
        with tiny_server(pages) as site:
            scan = scan_origin(site.base_url, verify=False)
            assert [(f.url, f.how) for f in scan.foreign] == [(f"{other.base_url}/", "redirect")]
        assert other.requests == []


def test_the_admin_page_scans_its_own_server(tmp_path: Path) -> None:
    data = tmp_path / "data"
    added = _cli(data, "user", "add", "root", "--admin", "--password-stdin", stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    with running_server(tmp_path, data_dir=data, expect_setup_link=False, **PRIVACY_ENV) as server:
        with httpx.Client(base_url=server.base_url, verify=False, trust_env=False) as http:
            login = http.get("/login")
            token = login.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
            signed = http.post(
                "/login", data={"csrf_token": token, "username": "root", "password": PASSWORD}
            )
            assert signed.status_code == 303, signed.text
            page = http.get("/admin/compliance", timeout=120)
            assert page.status_code == 200
            assert "Pages load nothing from other origins" in page.text
            assert f"the server at {server.base_url}" in page.text
            report = http.get("/admin/compliance?format=json", timeout=120).json()
        statuses = {c["id"]: c["status"] for c in report["checks"]}
        assert statuses["no-foreign-origins"] == statuses["tls-only"] == statuses["hsts"] == "pass"
        foreign = next(c for c in report["checks"] if c["id"] == "no-foreign-origins")
        assert any("/dashboard" in item and "/admin/users" in item for item in foreign["evidence"])
        assert report["exit_status"] == 0
