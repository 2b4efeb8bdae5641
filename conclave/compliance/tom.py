"""The technical and organisational measures (TOM, Art. 32 GDPR) Conclave implements, and
what the organisation running it must still do itself.

Written for the records of processing activities (Art. 30 GDPR): each measure states what
this installation does, with the values of its configuration.
"""

from __future__ import annotations

from conclave.compliance.model import Measure, Text, text
from conclave.config import Settings
from conclave.errors import N_

ENCRYPTION = N_("Encryption (Art. 32(1)(a))")
ACCESS = N_("Confidentiality: access control")
INTEGRITY = N_("Integrity")
AVAILABILITY = N_("Availability and resilience")
MINIMISATION = N_("Data minimisation and pseudonymisation")
RIGHTS = N_("Data subject rights")
TESTING = N_("Regular testing and evaluation (Art. 32(1)(d))")
CATEGORIES = (ENCRYPTION, ACCESS, INTEGRITY, AVAILABILITY, MINIMISATION, RIGHTS, TESTING)


def measures(settings: Settings) -> tuple[Measure, ...]:
    security = settings.security
    retention = settings.retention
    found: list[tuple[str, Text]] = [
        (
            ENCRYPTION,
            text(
                N_(
                    "All connections use TLS: HTTPS and WSS only, HSTS with max-age {age} "
                    "seconds; media is additionally protected by DTLS-SRTP."
                ),
                age=security.hsts_max_age,
            ),
        ),
        (
            ENCRYPTION,
            text(
                N_(
                    "Audio, video and chat are end-to-end encrypted in the browsers (SFrame, "
                    "RFC 9605, AES-128-GCM); the keys never reach the server."
                )
            )
            if security.require_e2ee
            else text(
                N_(
                    "End-to-end encryption (SFrame, RFC 9605) is available but not required "
                    "(security.require_e2ee = false)."
                )
            ),
        ),
        (
            ACCESS,
            text(
                N_(
                    "Personal accounts for every participant; passwords of at least {length} "
                    "characters stored as argon2id hashes; every password check throttled "
                    "after {failures} failures per account and network and {network} per "
                    "network within {minutes} minutes, at most {concurrent} at once."
                ),
                length=security.password_min_length,
                failures=security.login_max_failures,
                network=security.login_network_max_failures,
                minutes=security.login_window_minutes,
                concurrent=security.password_check_concurrency,
            ),
        ),
        (
            ACCESS,
            text(
                N_(
                    "Sessions end after {idle} minutes without activity and after {hours} hours "
                    "at most; session cookies are Secure, HttpOnly and SameSite; every form is "
                    "protected against cross-site request forgery."
                ),
                idle=security.session_idle_minutes,
                hours=security.session_absolute_hours,
            ),
        ),
        (
            ACCESS,
            text(
                N_(
                    "Meetings admit only their host and invited accounts, optionally with a "
                    "meeting password; guests come in through personal invitation links valid "
                    "for {hours} hours; lobby for new meetings: {lobby}; hosts can lock the "
                    "room and remove participants."
                ),
                hours=settings.invitations.link_ttl_hours,
                lobby=settings.meetings.default_lobby,
            ),
        ),
        (
            ACCESS,
            text(
                N_(
                    "Role separation: administrators manage accounts but are not let into "
                    "meetings they are not invited to; guests cannot create meetings."
                )
            ),
        ),
        (
            INTEGRITY,
            text(
                N_(
                    "Every media frame and chat message is authenticated (AES-GCM); frames that "
                    "fail are dropped. Participants compare a security code; changed identity "
                    "keys are shown."
                )
            ),
        ),
        (
            INTEGRITY,
            text(
                N_(
                    "Content-Security-Policy default-src 'self' without inline scripts; no "
                    "resource from other sites; security headers on every response."
                )
            ),
        ),
        (
            INTEGRITY,
            text(
                N_(
                    "Security events (sign-ins, failed sign-ins, account, meeting and policy "
                    "changes, data exports) go into an audit log with the client's network "
                    "only, kept {days} days."
                ),
                days=retention.audit_days,
            ),
        ),
        (
            AVAILABILITY,
            text(
                N_(
                    "The media server (Janus) runs supervised and is restarted when it fails; "
                    "browsers reconnect to meetings by themselves after an interruption."
                )
            ),
        ),
        (
            MINIMISATION,
            text(
                N_(
                    "No recording feature; chat is relayed and never stored; camera and "
                    "microphone are off when joining."
                )
            ),
        ),
        (
            MINIMISATION,
            text(
                N_(
                    "Logs hold client addresses only as their network (IPv4 /24, IPv6 /48) and "
                    "no passwords, tokens, keys or chat; TURN user names are pseudonyms."
                )
            ),
        ),
        (
            MINIMISATION,
            text(
                N_(
                    "No third parties: every page and asset is served by Conclave itself; "
                    "STUN/TURN only as configured by the organisation."
                )
            ),
        ),
        (
            MINIMISATION,
            text(
                N_(
                    "Fixed retention periods, in days: finished meetings {meetings}, guest "
                    "accounts {guests} after their meeting, unused accounts {accounts}, audit "
                    "log {audit}; a purge job runs every {minutes} minutes and deletes for real."
                ),
                meetings=retention.meeting_days,
                guests=retention.guest_days,
                accounts=retention.account_inactive_days,
                audit=retention.audit_days,
                minutes=retention.purge_interval_minutes,
            ),
        ),
        (
            RIGHTS,
            text(
                N_(
                    "Every user downloads their data as JSON (Art. 15 and 20 GDPR) and deletes "
                    "their account (Art. 17) themselves; administrators can do both for anyone."
                )
            ),
        ),
        (
            TESTING,
            text(
                N_(
                    "This compliance report checks the configuration and the served pages; run "
                    "it after every change and keep it with the records of processing."
                )
            ),
        ),
    ]
    return tuple(Measure(category, description) for category, description in found)


