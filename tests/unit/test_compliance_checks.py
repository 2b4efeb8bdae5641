"""Every compliance check passes on a good configuration and fails (or warns, where no
setting can make it fail) on a deliberately bad one."""

from __future__ import annotations

import dataclasses
import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from argon2 import profiles
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from conclave.compliance.checks import CHECKS, run_checks
from conclave.compliance.checks.access import guest_lobby, invitation_only, sign_in
from conclave.compliance.checks.base import Check
from conclave.compliance.checks.encryption import e2ee_required, no_recording
from conclave.compliance.checks.information import privacy_notice_complete
from conclave.compliance.checks.minimisation import log_addresses, retention
from conclave.compliance.checks.rights import data_subject_rights
from conclave.compliance.checks.security import audit_log, janus_api
from conclave.compliance.checks.third_parties import (
    classify,
    csp_problems,
    foreign_origins,
    ice_host,
    ice_servers,
)
from conclave.compliance.checks.transport import certificate, hsts, tls_only, tls_protocols
from conclave.compliance.facts import CipherFacts, Facts, FeatureFacts, TlsPolicyFacts, gather
from conclave.compliance.log_probe import LogProbe
from conclave.compliance.model import CheckResult
from conclave.compliance.report import scan_installed_files
from conclave.compliance.scan import Finding, OriginScan, Resource
from conclave.compliance.tls_probe import OFFERS, TlsAttempt
from conclave.config import Settings, load_settings
from conclave.services import build_services
from conclave.tls import ensure_tls

CSP = "default-src 'self'; base-uri 'none'; object-src 'none'"
HSTS = "max-age=31536000; includeSubDomains"
PRIVACY = {
    "controller_name": "Example GmbH",
    "controller_contact": "Example GmbH, Hauptstraße 1, 12345 Berlin, datenschutz@example.org",
}
DISK = scan_installed_files()


def good(tmp_path: Path, **sections: Any) -> Settings:
    """The defaults, with the controller named (which no default can do)."""
    return load_settings(None, data_dir=tmp_path / "data", **{"privacy": PRIVACY, **sections})


def facts(settings: Settings, scan: OriginScan = DISK, **replace: Any) -> Facts:
    gathered = gather(settings, now=datetime.now(UTC), scan=scan)
    return dataclasses.replace(gathered, **replace)


def run(check: Check, facts: Facts) -> tuple[str, str]:
    result: CheckResult = check(facts)
    return result.status, "\n".join(item.render(str) for item in result.evidence)


def live_scan(**fields: Any) -> OriginScan:
    page = Resource("https://127.0.0.1:8443/login", 200, "html", CSP, HSTS)
    values: dict[str, Any] = {
        "origin": "https://127.0.0.1:8443",
        "live": True,
        "resources": (page,),
        "plain_http": "refused",
    }
    return OriginScan(**{**values, **fields})


# -- the whole report ----------------------------------------------------------------


def test_a_good_configuration_fails_no_check(tmp_path: Path) -> None:
    results = run_checks(facts(good(tmp_path)))
    assert {r.id for r in results} == {c.id for c in CHECKS}
    assert [r.id for r in results if r.status == "fail"] == []
    # Only the certificate warns: there is none yet (generated at the first start).
    assert [r.id for r in results if r.status == "warn"] == ["certificate"]


def test_the_defaults_fail_only_for_the_missing_controller(settings: Settings) -> None:
    results = run_checks(facts(settings))
    assert [r.id for r in results if r.status == "fail"] == ["privacy-notice"]


def test_check_ids_are_unique_and_every_check_has_evidence(tmp_path: Path) -> None:
    assert len({c.id for c in CHECKS}) == len(CHECKS)
    for result in run_checks(facts(good(tmp_path))):
        assert result.evidence, result.id


# -- transmission security -------------------------------------------------------------


