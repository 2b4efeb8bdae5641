"""The facts the checks judge, gathered once per report.

Checks are pure functions of :class:`Facts`; tests build facts with deliberately bad
values. :func:`gather` collects them from the settings, the certificate file, the
managed Janus configuration as Conclave renders it, the code itself (routes, protocol
messages, log fields), the database (counts only) and the origin scan.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from cryptography import x509

from conclave.compliance.log_probe import LogProbe
from conclave.compliance.scan import OriginScan
from conclave.config import RetentionSettings, Settings
from conclave.services import Services

JanusMode = Literal["managed", "not_installed", "missing", "off", "external"]


@dataclass(frozen=True, slots=True)
class CertificateFacts:
    file: Path | None  # the configured certificate, or the one Conclave generated
    certificate: x509.Certificate | None
    generated: bool  # Conclave makes it itself (no tls.cert_file)
    served: x509.Certificate | None = None  # what the live server presented
    error: str | None = None


@dataclass(frozen=True, slots=True)
class CipherFacts:
    name: str
    protocol: str  # "TLSv1.2", "TLSv1.3"
    aead: bool
    forward_secret: bool


@dataclass(frozen=True, slots=True)
class TlsPolicyFacts:
    """The TLS the HTTPS port is configured to speak (``conclave.tls.policy_context``)."""

    minimum: ssl.TLSVersion
    ciphers: tuple[CipherFacts, ...]


@dataclass(frozen=True, slots=True)
class JanusFacts:
    mode: JanusMode
    core: str  # the managed Janus configuration as Conclave writes it
    http: str
    videoroom: str
    external_urls: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LoggingFacts:
    truncate: Callable[[str | None], str]
    scrub: Callable[[str], str]
    safe_fields: frozenset[str]


@dataclass(frozen=True, slots=True)
class FeatureFacts:
    client_messages: frozenset[str]
    routes: frozenset[str]  # "GET /path"
    commands: frozenset[str]  # "serve", "user export", ...


@dataclass(frozen=True, slots=True)
class DatabaseFacts:
    users: int
    admins: int
    meetings: int
    guest_meetings_without_lobby: int


@dataclass(frozen=True, slots=True)
class RetentionFacts:
    periods: RetentionSettings  # in force (the policy, or the configuration)
    last_purge: datetime | None = None  # the newest purge run on record, any process
    server_purge_runs: int | None = None  # inside the server: runs of its purge job, or
    # -1 when the job is not running there; None outside the server (unknown)


@dataclass(frozen=True, slots=True)
class AuditFacts:
    events: frozenset[str]
    network: Callable[[str | None], str]
    clean_details: Callable[[Mapping[str, str | int | bool]], object]
    entries: int | None = None  # stored entries (with a database)


@dataclass(frozen=True, slots=True)
class Facts:
    settings: Settings
    now: datetime
    headers: Mapping[str, str]  # the security headers the server sends, by its code
    certificate: CertificateFacts
    tls_policy: TlsPolicyFacts
    janus: JanusFacts
    logging: LoggingFacts
    features: FeatureFacts
    scan: OriginScan  # live, or the files on disk when no live scan was asked for
    retention: RetentionFacts
    audit: AuditFacts
    database: DatabaseFacts | None = None
    log_probe: LogProbe | None = None  # a test server's real log (log_probe.py), if run


def gather(
    settings: Settings,
    *,
    now: datetime,
    scan: OriginScan,
    services: Services | None = None,
    server_purge_runs: int | None = None,
    log_probe: LogProbe | None = None,
) -> Facts:
    """``server_purge_runs``: inside the server, how often its purge job ran. With
    ``services``, the settings judged are the policy in force (console values applied)."""
    if services is not None:
        settings = services.policy.current()
    return Facts(
        settings=settings,
        now=now,
        headers=configured_headers(settings),
        certificate=certificate_facts(settings, scan),
        tls_policy=tls_policy_facts(),
        janus=janus_facts(settings),
        logging=logging_facts(),
        features=feature_facts(),
        scan=scan,
        retention=retention_facts(settings, services, server_purge_runs),
        audit=audit_facts(services),
        database=database_facts(services) if services is not None else None,
        log_probe=log_probe,
    )


def configured_headers(settings: Settings) -> dict[str, str]:
    from conclave.web.middleware import security_headers

    return {name.decode(): value.decode() for name, value in security_headers(settings)}


def certificate_file(settings: Settings) -> tuple[Path, bool]:
    """The certificate the server uses: the configured file, or the generated one."""
    if settings.tls.cert_file is not None:
        return Path(settings.tls.cert_file), False
    return settings.data_dir / "tls" / "cert.pem", True


def certificate_facts(settings: Settings, scan: OriginScan | None = None) -> CertificateFacts:
    path, generated = certificate_file(settings)
    served = None
    if scan is not None and scan.peer_certificate:
        served = x509.load_der_x509_certificate(scan.peer_certificate)
    if not path.is_file():
        return CertificateFacts(None, None, generated, served)
    try:
        certificate = x509.load_pem_x509_certificate(path.read_bytes())
    except (ValueError, OSError) as error:
        return CertificateFacts(path, None, generated, served, error=str(error))
    return CertificateFacts(path, certificate, generated, served)


def tls_policy_facts() -> TlsPolicyFacts:
    from conclave.tls import policy_context

    context = policy_context()
    ciphers = tuple(
        CipherFacts(
            name=cipher["name"],
            protocol=cipher["protocol"],
            aead=bool(cipher.get("aead")),
            # TLS 1.3 ("kx-any") always uses an ephemeral (EC)DHE key exchange.
            forward_secret=cipher.get("kea") in ("kx-ecdhe", "kx-dhe", "kx-any"),
        )
        for cipher in context.get_ciphers()
    )
    return TlsPolicyFacts(context.minimum_version, ciphers)


def janus_facts(settings: Settings) -> JanusFacts:
    from conclave.media.janus_managed import (
        JanusNotFound,
        ManagedConfig,
        managed_binary,
        render_core,
        render_http,
        render_videoroom,
    )

    janus = settings.media.janus
    mode: JanusMode
    if janus.urls:
        mode = "external"
    elif janus.managed == "off":
        mode = "off"
    else:
        try:
            mode = "managed" if managed_binary(janus) is not None else "not_installed"
        except JanusNotFound:
            mode = "missing"
    # The configuration a managed Janus gets; secrets and the port are chosen at start.
    config = ManagedConfig(
        directory=settings.data_dir / "janus",
        lib_dir=janus.lib_dir or Path("/usr/lib/janus"),
        http_port=8088,
        api_secret="random-at-start",  # noqa: S106 - a placeholder; Janus gets a random one
        admin_key="random-at-start",
        rtp_port_min=janus.rtp_port_min,
        rtp_port_max=janus.rtp_port_max,
        ice_enforce_list=tuple(janus.ice_enforce_list),
        nat_1_1_mapping=janus.nat_1_1_mapping,
    )
    return JanusFacts(
        mode=mode,
        core=render_core(config),
        http=render_http(config),
        videoroom=render_videoroom(config),
        external_urls=tuple(janus.urls),
    )


def logging_facts() -> LoggingFacts:
    from conclave.logs import SAFE_FIELDS
    from conclave.privacy.addresses import scrub_addresses, truncate_ip

    return LoggingFacts(truncate_ip, scrub_addresses, frozenset(SAFE_FIELDS))


def feature_facts() -> FeatureFacts:
    from conclave.signaling.protocol import CLIENT_MESSAGE_TYPES

    return FeatureFacts(frozenset(CLIENT_MESSAGE_TYPES), _routes(), _commands())


def _routes() -> frozenset[str]:
    from conclave.web import routes

    found: set[str] = set()
    for module_info in pkgutil.iter_modules(routes.__path__):
        module = importlib.import_module(f"{routes.__name__}.{module_info.name}")
        router = getattr(module, "router", None)
        for route in getattr(router, "routes", ()):
            path = getattr(route, "path", None)
            for method in sorted(getattr(route, "methods", None) or {"WS"}):
                if path is not None:
                    found.add(f"{method} {path}")
    return frozenset(found)


def _commands() -> frozenset[str]:
    from conclave.cli import _parser

    found: set[str] = set()

    def walk(parser: argparse.ArgumentParser, prefix: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    found.add(f"{prefix}{name}")
                    walk(sub, f"{prefix}{name} ")

    walk(_parser(), "")
    return frozenset(found)


def retention_facts(
    settings: Settings, services: Services | None, server_purge_runs: int | None = None
) -> RetentionFacts:
    if services is None:
        return RetentionFacts(settings.retention, server_purge_runs=server_purge_runs)
    last = services.retention.last_purge()
    return RetentionFacts(
        services.retention.current(),
        last.occurred_at if last is not None else None,
        server_purge_runs,
    )


def audit_facts(services: Services | None) -> AuditFacts:
    from conclave.audit.events import EVENTS
    from conclave.audit.service import clean_details, network

    entries = None
    if services is not None:
        entries = services.audit.query(per_page=1).total
    return AuditFacts(frozenset(EVENTS), network, clean_details, entries)


def database_facts(services: Services) -> DatabaseFacts:
    from conclave.store.compliance import counts

    with services.db.transaction("compliance_counts") as tx:
        found = counts(tx)
    return DatabaseFacts(
        found.users, found.admins, found.meetings, found.guest_meetings_without_lobby
    )
