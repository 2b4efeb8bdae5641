"""Accounts and login sessions: the rules; SQL lives in ``store``."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as Db

from conclave import tokens
from conclave.accounts import names
from conclave.accounts.password_checks import AccountPasswordChecks, login_name
from conclave.accounts.passwords import Passwords
from conclave.clock import Clock
from conclave.config import SecuritySettings
from conclave.errors import N_, Conflict, NotAuthenticated, NotAuthorised, NotFound
from conclave.store import personal, sessions, users
from conclave.store.db import Database
from conclave.store.personal import Erased
from conclave.store.records import Role, Session, User

LOGIN_FAILED = N_("Wrong user name or password.")
TOUCH_INTERVAL = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class SignedIn:
    user: User
    session: Session


class AccountService:
    def __init__(
        self,
        db: Database,
        passwords: Passwords,
        security: SecuritySettings,
        clock: Clock,
        checks: AccountPasswordChecks,
    ) -> None:
        self.db = db
        self.passwords = passwords
        self.security = security
        self.clock = clock
        self.checks = checks

    # -- accounts -------------------------------------------------------------------
    def create_user(
        self, username: str, display_name: str, password: str, role: Role = "member"
    ) -> User:
        login = names.email(username) if role == "guest" else names.username(username)
        shown = names.display_name(display_name or login)
        self.passwords.check_policy(password, login)
        password_hash = self.passwords.hash(password)
        try:
            with self.db.transaction("create_user") as tx:
                return users.insert(
                    tx,
                    username=login,
                    display_name=shown,
                    password_hash=password_hash,
                    role=role,
                    now=self.clock(),
                )
        except IntegrityError:
            raise Conflict(N_("This user name is taken."), reason="username_taken") from None

    def list_users(self) -> list[User]:
        with self.db.transaction("list_users") as tx:
            return users.all_users(tx)

    def get(self, user_id: int) -> User:
        with self.db.transaction("get_user") as tx:
            user = users.by_id(tx, user_id)
        if user is None:
            raise NotFound(N_("No such user."), reason="unknown_user")
        return user

    def by_username(self, username: str) -> User:
        with self.db.transaction("user_by_name") as tx:
            user = users.by_username(tx, username.strip().lower())
        if user is None:
            raise NotFound(N_("No such user."), reason="unknown_user")
        return user

    def set_disabled(self, actor: User, user_id: int, disabled: bool) -> None:
        with self.db.transaction("set_disabled") as tx:
            target = self._guard_admin_change(tx, actor, user_id)
            users.set_disabled(tx, target.id, disabled)
            if disabled:
                sessions.remove_for_user(tx, target.id)

    def remove(self, actor: User | None, user_id: int) -> Erased:
        """Erase the account and everything linked to it (``store/personal.py``)."""
        with self.db.transaction("remove_user") as tx:
            target = self._guard_admin_change(tx, actor, user_id)
            return personal.erase(tx, target.id, target.username if target.is_guest else None)

    def _guard_admin_change(self, tx: Db, actor: User | None, user_id: int) -> User:
        target = users.by_id(tx, user_id)
        if target is None:
            raise NotFound(N_("No such user."), reason="unknown_user")
        if actor is not None and actor.id == target.id:
            raise Conflict(N_("You cannot do this to your own account here."), reason="self_change")
        if target.is_admin and not target.disabled and users.count_active_admins(tx) <= 1:
            raise Conflict(
                N_("The last active administrator cannot be disabled or removed."),
                reason="last_admin",
            )
        return target

    def set_password(self, user_id: int, password: str) -> None:
        """Set a new password and end every session of that user."""
        user = self.get(user_id)
        self.passwords.check_policy(password, user.username)
        password_hash = self.passwords.hash(password)
        with self.db.transaction("set_password") as tx:
            users.set_password_hash(tx, user.id, password_hash)
            sessions.remove_for_user(tx, user.id)

    def confirm_password(self, user_id: int, password: str, network: str) -> User:
        """The account, if ``password`` is its password; a wrong one counts like a failed
        sign-in from ``network`` (``password_checks.py``)."""
        current = self.get(user_id)
        if not self.checks.check(current.username, network, current.password_hash, password):
            raise NotAuthorised(N_("The password is wrong."), reason="wrong_password")
        return current

    def change_own_password(self, user: User, current: str, new: str, network: str) -> str:
        """Check the current password, set the new one; returns a fresh session token."""
        try:
            self.confirm_password(user.id, current, network)
        except NotAuthorised:
            raise NotAuthorised(
                N_("The current password is wrong."), reason="wrong_password"
            ) from None
        self.set_password(user.id, new)
        return self.start_session(user)

    # -- login ------------------------------------------------------------------------
    def authenticate(self, username: str, password: str, network: str) -> User:
        """Check credentials, throttled per (account, network) pair and per network."""
        name = login_name(username)
        with self.db.transaction("authenticate") as tx:
            user = users.by_username(tx, name)
        if not self.checks.check(name, network, user.password_hash if user else None, password):
            raise NotAuthenticated(LOGIN_FAILED, reason="bad_credentials")
        if user is None:  # a check never accepts the dummy hash; this keeps mypy informed
            raise NotAuthenticated(LOGIN_FAILED, reason="bad_credentials")
        if user.disabled:
            raise NotAuthorised(N_("This account is disabled."), reason="account_disabled")
        return user

    def start_session(self, user: User) -> str:
        token = tokens.new_token()
        now = self.clock()
        expires = now + timedelta(hours=self.security.session_absolute_hours)
        with self.db.transaction("start_session") as tx:
            sessions.insert(
                tx,
                token_hash=tokens.hash_token(token),
                user_id=user.id,
                now=now,
                expires_at=expires,
            )
            users.set_last_login(tx, user.id, now)  # for retention.account_inactive_days
        return token

    def resolve_session(self, token: str) -> SignedIn | None:
        """The signed-in user for a cookie value, or None (expired, revoked, junk)."""
        if not tokens.looks_like_token(token):
            return None
        now = self.clock()
        with self.db.transaction("resolve_session") as tx:
            found = sessions.by_token_hash(tx, tokens.hash_token(token))
            if found is None:
                return None
            user = users.by_id(tx, found.user_id)
            if user is None or not self._usable(found, user, now):
                sessions.remove(tx, found.id)
                return None
            if now - found.last_seen_at >= TOUCH_INTERVAL:
                sessions.touch(tx, found.id, now)
        return SignedIn(user=user, session=found)

    def session_alive(self, session_id: int) -> bool:
        """Whether a session resolved earlier is still good (not signed out, expired or
        idle too long, its account not disabled). Reads only."""
        now = self.clock()
        with self.db.transaction("session_alive") as tx:
            found = sessions.by_id(tx, session_id)
            user = users.by_id(tx, found.user_id) if found else None
            return found is not None and user is not None and self._usable(found, user, now)

    def keep_alive(self, session_ids: Collection[int]) -> set[int]:
        """Of these sessions, each holding a meeting connection, the ones still good; they
        are touched like a request would (a person in a meeting is active)."""
        now = self.clock()
        with self.db.transaction("keep_sessions_alive") as tx:
            found = sessions.by_ids(tx, session_ids)
            owners = users.by_ids(tx, {s.user_id for s in found})
            usable = [
                s for s in found if s.user_id in owners and self._usable(s, owners[s.user_id], now)
            ]
            stale = [s.id for s in usable if now - s.last_seen_at >= TOUCH_INTERVAL]
            sessions.touch_all(tx, stale, now)
        return {s.id for s in usable}

    def _usable(self, session: Session, user: User, now: datetime) -> bool:
        idle = timedelta(minutes=self.security.session_idle_minutes)
        return not user.disabled and now < session.expires_at and now - session.last_seen_at < idle

    def end_session(self, token: str) -> Session | None:
        """Sign out: the session ended, or None when the token named none."""
        if not tokens.looks_like_token(token):
            return None
        with self.db.transaction("end_session") as tx:
            found = sessions.by_token_hash(tx, tokens.hash_token(token))
            if found is not None:
                sessions.remove(tx, found.id)
        return found

    # -- first administrator ----------------------------------------------------------
    def needs_setup(self) -> bool:
        with self.db.transaction("count_users") as tx:
            return users.count(tx) == 0

    def issue_setup_token(self) -> str | None:
        """A one-time link token for the first admin, or None when users exist."""
        if not self.needs_setup():
            return None
        token = tokens.new_token()
        expires = self.clock() + timedelta(minutes=self.security.setup_link_minutes)
        with self.db.transaction("issue_setup_token") as tx:
            sessions.replace_setup_token(tx, tokens.hash_token(token), expires)
        return token

    def setup_token_valid(self, token: str) -> bool:
        if not tokens.looks_like_token(token):
            return False
        with self.db.transaction("check_setup_token") as tx:
            return sessions.setup_token_valid(tx, tokens.hash_token(token), self.clock())

    def complete_setup(self, token: str, username: str, display_name: str, password: str) -> User:
        """Create the first admin; the token is consumed in the same transaction."""
        login = names.username(username)
        shown = names.display_name(display_name or login)
        self.passwords.check_policy(password, login)
        password_hash = self.passwords.hash(password)
        if not tokens.looks_like_token(token):
            raise NotFound(N_("This setup link is not valid."), reason="bad_setup_token")
        with self.db.transaction("complete_setup") as tx:
            if users.count(tx) or not sessions.take_setup_token(
                tx, tokens.hash_token(token), self.clock()
            ):
                raise NotFound(
                    N_("This setup link is not valid: it was used already or has expired."),
                    reason="bad_setup_token",
                )
            return users.insert(
                tx,
                username=login,
                display_name=shown,
                password_hash=password_hash,
                role="admin",
                now=self.clock(),
            )
