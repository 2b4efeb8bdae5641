"""The facts the privacy notice states, taken from the running configuration."""

from __future__ import annotations

from dataclasses import dataclass

from conclave.config import Settings


@dataclass(frozen=True, slots=True)
class PrivacyNotice:
    controller_name: str
    controller_contact: str
    dpo_contact: str
    session_idle_minutes: int
    session_absolute_hours: int
    invitation_ttl_hours: int
    e2ee_required: bool
    default_lobby: str
    meeting_days: int = 30
    guest_days: int = 1
    account_inactive_days: int = 730
    identity_key_days: int = 365
    audit_days: int = 90

    @property
    def complete(self) -> bool:
        """Art. 13 GDPR needs at least the controller's identity and contact."""
        return bool(self.controller_name and self.controller_contact)


def privacy_notice(settings: Settings) -> PrivacyNotice:
    return PrivacyNotice(
        controller_name=settings.privacy.controller_name,
        controller_contact=settings.privacy.controller_contact,
        dpo_contact=settings.privacy.dpo_contact,
        session_idle_minutes=settings.security.session_idle_minutes,
        session_absolute_hours=settings.security.session_absolute_hours,
        invitation_ttl_hours=settings.invitations.link_ttl_hours,
        e2ee_required=settings.security.require_e2ee,
        default_lobby=settings.meetings.default_lobby,
        meeting_days=settings.retention.meeting_days,
        guest_days=settings.retention.guest_days,
        account_inactive_days=settings.retention.account_inactive_days,
        identity_key_days=settings.retention.identity_key_days,
        audit_days=settings.retention.audit_days,
    )
