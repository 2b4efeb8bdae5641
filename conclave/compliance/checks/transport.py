"""Transmission security: TLS only, HSTS, the certificate."""

from __future__ import annotations

import ipaddress
import re
import ssl
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

from conclave.compliance.checks.base import Findings, check, listed
from conclave.compliance.facts import Facts
from conclave.compliance.model import Text, text
from conclave.compliance.tls_probe import TlsAttempt
from conclave.errors import N_
from conclave.tls import fingerprint

HSTS_GOOD = 31536000  # one year, what browsers' HSTS preload list asks for
CERT_WARN_DAYS = 30
_MAX_AGE = re.compile(r"max-age\s*=\s*\"?(\d+)", re.IGNORECASE)


def hsts_max_age(header: str | None) -> int | None:
    match = _MAX_AGE.search(header or "")
    return int(match.group(1)) if match else None


@check("tls-only", "transmission_security", N_("Only encrypted connections (HTTPS and WSS)"))
def tls_only(facts: Facts, found: Findings) -> None:
    found.note(N_("Conclave serves every page and WebSocket over TLS; it has no plain-HTTP mode."))
    server = facts.settings.server
    if server.http_redirect_port:
        found.note(
            N_("The plain-HTTP port {port} only ever answers with a redirect to {url}."),
            port=server.http_redirect_port,
            url=facts.settings.base_url,
        )
    else:
        found.note(N_("No plain-HTTP port is open (server.http_redirect_port is not set)."))
    scan = facts.scan
    if not scan.live:
        found.note(N_("Checked from the configuration, not against a running server."))
        return
    if scan.error is not None:
        found.add(
            "fail",
            N_("The server at {origin} could not be reached: {error}"),
            origin=scan.origin,
            error=scan.error,
        )
        return
    if not scan.origin.startswith("https:"):
        found.add("fail", N_("{origin} serves pages without TLS."), origin=scan.origin)
        return
    answered = [r for r in scan.resources if r.error is None]
    found.note(
        N_("All {count} responses from {origin} came over TLS."),
        count=len(answered),
        origin=scan.origin,
    )
    if scan.plain_http == "served":
        found.add(
            "fail",
            N_("The HTTPS port of {origin} also answers plain-HTTP requests."),
            origin=scan.origin,
        )
    elif scan.plain_http == "redirects":
        found.note(N_("A plain-HTTP request to the same port is redirected to HTTPS."))
    else:
        found.note(N_("A plain-HTTP request to the same port is refused."))


TLS_NAMES = {
    ssl.TLSVersion.MINIMUM_SUPPORTED: "the oldest TLS this OpenSSL has",
    ssl.TLSVersion.SSLv3: "SSL 3.0",
    ssl.TLSVersion.TLSv1: "TLS 1.0",
    ssl.TLSVersion.TLSv1_1: "TLS 1.1",
    ssl.TLSVersion.TLSv1_2: "TLS 1.2",
    ssl.TLSVersion.TLSv1_3: "TLS 1.3",
}


@check(
    "tls-protocols",
    "transmission_security",
    N_("Only TLS 1.2 and 1.3, with AEAD ciphers and forward secrecy"),
)
def tls_protocols(facts: Facts, found: Findings) -> None:
    policy = facts.tls_policy
    if policy.minimum in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        found.note(N_("Configured: {version} or newer."), version=TLS_NAMES[policy.minimum])
    else:
        found.add(
            "fail",
            N_("Configured: {version} is allowed; TLS 1.2 must be the minimum."),
            version=TLS_NAMES.get(policy.minimum, str(policy.minimum)),
        )
    tls12 = [c.name for c in policy.ciphers if c.protocol != "TLSv1.3"]
    tls13 = [c.name for c in policy.ciphers if c.protocol == "TLSv1.3"]
    found.note(
        N_("Cipher suites: TLS 1.3 {tls13}; TLS 1.2 {tls12}."),
        tls13=", ".join(tls13) or "-",
        tls12=", ".join(tls12) or "-",
    )
    weak = [c.name for c in policy.ciphers if not c.aead]
    if weak:
        found.add("fail", N_("Cipher suites without AEAD: {names}"), names=", ".join(weak))
    static = [c.name for c in policy.ciphers if not c.forward_secret]
    if static:
        found.add(
            "fail",
            N_("Cipher suites without forward secrecy: {names}"),
            names=", ".join(static),
        )
    scan = facts.scan
    if not scan.live:
        found.note(N_("Checked from the configuration, not against a running server."))
        return
    if scan.error is not None or not scan.tls:
        found.add("fail", N_("Not checked on the server: it could not be reached."))
        return
    for attempt in scan.tls:
        _judge_attempt(found, scan.origin, attempt)


