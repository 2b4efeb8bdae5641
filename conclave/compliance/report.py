"""Running a report: choose how the pages are scanned, gather the facts, run the checks."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from conclave.clock import utcnow
from conclave.compliance import scan as scanning
from conclave.compliance.checks import run_checks
from conclave.compliance.facts import Facts, certificate_file, gather
from conclave.compliance.log_probe import LogProbe, probe_server_log
from conclave.compliance.model import Report
from conclave.compliance.tom import duties, measures
from conclave.config import Settings
from conclave.services import Services

PACKAGE = Path(__file__).resolve().parents[1]
TEMPLATES = PACKAGE / "web" / "templates"
STATIC = PACKAGE / "web" / "static"


def scan_url(
    settings: Settings, url: str, *, insecure: bool = False, ca_files: Iterable[Path] = ()
) -> scanning.OriginScan:
    """The server at ``url``, trusted through the system's CAs and this installation's
    own certificate (or not verified at all with ``insecure``)."""
    verify = False if insecure else scanning.trust_context(_own_certificates(settings, ca_files))
    return scanning.scan_origin(url, verify=verify, also_own=[settings.base_url])


def scan_self(
    settings: Settings, session_cookie: tuple[str, str] | None = None
) -> scanning.OriginScan:
    """This server from inside: its own listening address, verified against its own
    certificate for its first host name; ``session_cookie`` adds the signed-in pages."""
    server = settings.server
    return scanning.scan_origin(
        scanning.local_url(server.host, server.port),
        verify=scanning.trust_context(_own_certificates(settings)),
        sni_hostname=server.hostnames[0],
        session_cookie=session_cookie,
        also_own=[settings.base_url],
    )


def probe_log(settings: Settings) -> LogProbe:
    """What a server with this installation's logging settings really writes to its log
    when people connect (a throw-away server in a subprocess, log_probe.py)."""
    return probe_server_log(settings)


def scan_installed_files() -> scanning.OriginScan:
    return scanning.scan_files(TEMPLATES, STATIC)


def _own_certificates(settings: Settings, extra: Iterable[Path] = ()) -> list[Path]:
    path, _generated = certificate_file(settings)
    return [path, *extra]


def build_report(facts: Facts) -> Report:
    return Report(
        generated_at=facts.now,
        target=facts.scan.origin if facts.scan.live else None,
        results=run_checks(facts),
        measures=measures(facts.settings),
        duties=duties(facts.settings),
    )


def make_report(
    settings: Settings,
    scan: scanning.OriginScan,
    *,
    services: Services | None = None,
    now: datetime | None = None,
    server_purge_runs: int | None = None,
    log_probe: LogProbe | None = None,
) -> Report:
    """``server_purge_runs``: inside the server, how often its purge job ran;
    ``log_probe``: a test server's log (:func:`probe_log`)."""
    facts = gather(
        settings,
        now=now or utcnow(),
        scan=scan,
        services=services,
        server_purge_runs=server_purge_runs,
        log_probe=log_probe,
    )
    return build_report(facts)
