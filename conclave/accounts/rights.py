"""Data subject rights: a copy of everything held about an account (GDPR Art. 15 and 20)
and its erasure (Art. 17), for the person themselves and for administrators.

The export names nobody else: of the meetings a person hosts it gives the number of
invitees, not who they are; of an invitation, the meeting but not its host; of an
audit entry, the person's part in it but not the other party. The password hash is not
exported (it is not information about the person, and a leaked export must not help
anyone guess the password).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from typing import Any, Literal

from conclave.accounts.service import AccountService
from conclave.audit import events
from conclave.audit.service import AuditService
from conclave.clock import Clock
from conclave.config import RetentionSettings, Settings
from conclave.errors import N_, Conflict, NotFound
from conclave.privacy.addresses import truncate_ip
from conclave.store import personal, users
from conclave.store.db import Database
from conclave.store.personal import Erased
from conclave.store.records import User
from conclave.store.space import reclaim

EXPORT_FORMAT = "conclave-personal-data/1"
Via = Literal["self", "admin", "cli"]

NOT_STORED = (
    "Audio, video and screen sharing: end-to-end encrypted, never stored.",
    "Chat messages: end-to-end encrypted, relayed and never stored.",
    "Attendance: who was in a meeting and when is not recorded.",
    "Full IP addresses: the audit log keeps only the network (IPv4 /24, IPv6 /48).",
    "Your password: only an argon2id hash is stored; it is not part of this export.",
)


class DataRights:
    def __init__(
        self,
        db: Database,
        accounts: AccountService,
        audit: AuditService,
        settings: Settings,
        clock: Clock,
        retention: Callable[[], RetentionSettings],
        controller: Callable[[], str] | None = None,
    ) -> None:
        """``retention`` and ``controller``: the policy in force (``services.policy``)."""
        self.db = db
        self.accounts = accounts
        self.audit = audit
        self.settings = settings
        self.clock = clock
        self.retention = retention
        self.controller = controller or (lambda: settings.privacy.controller_name)

    # -- Art. 15 / 20 -----------------------------------------------------------------
    def export(
        self, user_id: int, *, actor_id: int | None, client: str | None, via: Via
    ) -> dict[str, Any]:
        """Everything held about the account, as JSON-ready data; the export is audited."""
        with self.db.transaction("export_personal_data") as tx:
            user = users.by_id(tx, user_id)
            if user is None:
                raise NotFound(N_("No such user."), reason="unknown_user")
            email = user.username if user.is_guest else None
            document = {
                "format": EXPORT_FORMAT,
                "generated_at": self.clock().isoformat(),
                "server": self.settings.base_url,
                "controller": self.controller() or None,
                "account": _account(user),
                "sessions": personal.sessions_of(tx, user.id),
                "identity_keys": personal.identity_keys_of(tx, user.id),
                "meetings_hosted": personal.meetings_hosted(tx, user.id),
                "invitations": personal.invitations_of(tx, user.id, email),
                "audit_log": personal.audit_of(tx, user.id),
                "settings_changed": personal.policy_changes_of(tx, user.id),
                "not_stored": list(NOT_STORED),
                "retention": self._retention(),
            }
        self.audit.record(
            events.DATA_EXPORTED,
            actor_id=actor_id,
            subject_id=user_id if actor_id != user_id else None,
            client=client,
            details={"via": via},
        )
        return document

    def export_json(
        self, user_id: int, *, actor_id: int | None, client: str | None, via: Via
    ) -> bytes:
        document = self.export(user_id, actor_id=actor_id, client=client, via=via)
        return json.dumps(document, indent=2, ensure_ascii=False).encode()

    # -- Art. 17 ----------------------------------------------------------------------
    def delete_own(self, user: User, password: str, client: str | None) -> Erased:
        """The person deletes their own account, confirmed with their password (a wrong
        one counts like a failed sign-in from the client's network)."""
        current = self.accounts.confirm_password(user.id, password, truncate_ip(client))
        with self.db.transaction("delete_own_account") as tx:
            if current.is_admin and not current.disabled and users.count_active_admins(tx) <= 1:
                raise Conflict(
                    N_(
                        "You are the last active administrator. Make someone else "
                        "an administrator first."
                    ),
                    reason="last_admin",
                )
            erased = personal.erase(tx, current.id, _email(current))
        reclaim(self.db.engine)
        self._record_deletion(None, current, client, "self", erased)
        return erased

    def delete(self, actor: User | None, user_id: int, client: str | None, via: Via) -> Erased:
        """An administrator (``actor``; None on the command line) deletes an account."""
        target = self.accounts.get(user_id)
        erased = self.accounts.remove(actor, user_id)
        reclaim(self.db.engine)  # no old copy left in the write-ahead log
        self._record_deletion(actor.id if actor else None, target, client, via, erased)
        return erased

    def _record_deletion(
        self, actor_id: int | None, target: User, client: str | None, via: Via, erased: Erased
    ) -> None:
        details: dict[str, str | int | bool] = {"via": via, "role": target.role}
        details.update({k: v for k, v in asdict(erased).items() if v})
        self.audit.record(events.USER_DELETED, actor_id=actor_id, client=client, details=details)

    def _retention(self) -> dict[str, int]:
        rules = self.retention()
        return {
            "meeting_days": rules.meeting_days,
            "guest_days": rules.guest_days,
            "account_inactive_days": rules.account_inactive_days,
            "identity_key_days": rules.identity_key_days,
            "audit_days": rules.audit_days,
            "session_absolute_hours": self.settings.security.session_absolute_hours,
        }


def _email(user: User) -> str | None:
    return user.username if user.is_guest else None


def _account(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "disabled": user.disabled,
        "created_at": user.created_at.isoformat(),
        "last_login_at": user.last_login_at.isoformat() if user.last_login_at else None,
    }
