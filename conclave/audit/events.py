"""The audit event types, and their labels for the admin view."""

from __future__ import annotations

from conclave.errors import N_

LOGIN = "login"
LOGIN_FAILED = "login_failed"
LOGOUT = "logout"
USER_CREATED = "user_created"
USER_DELETED = "user_deleted"
USER_DISABLED = "user_disabled"
USER_ENABLED = "user_enabled"
PASSWORD_CHANGED = "password_changed"  # noqa: S105 - an event name
PASSWORD_SET = "password_set"  # noqa: S105 - an event name
MEETING_DELETED = "meeting_deleted"
MEETING_ENDED = "meeting_ended"
PARTICIPANT_REMOVED = "participant_removed"
DATA_EXPORTED = "data_exported"
POLICY_CHANGED = "policy_changed"
RETENTION_PURGE = "retention_purge"

LABELS: dict[str, str] = {
    LOGIN: N_("Sign-in"),
    LOGIN_FAILED: N_("Failed sign-in"),
    LOGOUT: N_("Sign-out"),
    USER_CREATED: N_("Account created"),
    USER_DELETED: N_("Account deleted"),
    USER_DISABLED: N_("Account disabled"),
    USER_ENABLED: N_("Account enabled"),
    PASSWORD_CHANGED: N_("Own password changed"),
    PASSWORD_SET: N_("Password set by an administrator"),
    MEETING_DELETED: N_("Meeting deleted"),
    MEETING_ENDED: N_("Meeting ended for everyone"),
    PARTICIPANT_REMOVED: N_("Removed from a meeting"),
    DATA_EXPORTED: N_("Personal data exported"),
    POLICY_CHANGED: N_("Data-protection setting changed"),
    RETENTION_PURGE: N_("Retention purge"),
}
EVENTS = frozenset(LABELS)
