"""Invitations: members by account, external people by a personal, single-use link."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as Db

from conclave import tokens
from conclave.accounts import names
from conclave.accounts.password_checks import AccountPasswordChecks
from conclave.accounts.passwords import Passwords
from conclave.clock import Clock
from conclave.config import InvitationSettings
from conclave.errors import N_, Conflict, NotAuthenticated, NotAuthorised, NotFound
from conclave.meetings.service import MeetingService
from conclave.store import invitations, meetings, users
from conclave.store.db import Database
from conclave.store.records import Invitation, Meeting, User

LINK_UNUSABLE = N_("This invitation link is not valid.")
GUESTS_OFF = N_(
    "Guest access is switched off on this server. Invite members by their user name, "
    "or ask the administrator."
)


@dataclass(frozen=True, slots=True)
class IssuedLink:
    invitation: Invitation
    token: str


@dataclass(frozen=True, slots=True)
class PendingInvitation:
    """What the link page shows. Whether the address has an account is deliberately not
    part of it: the page is the same either way (docs/deployment.md, "Password throttles")."""

    invitation: Invitation
    meeting: Meeting
    host_name: str


@dataclass(frozen=True, slots=True)
class Accepted:
    account: User
    created: bool  # a new guest account (False: the address had one already)


class InvitationService:
    def __init__(
        self,
        db: Database,
        meetings_service: MeetingService,
        passwords: Passwords,
        checks: AccountPasswordChecks,
        settings: InvitationSettings,
        clock: Clock,
        guests_allowed: Callable[[], bool] = lambda: True,
    ) -> None:
        """``guests_allowed``: the policy in force (``services.policy``)."""
        self.db = db
        self.guests_allowed = guests_allowed
        self.meetings = meetings_service
        self.passwords = passwords
        self.checks = checks
        self.settings = settings
        self.clock = clock

    def _expiry(self, meeting: Meeting) -> tuple[datetime, datetime]:
        now = self.clock()
        expires = now + timedelta(hours=self.settings.link_ttl_hours)
        if meeting.ends_at is not None:  # a day after the end; the end of time at the latest
            day_after = min(meeting.ends_at, datetime.max.replace(tzinfo=UTC) - timedelta(days=1))
            expires = max(expires, day_after + timedelta(days=1))
        return now, expires

    def for_meeting(self, host: User, meeting_id: str) -> list[tuple[Invitation, User | None]]:
        meeting = self.meetings.hosted(host, meeting_id)
        with self.db.transaction("list_invitations") as tx:
            return [
                (inv, users.by_id(tx, inv.user_id) if inv.user_id else None)
                for inv in invitations.for_meeting(tx, meeting.id)
            ]

    def invite_member(self, host: User, meeting_id: str, username: str) -> Invitation:
        meeting = self.meetings.hosted(host, meeting_id)
        now, expires = self._expiry(meeting)
        try:
            with self.db.transaction("invite_member") as tx:
                invitee = users.by_username(tx, names.username(username))
                if invitee is None or invitee.is_guest:
                    raise NotFound(
                        N_("There is no member with this user name."), reason="no_member"
                    )
                if invitee.id == meeting.owner_id:
                    raise Conflict(N_("You host this meeting already."), reason="self_invite")
                invitations.forget_removal(tx, invitee.id, meeting.id)  # invited again
                return invitations.insert(
                    tx, meeting_id=meeting.id, user_id=invitee.id, now=now, expires_at=expires
                )
        except IntegrityError:
            raise Conflict(
                N_("This member is invited already."), reason="already_invited"
            ) from None

    def invite_email(self, host: User, meeting_id: str, email: str) -> IssuedLink:
        meeting = self.meetings.hosted(host, meeting_id)
        if not self.guests_allowed():
            raise Conflict(GUESTS_OFF, reason="guests_off")
        address = names.email(email)
        token = tokens.new_token()
        now, expires = self._expiry(meeting)
        with self.db.transaction("invite_email") as tx:
            for earlier in invitations.for_meeting(tx, meeting.id):
                if earlier.email == address and earlier.expires_at > now:
                    # Two live links for one address: the host could not tell which is which.
                    raise Conflict(
                        N_("This address is invited already. Revoke its link to send a new one."),
                        reason="already_invited",
                    )
            invitation = invitations.insert(
                tx,
                meeting_id=meeting.id,
                email=address,
                token_hash=tokens.hash_token(token),
                now=now,
                expires_at=expires,
            )
        return IssuedLink(invitation=invitation, token=token)

    def revoke(self, host: User, meeting_id: str, invitation_id: int) -> None:
        meeting = self.meetings.hosted(host, meeting_id)
        with self.db.transaction("revoke_invitation") as tx:
            invitation = invitations.by_id(tx, invitation_id)
            if invitation is None or invitation.meeting_id != meeting.id:
                raise NotFound(N_("No such invitation."), reason="unknown_invitation")
            invitations.remove(tx, invitation.id)

    def remove_from_meeting(self, meeting_id: str, user_id: int) -> None:
        """A host removed the user from a running meeting: their invitation ends, marked
        as ended by a removal (the person is told so) until they are invited again."""
        with self.db.transaction("remove_from_meeting") as tx:
            invitations.mark_removed(tx, user_id, meeting_id, self.clock())

    def pending(self, token: str) -> PendingInvitation:
        """Look up a link; unknown, used and expired links each get a clear error."""
        if not tokens.looks_like_token(token):
            raise NotFound(LINK_UNUSABLE, reason="unknown_invitation")
        with self.db.transaction("pending_invitation") as tx:
            invitation = invitations.by_token_hash(tx, tokens.hash_token(token))
            if invitation is None:
                raise NotFound(LINK_UNUSABLE, reason="unknown_invitation")
            if invitation.accepted_at is not None:
                raise Conflict(
                    N_("This invitation link has been used already. Sign in instead."),
                    reason="invitation_used",
                )
            if invitation.expires_at <= self.clock():
                raise Conflict(
                    N_("This invitation has expired. Ask the host for a new one."),
                    reason="invitation_expired",
                )
            meeting = meetings.by_id(tx, invitation.meeting_id)
            host = users.by_id(tx, meeting.owner_id) if meeting else None
            if meeting is None or host is None:
                raise NotFound(LINK_UNUSABLE, reason="unknown_invitation")
        if not self.guests_allowed():
            raise Conflict(GUESTS_OFF, reason="guests_off")  # the link is for a guest
        return PendingInvitation(invitation, meeting, host.display_name)

    def accept(self, token: str, display_name: str, password: str, network: str) -> Accepted:
        """Create the guest account, or use the one the address has, and bind the
        invitation. Both ways validate the same fields first and count against the same
        throttle as sign-in (from ``network``), so the answers differ only where they
        must: a password that is not the existing account's cannot create an account."""
        pending = self.pending(token)
        email = pending.invitation.email or ""
        shown = names.display_name(display_name)
        self.passwords.check_policy(password, email)
        with self.db.transaction("invited_account") as tx:
            account = users.by_username(tx, email)
        if account is not None:
            return Accepted(self._existing(pending, account, password, network), created=False)
        return Accepted(self._new_guest(pending, shown, password, network), created=True)

    def _existing(
        self, pending: PendingInvitation, account: User, password: str, network: str
    ) -> User:
        if not self.checks.check(account.username, network, account.password_hash, password):
            raise NotAuthenticated(
                N_("Wrong password for the existing account."), reason="bad_credentials"
            )
        if account.disabled:  # as at sign-in: said only to someone who knows the password
            raise NotAuthorised(N_("This account is disabled."), reason="account_disabled")
        with self.db.transaction("accept_invitation") as tx:
            self._bind(tx, pending, account, self.clock())
        return account

    def _new_guest(
        self, pending: PendingInvitation, shown: str, password: str, network: str
    ) -> User:
        email = pending.invitation.email or ""
        with self.checks.new_account(email, network):
            password_hash = self.passwords.hash(password)
            now = self.clock()
            try:
                with self.db.transaction("accept_invitation_new_guest") as tx:
                    account = users.insert(
                        tx,
                        username=email,
                        display_name=shown,
                        password_hash=password_hash,
                        role="guest",
                        now=now,
                    )
                    self._bind(tx, pending, account, now)
            except IntegrityError:
                raise Conflict(LINK_UNUSABLE, reason="account_race") from None
        return account

    @staticmethod
    def _bind(tx: Db, pending: PendingInvitation, account: User, now: datetime) -> None:
        if invitations.for_user_and_meeting(tx, account.id, pending.meeting.id) is not None:
            raise Conflict(N_("You are invited to this meeting already."), reason="duplicate")
        invitations.forget_removal(tx, account.id, pending.meeting.id)  # invited again
        if not invitations.accept(tx, pending.invitation.id, account.id, now):
            raise Conflict(
                N_("This invitation link has been used already."), reason="invitation_used"
            )