def _judge_attempt(found: Findings, origin: str, attempt: TlsAttempt) -> None:
    if not attempt.tested:
        found.add(
            "warn",
            N_("{offer}: not tested, this machine's client could not offer it ({error})."),
            offer=attempt.offer,
            error=attempt.error or "-",
        )
    elif attempt.connected and not attempt.must_connect:
        found.add(
            "fail",
            N_("{origin} accepted {offer} ({negotiated})."),
            origin=origin,
            offer=attempt.offer,
            negotiated=attempt.negotiated or "-",
        )
    elif attempt.connected:
        found.note(
            N_("{offer}: connected ({negotiated})."),
            offer=attempt.offer,
            negotiated=attempt.negotiated or "-",
        )
    elif attempt.must_connect:
        found.add(
            "fail",
            N_("{origin} refused {offer} ({error}): browsers cannot connect."),
            origin=origin,
            offer=attempt.offer,
            error=attempt.error or "-",
        )
    else:
        found.note(N_("{offer}: refused, as it should be."), offer=attempt.offer)


@check("hsts", "transmission_security", N_("Browsers are told to use HTTPS only (HSTS)"))
def hsts(facts: Facts, found: Findings) -> None:
    configured = facts.headers.get("strict-transport-security")
    _judge_max_age(found, hsts_max_age(configured), configured, text(N_("in the configuration")))
    scan = facts.scan
    if not scan.live or scan.error is not None:
        if scan.live:
            found.add("fail", N_("Not checked on the server: it could not be reached."))
        return
    answered = [r for r in scan.resources if r.error is None]
    missing = [r.url for r in answered if hsts_max_age(r.hsts) is None]
    if missing:
        found.add(
            "fail",
            N_("{count} responses came without a Strict-Transport-Security header: {urls}"),
            count=len(missing),
            urls=listed(missing),
        )
    ages = sorted({age for r in answered if (age := hsts_max_age(r.hsts)) is not None})
    if ages:
        served = next(r.hsts for r in answered if hsts_max_age(r.hsts) == ages[0])
        _judge_max_age(found, ages[0], served, text(N_("as served")))


def _judge_max_age(found: Findings, age: int | None, header: str | None, where: Text) -> None:
    if age is None or age == 0:
        found.add(
            "fail",
            N_("No HSTS ({where}): browsers may try plain HTTP first."),
            where=where,
        )
    elif age < HSTS_GOOD:
        found.add(
            "warn",
            N_("HSTS ({where}): {header}; a max-age below {good} seconds (one year) is short."),
            where=where,
            header=header,
            good=HSTS_GOOD,
        )
    else:
        found.note(N_("HSTS ({where}): {header}"), where=where, header=header)


