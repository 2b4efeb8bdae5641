"""What a compliance report is made of: requirements, check results, the report itself.

Every sentence is an English template marked with ``N_`` plus its parameters
(:class:`Text`), so one report renders in German or English like the rest of the UI.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from conclave.errors import N_

Status = Literal["pass", "warn", "fail"]
STATUSES: tuple[Status, ...] = ("pass", "warn", "fail")
Gettext = Callable[[str], str]


@dataclass(frozen=True, slots=True)
class Text:
    """A translatable sentence: ``template`` is marked with ``N_``; ``params`` fill its
    ``{placeholders}`` after translation (values are inserted as they are, except other
    ``Text`` values, which are translated first)."""

    template: str
    params: Mapping[str, object] = field(default_factory=dict)

    def render(self, gettext: Gettext) -> str:
        """Translated; parameters that are themselves ``Text`` are translated too."""
        translated = gettext(self.template)
        if not self.params:
            return translated
        values = {
            name: value.render(gettext) if isinstance(value, Text) else value
            for name, value in self.params.items()
        }
        return translated.format(**values)


def text(template: str, **params: object) -> Text:
    return Text(template, params)


@dataclass(frozen=True, slots=True)
class Requirement:
    """A requirement a check serves: from DESIGN.md's seed list and the DSK guidance."""

    id: str
    title: str
    source: str


REQUIREMENTS: dict[str, Requirement] = {
    r.id: r
    for r in (
        Requirement(
            "transmission_security",
            N_("Transmission security"),
            N_("DSK guidance: transmission security; TLS for all transmissions"),
        ),
        Requirement(
            "end_to_end_encryption",
            N_("End-to-end encryption"),
            N_("End-to-end encryption of audio, video and chat"),
        ),
        Requirement(
            "authentication",
            N_("User authentication"),
            N_("DSK guidance: user authentication; password protection, access by invitation"),
        ),
        Requirement(
            "guest_access",
            N_("Guest access"),
            N_("DSK guidance: guest access; lobby with admission by the host"),
        ),
        Requirement(
            "data_minimisation",
            N_("Data minimisation"),
            N_("DSK guidance: data minimisation; no recording, retention limits, minimal logs"),
        ),
        Requirement(
            "no_third_parties",
            N_("No third parties"),
            N_("No third-party resources or services; own STUN/TURN servers only"),
        ),
        Requirement(
            "security_of_processing",
            N_("Security of processing"),
            N_("Art. 32 GDPR: internal interfaces protected, security events logged"),
        ),
        Requirement(
            "information_duties",
            N_("Information duties"),
            N_("DSK guidance: information duties; privacy notice (Art. 13 GDPR)"),
        ),
        Requirement(
            "data_subject_rights",
            N_("Data subject rights"),
            N_("DSK guidance: data subject rights; access, portability, erasure (Art. 15, 17, 20)"),
        ),
    )
}


@dataclass(frozen=True, slots=True)
class CheckResult:
    id: str
    requirement: str
    title: str
    status: Status
    evidence: tuple[Text, ...]


@dataclass(frozen=True, slots=True)
class Measure:
    """A technical or organisational measure (TOM), under an Art. 32 heading."""

    category: str
    description: Text


@dataclass(frozen=True, slots=True)
class Report:
    generated_at: datetime
    target: str | None
    results: tuple[CheckResult, ...]
    measures: tuple[Measure, ...]
    duties: tuple[Text, ...]

    def count(self, status: Status) -> int:
        return sum(1 for result in self.results if result.status == status)

    @property
    def exit_status(self) -> int:
        """0 when no check failed (warnings allowed), 1 otherwise."""
        return 1 if self.count("fail") else 0
