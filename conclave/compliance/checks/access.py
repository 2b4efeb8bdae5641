"""Authentication and guest access: accounts, invitations, sign-in limits, the lobby."""

from __future__ import annotations

from conclave.compliance.checks.base import Findings, check
from conclave.compliance.facts import Facts
from conclave.compliance.model import Status
from conclave.errors import N_

LONG_INVITATION_HOURS = 30 * 24
GOOD_PASSWORD_LENGTH = 12
MANY_FAILURES = 10
LONG_IDLE_MINUTES = 240
LONG_SESSION_HOURS = 24


@check(
    "invitation-only",
    "authentication",
    N_("Meetings are open only to invited people who signed in"),
)
def invitation_only(facts: Facts, found: Findings) -> None:
    found.note(
        N_(
            "Every participant signs in with a personal account. A meeting admits its host "
            "and the accounts invited to it, nobody else; a meeting password can be added."
        )
    )
    found.note(
        N_(
            "Administrators are not let into meetings they are not invited to; guests "
            "cannot create meetings."
        )
    )
    hours = facts.settings.invitations.link_ttl_hours
    if hours > LONG_INVITATION_HOURS:
        found.add(
            "warn",
            N_(
                "Personal invitation links stay valid for {hours} hours "
                "(invitations.link_ttl_hours), more than 30 days."
            ),
            hours=hours,
        )
    else:
        found.note(
            N_(
                "Guests get an account only through a personal invitation link, used once "
                "and valid for {hours} hours."
            ),
            hours=hours,
        )


@check("sign-in", "authentication", N_("Sign-in is protected against guessing and theft"))
def sign_in(facts: Facts, found: Findings) -> None:
    security = facts.settings.security
    found.note(N_("Passwords are stored as argon2id hashes, never in plain text."))
    if security.password_min_length < GOOD_PASSWORD_LENGTH:
        found.add(
            "warn",
            N_("Passwords need only {length} characters (security.password_min_length)."),
            length=security.password_min_length,
        )
    else:
        found.note(
            N_("Passwords need at least {length} characters."),
            length=security.password_min_length,
        )
    failures = security.login_max_failures
    if failures > MANY_FAILURES:
        found.add(
            "warn",
            N_("{count} failed sign-ins are allowed within {minutes} minutes."),
            count=failures,
            minutes=security.login_window_minutes,
        )
    else:
        found.note(
            N_(
                "After {count} wrong passwords for one account from one network within "
                "{minutes} minutes, that account waits there; after {network} from one "
                "network, that network waits."
            ),
            count=failures,
            minutes=security.login_window_minutes,
            network=security.login_network_max_failures,
        )
    idle, hours = security.session_idle_minutes, security.session_absolute_hours
    status: Status = "warn" if idle > LONG_IDLE_MINUTES or hours > LONG_SESSION_HOURS else "pass"
    found.add(
        status,
        N_("Sessions end after {idle} minutes without activity and after {hours} hours at most."),
        idle=idle,
        hours=hours,
    )


@check("guest-lobby", "guest_access", N_("Guests wait in a lobby until the host admits them"))
def guest_lobby(facts: Facts, found: Findings) -> None:
    policy = facts.settings.meetings.default_lobby
    if policy == "off":
        found.add(
            "fail",
            N_(
                "New meetings start without a lobby (meetings.default_lobby = off): guests "
                "enter without being admitted."
            ),
        )
    elif policy == "guests":
        found.note(N_("New meetings send guests to the lobby (meetings.default_lobby = guests)."))
    else:
        found.note(
            N_("New meetings send everyone to the lobby (meetings.default_lobby = everyone).")
        )
    database = facts.database
    if database is None:
        return
    if database.guest_meetings_without_lobby:
        found.add(
            "warn",
            N_("{count} meetings with invited guests have their lobby switched off by the host."),
            count=database.guest_meetings_without_lobby,
        )
    else:
        found.note(
            N_("No meeting with invited guests has its lobby switched off ({count} meetings)."),
            count=database.meetings,
        )
