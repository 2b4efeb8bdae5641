"""Every compliance check, in report order, grouped by the requirement it serves."""

from __future__ import annotations

from conclave.compliance.checks.access import guest_lobby, invitation_only, sign_in
from conclave.compliance.checks.base import Check
from conclave.compliance.checks.encryption import e2ee_required, no_recording
from conclave.compliance.checks.information import privacy_notice_complete
from conclave.compliance.checks.minimisation import log_addresses, retention
from conclave.compliance.checks.rights import data_subject_rights
from conclave.compliance.checks.security import audit_log, janus_api
from conclave.compliance.checks.third_parties import foreign_origins, ice_servers
from conclave.compliance.checks.transport import certificate, hsts, tls_only, tls_protocols
from conclave.compliance.facts import Facts
from conclave.compliance.model import CheckResult

CHECKS: tuple[Check, ...] = (
    tls_only,
    tls_protocols,
    hsts,
    certificate,
    e2ee_required,
    invitation_only,
    sign_in,
    guest_lobby,
    no_recording,
    retention,
    log_addresses,
    ice_servers,
    foreign_origins,
    janus_api,
    audit_log,
    privacy_notice_complete,
    data_subject_rights,
)


def run_checks(facts: Facts) -> tuple[CheckResult, ...]:
    return tuple(check(facts) for check in CHECKS)
