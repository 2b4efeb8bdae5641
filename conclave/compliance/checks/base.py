"""What every check shares: its id, requirement and title, and the evidence it collects."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from conclave.compliance.facts import Facts
from conclave.compliance.model import REQUIREMENTS, STATUSES, CheckResult, Status, Text

MAX_LISTED = 20  # items of one kind listed in the evidence; the rest are counted


@dataclass
class Findings:
    """The evidence of one check; its status is the worst status added."""

    status: Status = "pass"
    evidence: list[Text] = field(default_factory=list)

    def add(self, status: Status, template: str, **params: object) -> None:
        self.evidence.append(Text(template, params))
        if STATUSES.index(status) > STATUSES.index(self.status):
            self.status = status

    def note(self, template: str, **params: object) -> None:
        self.add("pass", template, **params)


@dataclass(frozen=True, slots=True)
class Check:
    id: str
    requirement: str
    title: str  # marked with N_
    judge: Callable[[Facts, Findings], None]

    def __call__(self, facts: Facts) -> CheckResult:
        findings = Findings()
        self.judge(facts, findings)
        return CheckResult(
            self.id, self.requirement, self.title, findings.status, tuple(findings.evidence)
        )


def check(
    id: str, requirement: str, title: str
) -> Callable[[Callable[[Facts, Findings], None]], Check]:
    """Declare a check: ``@check("tls-only", "transmission_security", N_("..."))``."""
    if requirement not in REQUIREMENTS:
        raise ValueError(f"unknown requirement {requirement!r}")

    def declare(judge: Callable[[Facts, Findings], None]) -> Check:
        return Check(id, requirement, title, judge)

    return declare


def listed(items: list[str]) -> str:
    """``items`` joined for the evidence, at most ``MAX_LISTED`` of them."""
    shown = ", ".join(items[:MAX_LISTED])
    more = len(items) - MAX_LISTED
    return f"{shown} (+{more})" if more > 0 else shown
