"""Security of processing: the Janus API stays on the server."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from conclave.compliance.checks.base import Findings, check
from conclave.compliance.checks.encryption import jcfg_settings
from conclave.compliance.facts import Facts
from conclave.errors import N_

_LOOPBACK_NAMES = ("localhost",)


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host.lower() in _LOOPBACK_NAMES


@check(
    "janus-api-local",
    "security_of_processing",
    N_("The media server's API is not reachable from the network"),
)
def janus_api(facts: Facts, found: Findings) -> None:
    janus = facts.janus
    http = jcfg_settings(janus.http)
    core = jcfg_settings(janus.core)
    address = http.get("ip", "")
    if not is_loopback(address):
        found.add(
            "fail",
            N_("The managed Janus's API would listen on {address}, not on loopback only."),
            address=address or "*",
        )
    elif http.get("admin_http") != "false" or http.get("admin_https") != "false":
        found.add("fail", N_("The managed Janus's admin API is on."))
    elif not core.get("api_secret"):
        found.add("fail", N_("The managed Janus's API has no api_secret."))
    else:
        found.note(
            N_(
                "A managed Janus listens on {address} only, with a random api_secret; its "
                "admin API is off. Browsers never talk to it: Conclave relays their signaling."
            ),
            address=address,
        )
    mode = janus.mode
    if mode == "managed":
        found.note(N_("Janus is installed: Conclave runs it with this configuration."))
    elif mode == "not_installed":
        found.note(N_("Janus is not installed: meetings use direct connections (P2P and mesh)."))
    elif mode == "off":
        found.note(N_("Janus is switched off (media.janus.managed = off)."))
    elif mode == "missing":
        found.add(
            "warn",
            N_(
                "media.janus.managed = on, but the janus program was not found: the server "
                "will not start."
            ),
        )
    for url in janus.external_urls:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if is_loopback(host):
            found.note(N_("External Janus {url}: on this host's loopback."), url=url)
            continue
        found.add(
            "warn",
            N_(
                "External Janus {url} is reached over the network: let only Conclave's server "
                "reach its port (firewall)."
            ),
            url=url,
        )
        if parts.scheme == "http":
            found.add(
                "warn",
                N_("{url} is plain HTTP: the api_secret crosses the network unencrypted."),
                url=url,
            )


# Events the DSK guidance and issue 6 ask to be logged.
REQUIRED_EVENTS = (
    "login",
    "login_failed",
    "user_created",
    "user_deleted",
    "meeting_deleted",
    "participant_removed",
    "data_exported",
    "policy_changed",
)
_SECRET_DETAILS = ({"password": "x"}, {"chat": "x"}, {"token": "x"}, {"title": "x"})


@check("audit-log", "security_of_processing", N_("Security events are logged without content"))
def audit_log(facts: Facts, found: Findings) -> None:
    audit = facts.audit
    missing = [event for event in REQUIRED_EVENTS if event not in audit.events]
    if missing:
        found.add(
            "fail",
            N_("The audit log does not record: {events}"),
            events=", ".join(missing),
        )
    else:
        found.note(
            N_(
                "The audit log records sign-ins, failed sign-ins, account, meeting, export "
                "and policy events ({count} kinds)."
            ),
            count=len(audit.events),
        )
    shown = audit.network("203.0.113.57")
    if shown != "203.0.113.0/24":
        found.add(
            "fail",
            N_("The audit log stores the client address 203.0.113.57 as {shown}."),
            shown=shown,
        )
    else:
        found.note(
            N_("It keeps the client's network only (203.0.113.57 becomes {shown})."), shown=shown
        )
    accepted: list[str] = []
    for details in _SECRET_DETAILS:
        try:
            audit.clean_details(details)
        except ValueError:
            continue
        accepted.extend(details)
    if accepted:
        found.add(
            "fail",
            N_("The audit log accepts details that may hold secrets or content: {names}"),
            names=", ".join(accepted),
        )
    else:
        found.note(N_("It refuses details named like passwords, tokens, chat or titles."))
    found.note(
        N_("Entries are deleted after {days} days (retention.audit_days)."),
        days=facts.retention.periods.audit_days,
    )
    if audit.entries is not None:
        found.note(N_("{count} entries are stored."), count=audit.entries)