def duties(settings: Settings) -> tuple[Text, ...]:
    found = [
        text(
            N_(
                "Enter the video conferencing in the records of processing activities (Art. 30 "
                "GDPR) and attach the measures above."
            )
        ),
        text(
            N_(
                "Conclude a data processing agreement (Art. 28 GDPR) with the hosting provider "
                "or data centre that runs the server."
            )
        ),
    ]
    if settings.smtp.host:
        found.append(
            text(
                N_(
                    "Invitation mail goes through {host}: if a provider runs it, conclude a data "
                    "processing agreement with them as well."
                ),
                host=settings.smtp.host,
            )
        )
    found += [
        text(
            N_(
                "Fill in the controller, the contact and, where required, the data protection "
                "officer for the privacy notice (Art. 13 and 37 GDPR)."
            )
        ),
        text(
            N_(
                "Brief staff and hosts: invite only who is needed, admit guests from the lobby "
                "with care, compare the security code in confidential meetings, and do not "
                "record with other tools."
            )
        ),
        text(
            N_(
                "Set a device policy: current browsers and operating systems, screen lock, "
                "headsets where others could listen, care with screen sharing."
            )
        ),
        text(
            N_(
                "Operate the server securely: operating system updates, a firewall that opens "
                "only the HTTPS port and the media ports, restricted administrator access, "
                "encrypted backups that are deleted on schedule."
            )
        ),
        text(
            N_(
                "Use a certificate from a certification authority and renew it in time; "
                "inform the works council where it has a say in the introduction."
            )
        ),
        text(
            N_(
                "Assess whether a data protection impact assessment is needed (Art. 35 GDPR), "
                "e.g. for confidential or special-category content."
            )
        ),
        text(
            N_(
                "Answer requests of data subjects within one month (Art. 12(3) GDPR) and "
                "document them."
            )
        ),
    ]
    return tuple(found)