def test_tls_only_from_configuration_and_live(tmp_path: Path) -> None:
    settings = good(tmp_path, server={"http_redirect_port": 8080})
    status, evidence = run(tls_only, facts(settings))
    assert status == "pass"
    assert "8080 only ever answers with a redirect to https://localhost:8443" in evidence
    assert run(tls_only, facts(settings, live_scan()))[0] == "pass"
    status, evidence = run(tls_only, facts(settings, live_scan(plain_http="served")))
    assert status == "fail" and "also answers plain-HTTP" in evidence
    plain = live_scan(origin="http://127.0.0.1:8080", plain_http="served")
    status, evidence = run(tls_only, facts(settings, plain))
    assert status == "fail" and "http://127.0.0.1:8080 serves pages without TLS" in evidence
    down = live_scan(error="ConnectError: refused", resources=())
    assert run(tls_only, facts(settings, down))[0] == "fail"


def test_hsts(tmp_path: Path) -> None:
    assert run(hsts, facts(good(tmp_path)))[0] == "pass"
    status, evidence = run(hsts, facts(good(tmp_path, security={"hsts_max_age": 0})))
    assert status == "fail" and "No HSTS" in evidence
    assert run(hsts, facts(good(tmp_path, security={"hsts_max_age": 86400})))[0] == "warn"
    assert run(hsts, facts(good(tmp_path), live_scan()))[0] == "pass"
    bare = Resource("https://127.0.0.1:8443/", 200, "html", CSP, None)
    status, evidence = run(hsts, facts(good(tmp_path), live_scan(resources=(bare,))))
    assert status == "fail"
    assert "1 responses came without a Strict-Transport-Security header" in evidence


def _attempts(**connected: bool) -> tuple[TlsAttempt, ...]:
    """The live handshakes as Conclave's server answers them, with ``connected`` changed
    by index (``o0`` is the first offer, TLS 1.0/1.1)."""
    return tuple(
        TlsAttempt(
            offer.name,
            offer.must_connect,
            connected.get(f"o{index}", offer.must_connect),
            negotiated="TLSv1.3 TLS_AES_256_GCM_SHA384" if offer.must_connect else None,
        )
        for index, offer in enumerate(OFFERS)
    )


def test_tls_protocols_from_configuration_and_live(tmp_path: Path) -> None:
    settings = good(tmp_path)
    status, evidence = run(tls_protocols, facts(settings))
    assert status == "pass", evidence
    assert "TLS 1.2 or newer" in evidence and "ECDHE-ECDSA-AES128-GCM-SHA256" in evidence
    weak = TlsPolicyFacts(
        ssl.TLSVersion.TLSv1,
        (
            CipherFacts("ECDHE-RSA-AES128-GCM-SHA256", "TLSv1.2", aead=True, forward_secret=True),
            CipherFacts("ECDHE-RSA-AES128-SHA256", "TLSv1.2", aead=False, forward_secret=True),
            CipherFacts("AES128-GCM-SHA256", "TLSv1.2", aead=True, forward_secret=False),
        ),
    )
    status, evidence = run(tls_protocols, facts(settings, tls_policy=weak))
    assert status == "fail"
    assert "TLS 1.0 is allowed" in evidence
    assert "without AEAD: ECDHE-RSA-AES128-SHA256" in evidence
    assert "without forward secrecy: AES128-GCM-SHA256" in evidence

    assert run(tls_protocols, facts(settings, live_scan(tls=_attempts())))[0] == "pass"
    old = run(tls_protocols, facts(settings, live_scan(tls=_attempts(o0=True))))
    assert old[0] == "fail" and "accepted TLS 1.0/1.1" in old[1]
    cbc = run(tls_protocols, facts(settings, live_scan(tls=_attempts(o1=True))))
    assert cbc[0] == "fail" and "accepted TLS 1.2, CBC suites only" in cbc[1]
    no13 = run(tls_protocols, facts(settings, live_scan(tls=_attempts(o3=False))))
    assert no13[0] == "fail" and "refused TLS 1.3" in no13[1]
    untested = _attempts()[:1] + tuple(
        dataclasses.replace(a, tested=False, connected=False) for a in _attempts()[1:2]
    )
    assert (
        run(tls_protocols, facts(settings, live_scan(tls=untested + _attempts()[2:])))[0] == "warn"
    )
    down = live_scan(error="ConnectError: refused", resources=())
    assert run(tls_protocols, facts(settings, down))[0] == "fail"


