"""The settings the policy console may change, grouped by the form that shows them.

Each field is a key of the configuration (``section.name``); its type, bounds and
allowed values are those of the configuration's own pydantic model (``config.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from conclave.errors import N_

Kind = Literal["bool", "int", "text", "longtext", "lobby", "ice"]
FormName = Literal["meetings", "privacy", "retention", "media"]


@dataclass(frozen=True, slots=True)
class PolicyField:
    key: str  # "section.name", as in conclave.toml
    form: FormName
    kind: Kind
    label: str  # N_ message
    hint: str = ""  # N_ message
    unit: str = ""  # N_ message, shown after number inputs

    @property
    def section(self) -> str:
        return self.key.split(".", 1)[0]

    @property
    def name(self) -> str:
        return self.key.split(".", 1)[1]

    @property
    def html_id(self) -> str:
        return "policy-" + self.key.replace(".", "-").replace("_", "-")


DAYS = N_("days")
FIELDS: tuple[PolicyField, ...] = (
    PolicyField(
        "security.require_e2ee",
        "meetings",
        "bool",
        N_("Require end-to-end encryption"),
        N_(
            "Every meeting's audio, video and chat is end-to-end encrypted. Switching it "
            "off needs the confirmation below and is stated in the privacy notice and "
            "the compliance report."
        ),
    ),
    PolicyField(
        "meetings.allow_guests",
        "meetings",
        "bool",
        N_("Allow guests"),
        N_("External guests invited by e-mail may enter meetings. Off: guests are refused."),
    ),
    PolicyField(
        "meetings.default_lobby",
        "meetings",
        "lobby",
        N_("Lobby for new meetings"),
        N_("Preselected when a meeting is created; hosts can change it per meeting."),
    ),
    PolicyField(
        "meetings.max_participants",
        "meetings",
        "int",
        N_("Maximum meeting size"),
        N_("Most participants in one meeting (2 to 500)."),
        N_("participants"),
    ),
    PolicyField(
        "privacy.controller_name",
        "privacy",
        "text",
        N_("Controller"),
        N_("The organisation responsible for the processing (Art. 13 GDPR)."),
    ),
    PolicyField(
        "privacy.controller_contact",
        "privacy",
        "longtext",
        N_("Controller's contact"),
        N_("Postal address and e-mail address."),
    ),
    PolicyField(
        "privacy.dpo_contact",
        "privacy",
        "longtext",
        N_("Data protection officer's contact"),
        N_("Leave empty if there is none."),
    ),
    PolicyField(
        "retention.meeting_days",
        "retention",
        "int",
        N_("Finished meetings and their invitee lists"),
        N_("0 to 3650 days; 0: deleted at the end of the meeting."),
        DAYS,
    ),
    PolicyField(
        "retention.guest_days",
        "retention",
        "int",
        N_("Guest accounts after their last meeting"),
        N_("0 to 365 days; 0: deleted at the end of the meeting."),
        DAYS,
    ),
    PolicyField(
        "retention.account_inactive_days",
        "retention",
        "int",
        N_("Accounts nobody signed in to"),
        N_("30 to 3650 days."),
        DAYS,
    ),
    PolicyField(
        "retention.identity_key_days",
        "retention",
        "int",
        N_("Unused identity keys"),
        N_("30 to 3650 days."),
        DAYS,
    ),
    PolicyField(
        "retention.audit_days",
        "retention",
        "int",
        N_("Audit log entries"),
        N_("1 to 3650 days."),
        DAYS,
    ),
    PolicyField(
        "media.ice_servers",
        "media",
        "ice",
        N_("STUN and TURN servers handed to browsers"),
        N_(
            "One stun:, stuns:, turn: or turns: URL per line; empty: none. Public services "
            "of third parties are refused; a server outside the organisation's own domain "
            "and networks needs the confirmation below. Servers that need a user name and "
            "password stay in the configuration file (saving a list here replaces its list); "
            "for your coturn, media.turn hands out short-lived credentials."
        ),
    ),
)
BY_KEY = {field.key: field for field in FIELDS}
FORMS: dict[FormName, str] = {
    "meetings": N_("Encryption and meetings"),
    "privacy": N_("Privacy notice"),
    "retention": N_("Retention"),
    "media": N_("STUN and TURN servers"),
}


def in_form(form: FormName) -> list[PolicyField]:
    return [field for field in FIELDS if field.form == form]
