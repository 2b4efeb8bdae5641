"""Builds the service objects from the settings: the one place things are wired."""

from __future__ import annotations

from dataclasses import dataclass

from argon2 import Parameters, PasswordHasher

from conclave.accounts.hash_gate import HashGate
from conclave.accounts.identity import IdentityKeys
from conclave.accounts.password_checks import AccountPasswordChecks, MeetingPasswordChecks
from conclave.accounts.passwords import Passwords
from conclave.accounts.rights import DataRights
from conclave.accounts.service import AccountService
from conclave.accounts.throttle import Throttle
from conclave.audit.service import AuditService
from conclave.clock import Clock, utcnow
from conclave.config import Settings
from conclave.errors import N_
from conclave.i18n import Catalogs
from conclave.meetings.access import AccessService
from conclave.meetings.invitations import InvitationService
from conclave.meetings.mail import Mailer
from conclave.meetings.service import MeetingService
from conclave.policy.service import PolicyService
from conclave.private_files import private_dir
from conclave.retention.service import RetentionService
from conclave.secrets_file import server_secret
from conclave.store.db import Database

TOO_MANY_LOGINS = N_("Too many failed attempts. Please wait a few minutes and try again.")
TOO_MANY_PASSWORDS = N_("Too many wrong meeting passwords. Please wait a few minutes.")


@dataclass(frozen=True)
class Services:
    settings: Settings
    db: Database
    accounts: AccountService
    meetings: MeetingService
    invitations: InvitationService
    access: AccessService
    identities: IdentityKeys
    audit: AuditService
    policy: PolicyService
    retention: RetentionService
    data_rights: DataRights
    mailer: Mailer
    catalogs: Catalogs
    secret: bytes
    clock: Clock


def build_services(
    settings: Settings,
    clock: Clock = utcnow,
    *,
    migrate: bool = True,
    argon2: Parameters | None = None,
    hasher: PasswordHasher | None = None,
) -> Services:
    """``argon2`` overrides the hashing cost (tests use argon2's cheapest profile);
    ``hasher``, the hasher itself (tests count its operations)."""
    private_dir(settings.data_dir)
    db = Database(settings.database_url)
    if migrate:
        db.migrate()
    security = settings.security
    gate = HashGate(security.password_check_concurrency, security.password_check_wait_seconds)
    passwords = Passwords(security.password_min_length, gate, parameters=argon2, hasher=hasher)
    window = security.login_window_minutes * 60.0

    def seconds() -> float:  # the services' clock, for the throttles' windows
        return clock().timestamp()

    account_checks = AccountPasswordChecks(
        passwords,
        Throttle(window, TOO_MANY_LOGINS, seconds),
        security.login_max_failures,
        security.login_network_max_failures,
    )
    meeting_checks = MeetingPasswordChecks(
        passwords,
        Throttle(window, TOO_MANY_PASSWORDS, seconds),
        security.meeting_password_max_failures,
        security.meeting_password_network_max_failures,
    )
    meetings = MeetingService(db, passwords, clock)
    accounts = AccountService(db, passwords, security, clock, account_checks)
    audit = AuditService(db, clock)
    policy = PolicyService(db, settings, clock)  # the effective data-protection policy
    retention = RetentionService(db, audit, settings, clock, lambda: policy.current().retention)
    return Services(
        settings=settings,
        db=db,
        accounts=accounts,
        meetings=meetings,
        invitations=InvitationService(
            db,
            meetings,
            passwords,
            account_checks,
            settings.invitations,
            clock,
            guests_allowed=lambda: policy.current().meetings.allow_guests,
        ),
        access=AccessService(
            db,
            meeting_checks,
            clock,
            guests_allowed=lambda: policy.current().meetings.allow_guests,
        ),
        identities=IdentityKeys(db, clock),
        audit=audit,
        policy=policy,
        retention=retention,
        data_rights=DataRights(
            db,
            accounts,
            audit,
            settings,
            clock,
            retention.current,
            controller=lambda: policy.current().privacy.controller_name,
        ),
        mailer=Mailer(settings.smtp),
        catalogs=Catalogs(),
        secret=server_secret(settings.data_dir),
        clock=clock,
    )
