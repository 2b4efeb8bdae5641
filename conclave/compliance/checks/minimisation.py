"""Data minimisation: retention and purge, truncated client addresses in the logs."""

from __future__ import annotations

from datetime import timedelta

from conclave.compliance.checks.base import Findings, check
from conclave.compliance.facts import Facts
from conclave.compliance.log_probe import LogProbe
from conclave.errors import N_
from conclave.privacy.addresses import scrub_addresses, truncate_ip

# Sample addresses (documentation ranges) and the networks the logs must show instead.
ADDRESS_SAMPLES = {
    "203.0.113.57": "203.0.113.0/24",
    "2001:db8:1234:5678::1": "2001:db8:1234::/48",
}
JANUS_LINE = "[WARN] ICE failed for 198.51.100.23:40000 and 2001:db8:abcd:12::7"
# Log fields that would carry a full address or a secret.
FORBIDDEN_FIELDS = frozenset(
    {"ip", "address", "remote_addr", "client_ip", "password", "token", "secret", "chat", "key"}
)


@check("log-addresses", "data_minimisation", N_("Logs keep only the network part of addresses"))
def log_addresses(facts: Facts, found: Findings) -> None:
    logging = facts.logging
    for address, network in ADDRESS_SAMPLES.items():
        shown = logging.truncate(address)
        if shown != network:
            found.add(
                "fail",
                N_("The client address {address} is logged as {shown}."),
                address=address,
                shown=shown,
            )
        else:
            found.note(
                N_("A client address such as {address} is logged as {shown}."),
                address=address,
                shown=shown,
            )
    scrubbed = logging.scrub(JANUS_LINE)
    if "198.51.100.23" in scrubbed or "2001:db8:abcd:12::7" in scrubbed:
        found.add("fail", N_("Janus's log lines keep full addresses: {line}"), line=scrubbed)
    else:
        found.note(N_("Janus's log lines are cut the same way: {line}"), line=scrubbed)
    leaking = sorted(logging.safe_fields & FORBIDDEN_FIELDS)
    if leaking:
        found.add(
            "fail",
            N_("The log writes fields that may hold addresses or secrets: {fields}"),
            fields=", ".join(leaking),
        )
    else:
        found.note(
            N_("Log lines carry only these fields: {fields}; the web server's access log is off."),
            fields=", ".join(sorted(logging.safe_fields)),
        )
    _judge_server_log(found, facts.log_probe)


SHOWN_LINE = 300  # characters of a leaking log line quoted in the evidence


def leaking_lines(probe: LogProbe) -> list[str]:
    """The lines of the probe's log that hold what it sent (its address, ports, meeting id,
    tokens) or any full IPv4/IPv6 address."""
    return [
        line
        for line in probe.log.splitlines()
        if any(secret in line for secret in (probe.client, *probe.secrets))
        or scrub_addresses(line) != line
    ]


def _judge_server_log(found: Findings, probe: LogProbe | None) -> None:
    if probe is None:
        found.note(N_("Checked in the code, not in the log of a running server."))
        return
    if probe.error is not None:
        found.add(
            "fail",
            N_("A test server could not be run to read its log: {error}"),
            error=probe.error,
        )
        return
    leaks = leaking_lines(probe)
    if leaks:
        found.add(
            "fail",
            N_(
                "The log of a test server holds full client addresses, ports, meeting ids "
                "or tokens ({count} lines), e.g.: {line}"
            ),
            count=len(leaks),
            line=leaks[0][:SHOWN_LINE],
        )
        return
    found.note(
        N_(
            "A test server with this logging configuration got {count} requests and meeting "
            "WebSocket handshakes (accepted and refused) from {client}; its log names that "
            "client only as {network}, with no port, meeting id or token."
        ),
        count=probe.exchanges,
        client=probe.client,
        network=truncate_ip(probe.client),
    )


LONG_DAYS = {"meeting_days": 365, "guest_days": 30, "audit_days": 365}
# How old the newest purge record may be while the job runs: a run that deletes nothing
# leaves a record once a day; two days and two intervals leave room for restarts.
PURGE_LATE = timedelta(hours=48)


@check("retention", "data_minimisation", N_("Personal data is deleted when its time is up"))
def retention(facts: Facts, found: Findings) -> None:
    periods = facts.retention.periods
    found.note(
        N_(
            "Retention: finished meetings and their invitations {meetings} days, guest "
            "accounts {guests} days after their meeting, accounts unused for {accounts} days, "
            "identity keys unused for {keys} days, audit log {audit} days; sessions and "
            "invitation links when they expire."
        ),
        meetings=periods.meeting_days,
        guests=periods.guest_days,
        accounts=periods.account_inactive_days,
        keys=periods.identity_key_days,
        audit=periods.audit_days,
    )
    for name, limit in LONG_DAYS.items():
        days = getattr(periods, name)
        if days > limit:
            found.add(
                "warn",
                N_("retention.{name} = {days}: more than {limit} days; is that needed?"),
                name=name,
                days=days,
                limit=limit,
            )
    interval = timedelta(minutes=periods.purge_interval_minutes)
    runs = facts.retention.server_purge_runs
    if runs is not None and runs < 0:
        found.add("fail", N_("The purge job does not run in this server."))
    elif runs is not None:
        found.note(
            N_(
                "The purge job runs in this server every {minutes} minutes "
                "({runs} runs since start)."
            ),
            minutes=periods.purge_interval_minutes,
            runs=runs,
        )
    last = facts.retention.last_purge
    if facts.database is None:
        found.note(
            N_(
                "No database yet: the server purges a few seconds after it starts "
                "and then regularly."
            )
        )
    elif last is None:
        found.add(
            "warn",
            N_("No purge run is on record: start the server, or run conclave purge."),
        )
    else:
        age = facts.now - last
        late = age > PURGE_LATE + 2 * interval
        found.add(
            "fail" if late else "pass",
            N_("The newest purge run on record: {when} ({hours} hours ago)."),
            when=last.strftime("%Y-%m-%d %H:%M UTC"),
            hours=int(age.total_seconds() // 3600),
        )
        if late:
            found.add(
                "fail",
                N_(
                    "Data past its retention may still be stored: the purge job has not run "
                    "for more than two days. Start the server, or run conclave purge."
                ),
            )