@check("certificate", "transmission_security", N_("The TLS certificate is valid and strong"))
def certificate(facts: Facts, found: Findings) -> None:
    cert_facts = facts.certificate
    scan = facts.scan
    if scan.live and scan.error and "CERTIFICATE_VERIFY_FAILED" in scan.error:
        found.add(
            "fail",
            N_("The certificate of {origin} is not trusted: {error}"),
            origin=scan.origin,
            error=scan.error,
        )
    cert = cert_facts.served or cert_facts.certificate
    if cert_facts.error is not None:
        found.add(
            "fail",
            N_("The certificate file {file} cannot be read: {error}"),
            file=str(cert_facts.file),
            error=cert_facts.error,
        )
    if cert is None:
        if cert_facts.generated:
            found.add(
                "warn",
                N_(
                    "No certificate yet: Conclave generates a self-signed one at its first "
                    "start (in {folder})."
                ),
                folder=str(facts.settings.data_dir / "tls"),
            )
        elif cert_facts.error is None:
            found.add("fail", N_("The configured certificate file does not exist."))
        return
    source = scan.origin if cert_facts.served is not None else str(cert_facts.file)
    found.note(
        N_(
            "Certificate of {source}: subject {subject}, issued by {issuer}, SHA-256 {fingerprint}."
        ),
        source=source,
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        fingerprint=fingerprint(cert),
    )
    _validity(found, cert, facts.now)
    _strength(found, cert)
    _names(found, cert, facts.settings.server.hostnames, generated=cert_facts.generated)
    if cert.issuer == cert.subject:
        found.add(
            "warn",
            N_(
                "The certificate is self-signed: browsers warn, and people must compare its "
                "fingerprint. Use a certificate from a certification authority (e.g. Let's "
                "Encrypt) in regular operation."
            ),
        )
    served, own = cert_facts.served, cert_facts.certificate
    if served is not None and own is not None and fingerprint(served) != fingerprint(own):
        found.add(
            "warn",
            N_("The server presents another certificate than {file}."),
            file=str(cert_facts.file),
        )
    if scan.live and scan.error is None and not scan.verified:
        found.add(
            "warn",
            N_("The served certificate was not verified (the scan ran with --insecure)."),
        )


def _validity(found: Findings, cert: x509.Certificate, now: datetime) -> None:
    until = cert.not_valid_after_utc
    days = (until - now).days
    if cert.not_valid_before_utc > now:
        found.add(
            "fail",
            N_("Not valid before {date}."),
            date=cert.not_valid_before_utc.date().isoformat(),
        )
    if until <= now:
        found.add("fail", N_("Expired on {date}."), date=until.date().isoformat())
    elif days < CERT_WARN_DAYS:
        found.add(
            "warn",
            N_("Valid until {date}: only {days} days left."),
            date=until.date().isoformat(),
            days=days,
        )
    else:
        found.note(
            N_("Valid until {date} ({days} days left)."), date=until.date().isoformat(), days=days
        )


def _strength(found: Findings, cert: x509.Certificate) -> None:
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        kind, weak = f"RSA {key.key_size} bit", key.key_size < 2048
    elif isinstance(key, ec.EllipticCurvePublicKey):
        kind, weak = f"ECDSA {key.curve.name}", key.curve.key_size < 256
    elif isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        kind, weak = type(key).__name__.removesuffix("PublicKey"), False
    elif isinstance(key, dsa.DSAPublicKey):
        kind, weak = f"DSA {key.key_size} bit", True
    else:
        kind, weak = type(key).__name__, True
    algorithm = cert.signature_hash_algorithm
    digest = algorithm.name if algorithm is not None else "none"
    if weak:
        found.add("fail", N_("Key {key}: too weak."), key=kind)
    else:
        found.note(N_("Key {key}, signature with {digest}."), key=kind, digest=digest)
    if isinstance(algorithm, hashes.SHA1 | hashes.MD5):
        found.add("fail", N_("The signature uses {digest}, which is broken."), digest=digest)


def _names(
    found: Findings, cert: x509.Certificate, hostnames: list[str], *, generated: bool
) -> None:
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        found.add("fail", N_("The certificate names no host (no subjectAltName)."))
        return
    dns = [name.lower() for name in names.get_values_for_type(x509.DNSName)]
    addresses = [str(address) for address in names.get_values_for_type(x509.IPAddress)]
    uncovered = [host for host in hostnames if not _covers(dns, addresses, host)]
    if uncovered:
        found.add(
            "warn" if generated else "fail",
            N_("The certificate does not cover {hosts} (server.hostnames)."),
            hosts=", ".join(uncovered),
        )
    else:
        found.note(
            N_("It covers every name in server.hostnames: {hosts}."), hosts=", ".join(hostnames)
        )


def _covers(dns: list[str], addresses: list[str], host: str) -> bool:
    try:
        return str(ipaddress.ip_address(host)) in addresses
    except ValueError:
        pass
    host = host.lower().rstrip(".")
    for name in dns:
        if name == host:
            return True
        if name.startswith("*.") and "." in host and host.split(".", 1)[1] == name[2:]:
            return True
    return False