def _certificate(
    folder: Path,
    *,
    names: list[str],
    days: int = 90,
    start: timedelta = timedelta(days=-1),
    rsa_bits: int | None = None,
    self_signed: bool = False,
) -> tuple[Path, Path]:
    """A certificate signed by a throwaway CA (or self-signed), written as PEM files."""
    now = datetime.now(UTC)
    key: Any = (
        rsa.generate_private_key(65537, rsa_bits)
        if rsa_bits
        else ec.generate_private_key(ec.SECP256R1())
    )
    ca_key = key if self_signed else ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    issuer = (
        subject if self_signed else x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test CA")])
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + start)
        .not_valid_after(now + start + timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), False)
        .sign(ca_key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def _with_certificate(tmp_path: Path, **options: Any) -> Settings:
    cert_file, key_file = _certificate(tmp_path / "pki", **options)
    return good(
        tmp_path,
        server={"hostnames": ["meet.example.org"]},
        tls={"cert_file": cert_file, "key_file": key_file},
    )


def test_certificate_from_a_ca_passes(tmp_path: Path) -> None:
    status, evidence = run(
        certificate, facts(_with_certificate(tmp_path, names=["meet.example.org"]))
    )
    assert status == "pass", evidence
    assert "Key ECDSA secp256r1, signature with sha256" in evidence
    assert "It covers every name in server.hostnames: meet.example.org" in evidence


def test_certificate_generated_is_self_signed_and_warns(settings: Settings) -> None:
    status, evidence = run(certificate, facts(settings))
    assert status == "warn" and "No certificate yet" in evidence
    ensure_tls(settings)
    status, evidence = run(certificate, facts(settings))
    assert status == "warn" and "self-signed" in evidence and "Valid until" in evidence


@pytest.mark.parametrize(
    ("options", "complaint"),
    [
        ({"start": timedelta(days=-100), "days": 90}, "Expired on"),
        ({"start": timedelta(days=10), "days": 90}, "Not valid before"),
        ({"rsa_bits": 1024}, "Key RSA 1024 bit: too weak"),
        ({"names": ["other.example.org"]}, "does not cover meet.example.org"),
    ],
)
def test_certificate_fails(tmp_path: Path, options: dict[str, Any], complaint: str) -> None:
    options = {"names": ["meet.example.org"], **options}
    status, evidence = run(certificate, facts(_with_certificate(tmp_path, **options)))
    assert status == "fail" and complaint in evidence


def test_certificate_close_to_expiry_warns(tmp_path: Path) -> None:
    settings = _with_certificate(tmp_path, names=["meet.example.org"], days=10)
    status, evidence = run(certificate, facts(settings))
    assert status == "warn" and "days left" in evidence


def test_certificate_not_trusted_fails(tmp_path: Path) -> None:
    scan = live_scan(
        error="ConnectError: [SSL: CERTIFICATE_VERIFY_FAILED] self-signed", resources=()
    )
    status, evidence = run(certificate, facts(good(tmp_path), scan))
    assert status == "fail" and "is not trusted" in evidence


# -- end-to-end encryption and recording ------------------------------------------------


def test_e2ee_required(tmp_path: Path) -> None:
    assert run(e2ee_required, facts(good(tmp_path)))[0] == "pass"
    status, evidence = run(e2ee_required, facts(good(tmp_path, security={"require_e2ee": False})))
    assert status == "fail" and "security.require_e2ee = false" in evidence


def test_no_recording(tmp_path: Path) -> None:
    base = facts(good(tmp_path))
    status, evidence = run(no_recording, base)
    assert status == "pass"
    assert "locks rtp_forward behind a random admin_key" in evidence
    unlocked = dataclasses.replace(
        base.janus,
        videoroom=base.janus.videoroom.replace(
            "lock_rtp_forward = true", "lock_rtp_forward = false"
        ),
    )
    assert run(no_recording, dataclasses.replace(base, janus=unlocked))[0] == "fail"
    recording = dataclasses.replace(
        base.janus, videoroom=base.janus.videoroom + "\trecord = true\n"
    )
    status, evidence = run(no_recording, dataclasses.replace(base, janus=recording))
    assert status == "fail" and "records: record" in evidence
    feature = FeatureFacts(
        base.features.client_messages | {"start_recording"},
        base.features.routes,
        base.features.commands,
    )
    status, evidence = run(no_recording, dataclasses.replace(base, features=feature))
    assert status == "fail" and "start_recording" in evidence


def test_no_recording_warns_for_external_janus(tmp_path: Path) -> None:
    settings = good(
        tmp_path, media={"janus": {"urls": ["http://10.0.0.5:8088/janus"], "api_secret": "s3cret"}}
    )
    status, evidence = run(no_recording, facts(settings))
    assert status == "warn" and "http://10.0.0.5:8088/janus" in evidence


# -- authentication and guest access ----------------------------------------------------


def test_invitation_only(tmp_path: Path) -> None:
    assert run(invitation_only, facts(good(tmp_path)))[0] == "pass"
    long = good(tmp_path, invitations={"link_ttl_hours": 2000})
    status, evidence = run(invitation_only, facts(long))
    assert status == "warn" and "2000 hours" in evidence


def test_sign_in(tmp_path: Path) -> None:
    assert run(sign_in, facts(good(tmp_path)))[0] == "pass"
    weak = good(tmp_path, security={"password_min_length": 8, "login_max_failures": 50})
    status, evidence = run(sign_in, facts(weak))
    assert status == "warn" and "only 8 characters" in evidence and "50 failed" in evidence


def test_guest_lobby(tmp_path: Path) -> None:
    assert run(guest_lobby, facts(good(tmp_path)))[0] == "pass"
    assert (
        run(guest_lobby, facts(good(tmp_path, meetings={"default_lobby": "everyone"})))[0] == "pass"
    )
    status, evidence = run(guest_lobby, facts(good(tmp_path, meetings={"default_lobby": "off"})))
    assert status == "fail" and "default_lobby = off" in evidence


def test_guest_lobby_counts_meetings_whose_host_switched_it_off(tmp_path: Path) -> None:
    from conclave.meetings.service import MeetingDraft
    from tests.support.web import make_user

    settings = good(tmp_path)
    services = build_services(settings, argon2=profiles.CHEAPEST)
    try:
        host = make_user(services, "host")
        draft = MeetingDraft(
            title="Board", starts_at=None, ends_at=None, password=None, lobby_policy="off"
        )
        meeting = services.meetings.create(host, draft)
        checked = gather(settings, now=datetime.now(UTC), scan=DISK, services=services)
        assert run(guest_lobby, checked)[0] == "pass"  # no guest invited yet
        services.invitations.invite_email(host, meeting.id, "guest@example.org")
        checked = gather(settings, now=datetime.now(UTC), scan=DISK, services=services)
        status, evidence = run(guest_lobby, checked)
        assert status == "warn" and "1 meetings with invited guests" in evidence
    finally:
        services.db.dispose()


# -- data minimisation ------------------------------------------------------------------


def test_log_addresses(tmp_path: Path) -> None:
    base = facts(good(tmp_path))
    status, evidence = run(log_addresses, base)
    assert status == "pass" and "203.0.113.0/24" in evidence
    leaky = dataclasses.replace(
        base.logging,
        truncate=lambda address: address or "",
        safe_fields=base.logging.safe_fields | {"ip"},
    )
    status, evidence = run(log_addresses, dataclasses.replace(base, logging=leaky))
    assert status == "fail"
    assert (
        "203.0.113.57 is logged as 203.0.113.57" in evidence and "fields that may hold" in evidence
    )
    unscrubbed = dataclasses.replace(base.logging, scrub=lambda line: line)
    assert run(log_addresses, dataclasses.replace(base, logging=unscrubbed))[0] == "fail"


CLEAN_LOG = (
    '{"msg": "websocket handshake", "route": "/ws/meetings/{meeting_id}", '
    '"status": "accepted", "client": "127.9.8.0/24"}\n'
    '{"ts": "2026-12-07T23:42:06.455+00:00", "msg": "tls ready", "fingerprint": "E0:88:A8"}\n'
)


def _probe(log: str, **fields: Any) -> LogProbe:
    sent = ("mtgId123", "tokenABC", "127.9.8.7:45001", ":45001")
    return LogProbe(log, "127.9.8.7", sent, 9, (101, 101, 403, 403), **fields)


def test_log_addresses_reads_a_real_servers_log(tmp_path: Path) -> None:
    base = facts(good(tmp_path))
    status, evidence = run(log_addresses, dataclasses.replace(base, log_probe=_probe(CLEAN_LOG)))
    assert status == "pass", evidence
    assert "9 requests and meeting WebSocket handshakes" in evidence
    assert "from 127.9.8.7; its log names that client only as 127.9.8.0/24" in evidence
    raw = '127.9.8.7:45001 - "WebSocket /ws/meetings/mtgId123?resume=tokenABC" [accepted]'
    for leak in (
        raw,
        "client 127.9.8.7",  # the address alone
        '"route": "/ws/meetings/mtgId123"',  # the meeting id alone
        "resume=tokenABC",
        "peer 198.51.100.23",  # any other full address
        "peer [2001:db8::7]:443",
    ):
        probe = _probe(CLEAN_LOG + leak + "\n")
        status, evidence = run(log_addresses, dataclasses.replace(base, log_probe=probe))
        assert status == "fail" and "(1 lines), e.g.: " + leak in evidence, leak
    broken = _probe("", error="the test server exited with status 2")
    status, evidence = run(log_addresses, dataclasses.replace(base, log_probe=broken))
    assert status == "fail" and "exited with status 2" in evidence
    assert "not in the log of a running server" in run(log_addresses, base)[1]


# -- no third parties -------------------------------------------------------------------


def test_ice_host_parsing() -> None:
    assert ice_host("stun:stun.l.google.com:19302") == "stun.l.google.com"
    assert ice_host("turns:turn.example.org:5349?transport=tcp") == "turn.example.org"
    assert ice_host("turn:[2001:db8::1]:3478") == "2001:db8::1"
    assert ice_host("stun:10.0.0.1") == "10.0.0.1"


def test_ice_server_classification(tmp_path: Path) -> None:
    settings = good(tmp_path, server={"hostnames": ["meet.example.org"]})
    assert classify("turn.example.org", settings) == "own"
    assert classify("meet.example.org", settings) == "own"
    assert classify("10.1.2.3", settings) == "local"
    assert classify("stun.l.google.com", settings) == "public_service"
    assert classify("global.stun.twilio.com", settings) == "public_service"
    assert classify("turn.example.net", settings) == "foreign"
    assert classify("5.9.10.11", settings) == "foreign"


def test_ice_servers(tmp_path: Path) -> None:
    assert run(ice_servers, facts(good(tmp_path)))[0] == "pass"
    own = good(
        tmp_path,
        server={"hostnames": ["meet.example.org"]},
        media={
            "ice_servers": [{"urls": ["stun:10.0.0.2:3478"]}],
            "turn": {"urls": ["turn:turn.example.org:3478?transport=udp"], "secret": "x"},
        },
    )
    assert run(ice_servers, facts(own))[0] == "pass"
    public = good(tmp_path, media={"ice_servers": [{"urls": ["stun:stun.l.google.com:19302"]}]})
    status, evidence = run(ice_servers, facts(public))
    assert status == "fail" and "stun.l.google.com" in evidence
    foreign = good(tmp_path, media={"ice_servers": [{"urls": ["turn:turn.example.net"]}]})
    assert run(ice_servers, facts(foreign))[0] == "warn"


def test_csp_problems() -> None:
    assert csp_problems(CSP) == []
    assert csp_problems("default-src 'self'; img-src 'self' data:") == []
    assert [p.template for p in csp_problems(None)] == ["no Content-Security-Policy header"]
    texts = [p.render(str) for p in csp_problems("default-src 'self' https://cdn.example.net")]
    assert texts[0].startswith("default-src is not exactly 'self'")
    texts = [
        p.render(str) for p in csp_problems("default-src 'self'; script-src 'self' 'unsafe-inline'")
    ]
    assert texts == ["script-src allows 'unsafe-inline'"]
    texts = [
        p.render(str) for p in csp_problems("default-src 'self'; report-uri https://r.example")
    ]
    assert texts == ["report-uri sends reports elsewhere: https://r.example"]


def test_foreign_origins_on_disk_and_live(tmp_path: Path) -> None:
    status, evidence = run(foreign_origins, facts(good(tmp_path)))
    assert status == "pass" and "templates and static files" in evidence
    assert run(foreign_origins, facts(good(tmp_path), live_scan()))[0] == "pass"
    foreign = live_scan(
        foreign=(
            Finding("https://127.0.0.1:8443/login", "https://cdn.example.net/x.js", "<script src>"),
        )
    )
    status, evidence = run(foreign_origins, facts(good(tmp_path), foreign))
    assert status == "fail"
    assert (
        "https://127.0.0.1:8443/login loads https://cdn.example.net/x.js (<script src>)" in evidence
    )
    loose = live_scan(
        resources=(Resource("https://127.0.0.1:8443/", 200, "html", "default-src *", HSTS),)
    )
    status, evidence = run(foreign_origins, facts(good(tmp_path), loose))
    assert status == "fail" and "default-src is not exactly 'self': *" in evidence
    links = live_scan(
        links=(Finding("https://127.0.0.1:8443/privacy", "https://example.org/", "<a href>"),)
    )
    status, evidence = run(foreign_origins, facts(good(tmp_path), links))
    assert (
        status == "pass"
        and "followed only when someone clicks them: https://example.org/" in evidence
    )


# -- security of processing -------------------------------------------------------------


def test_janus_api(tmp_path: Path) -> None:
    base = facts(good(tmp_path))
    status, evidence = run(janus_api, base)
    assert status == "pass" and "127.0.0.1 only" in evidence
    exposed = dataclasses.replace(
        base.janus, http=base.janus.http.replace('ip = "127.0.0.1"', 'ip = "0.0.0.0"')
    )
    status, evidence = run(janus_api, dataclasses.replace(base, janus=exposed))
    assert status == "fail" and "0.0.0.0" in evidence
    admin = dataclasses.replace(
        base.janus, http=base.janus.http.replace("admin_http = false", "admin_http = true")
    )
    assert run(janus_api, dataclasses.replace(base, janus=admin))[0] == "fail"
    external = good(
        tmp_path, media={"janus": {"urls": ["http://10.0.0.5:8088/janus"], "api_secret": "s3cret"}}
    )
    status, evidence = run(janus_api, facts(external))
    assert status == "warn" and "firewall" in evidence and "plain HTTP" in evidence
    local = good(
        tmp_path, media={"janus": {"urls": ["http://127.0.0.1:8088/janus"], "api_secret": "s3cret"}}
    )
    assert run(janus_api, facts(local))[0] == "pass"


# -- information duties -----------------------------------------------------------------


def test_privacy_notice(tmp_path: Path, settings: Settings) -> None:
    status, evidence = run(privacy_notice_complete, facts(settings))
    assert status == "fail" and "privacy.controller_name is empty" in evidence
    status, evidence = run(privacy_notice_complete, facts(good(tmp_path)))
    assert status == "pass" and "Controller: Example GmbH" in evidence
    page = live_scan(texts=(("https://127.0.0.1:8443/privacy", "<p>Controller: Other AG</p>"),))
    status, evidence = run(privacy_notice_complete, facts(good(tmp_path), page))
    assert status == "warn" and "another configuration" in evidence
    page = live_scan(texts=(("https://127.0.0.1:8443/privacy", "<p>Controller: Example GmbH</p>"),))
    assert run(privacy_notice_complete, facts(good(tmp_path), page))[0] == "pass"


# -- retention, audit log, data subject rights ------------------------------------------


def test_retention_periods_and_the_purge_job(tmp_path: Path) -> None:
    settings = good(tmp_path)
    status, evidence = run(retention, facts(settings))
    assert status == "pass" and "finished meetings and their invitations 30 days" in evidence
    assert "No database yet" in evidence
    long = good(tmp_path, retention={"meeting_days": 3000, "audit_days": 3650})
    status, evidence = run(retention, facts(long))
    assert status == "warn" and "retention.meeting_days = 3000" in evidence
    # Inside the server: the job runs, or it does not.
    base = facts(settings)
    running = dataclasses.replace(base.retention, server_purge_runs=3)
    status, evidence = run(retention, dataclasses.replace(base, retention=running))
    assert status == "pass" and "every 15 minutes (3 runs since start)" in evidence
    stopped = dataclasses.replace(base.retention, server_purge_runs=-1)
    assert run(retention, dataclasses.replace(base, retention=stopped))[0] == "fail"


def test_retention_judges_the_newest_purge_on_record(tmp_path: Path) -> None:
    settings = good(tmp_path)
    services = build_services(settings, argon2=profiles.CHEAPEST)
    try:
        checked = gather(settings, now=datetime.now(UTC), scan=DISK, services=services)
        status, evidence = run(retention, checked)
        assert status == "warn" and "No purge run is on record" in evidence
        services.retention.purge()
        checked = gather(settings, now=datetime.now(UTC), scan=DISK, services=services)
        status, evidence = run(retention, checked)
        assert status == "pass" and "The newest purge run on record" in evidence
        later = gather(
            settings, now=datetime.now(UTC) + timedelta(days=3), scan=DISK, services=services
        )
        status, evidence = run(retention, later)
        assert status == "fail" and "has not run for more than two days" in evidence
    finally:
        services.db.dispose()


def test_audit_log(tmp_path: Path) -> None:
    base = facts(good(tmp_path))
    status, evidence = run(audit_log, base)
    assert status == "pass" and "203.0.113.0/24" in evidence and "90 days" in evidence
    fewer = dataclasses.replace(base.audit, events=base.audit.events - {"login_failed"})
    status, evidence = run(audit_log, dataclasses.replace(base, audit=fewer))
    assert status == "fail" and "does not record: login_failed" in evidence
    full = dataclasses.replace(base.audit, network=lambda address: address or "")
    assert run(audit_log, dataclasses.replace(base, audit=full))[0] == "fail"
    lax = dataclasses.replace(base.audit, clean_details=lambda details: details)
    status, evidence = run(audit_log, dataclasses.replace(base, audit=lax))
    assert status == "fail" and "password, chat, token, title" in evidence


def test_data_subject_rights(tmp_path: Path) -> None:
    base = facts(good(tmp_path))
    status, evidence = run(data_subject_rights, base)
    assert status == "pass" and "Art. 15 and 20" in evidence
    without = FeatureFacts(
        base.features.client_messages,
        base.features.routes - {"POST /account/export"},
        base.features.commands - {"user export"},
    )
    status, evidence = run(data_subject_rights, dataclasses.replace(base, features=without))
    assert status == "fail" and "POST /account/export, user export" in evidence
