"""The report as plain text, Markdown, HTML or JSON, in German or English."""

from __future__ import annotations

import json
from dataclasses import dataclass

from conclave.compliance.model import REQUIREMENTS, STATUSES, Gettext, Report, Status
from conclave.compliance.options import Format
from conclave.compliance.report import TEMPLATES
from conclave.compliance.tom import CATEGORIES
from conclave.errors import N_
from conclave.i18n import Catalogs, template_environment

MEDIA_TYPES: dict[Format, str] = {
    "text": "text/plain; charset=utf-8",
    "markdown": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "json": "application/json",
}
SUFFIXES: dict[Format, str] = {"text": "txt", "markdown": "md", "html": "html", "json": "json"}

STATUS_LABELS: dict[Status, str] = {
    "pass": N_("passed"),
    "warn": N_("warning"),
    "fail": N_("failed"),
}
TITLE = N_("Conclave compliance report")
GENERATED = N_("Generated")
CHECKED = N_("Checked")
SERVER = N_("the server at {origin}")
NO_SERVER = N_("this installation's configuration and files (no running server)")
SUMMARY = N_("passed: {passed}, warnings: {warnings}, failed: {failed}")  # right for any count
REQUIREMENT = N_("Requirement")
STATUS_HEADING = N_("Status")
EVIDENCE = N_("Evidence")
CHECKS_HEADING = N_("Checks")
MEASURES_HEADING = N_("Technical and organisational measures (Art. 32 GDPR)")
MEASURES_INTRO = N_(
    "For the records of processing activities (Art. 30 GDPR): what this installation does."
)
DUTIES_HEADING = N_("What the organisation must do itself")


@dataclass(frozen=True, slots=True)
class CheckView:
    id: str
    requirement_id: str
    requirement: str
    requirement_source: str
    title: str
    status: Status
    status_label: str
    evidence: list[str]


@dataclass(frozen=True, slots=True)
class ReportView:
    """The report translated: what every format shows."""

    lang: str
    title: str
    generated: str
    checked: str
    summary: str
    counts: dict[str, int]
    exit_status: int
    checks: list[CheckView]
    measures: list[tuple[str, list[str]]]
    duties: list[str]


def translated(report: Report, lang: str, catalogs: Catalogs | None = None) -> ReportView:
    gettext = (catalogs or Catalogs()).get(lang).gettext
    checks = []
    for result in report.results:
        requirement = REQUIREMENTS[result.requirement]
        checks.append(
            CheckView(
                id=result.id,
                requirement_id=requirement.id,
                requirement=gettext(requirement.title),
                requirement_source=gettext(requirement.source),
                title=gettext(result.title),
                status=result.status,
                status_label=gettext(STATUS_LABELS[result.status]),
                evidence=[item.render(gettext) for item in result.evidence],
            )
        )
    measures = [
        (
            gettext(category),
            [m.description.render(gettext) for m in report.measures if m.category == category],
        )
        for category in CATEGORIES
    ]
    checked = (
        gettext(SERVER).format(origin=report.target)
        if report.target is not None
        else gettext(NO_SERVER)
    )
    counts: dict[str, int] = {status: report.count(status) for status in STATUSES}
    return ReportView(
        lang=lang,
        title=gettext(TITLE),
        generated=report.generated_at.strftime("%Y-%m-%d %H:%M UTC"),
        checked=checked,
        summary=gettext(SUMMARY).format(
            passed=counts["pass"], warnings=counts["warn"], failed=counts["fail"]
        ),
        counts=counts,
        exit_status=report.exit_status,
        checks=checks,
        measures=[(category, items) for category, items in measures if items],
        duties=[duty.render(gettext) for duty in report.duties],
    )


def render_report(report: Report, fmt: Format, lang: str, catalogs: Catalogs | None = None) -> str:
    catalogs = catalogs or Catalogs()
    view = translated(report, lang, catalogs)
    gettext = catalogs.get(lang).gettext
    if fmt == "json":
        return as_json(report, view)
    if fmt == "html":
        return as_html(view, catalogs)
    if fmt == "markdown":
        return as_markdown(view, gettext)
    return as_text(view, gettext)


def as_text(view: ReportView, _: Gettext) -> str:
    lines = [
        view.title,
        "=" * len(view.title),
        f"{_(GENERATED)}: {view.generated}",
        f"{_(CHECKED)}: {view.checked}",
        view.summary,
        "",
    ]
    for check in view.checks:
        lines.append(f"[{check.status_label.upper()}] {check.title} ({check.id})")
        lines.append(f"    {_(REQUIREMENT)}: {check.requirement} ({check.requirement_source})")
        lines += [f"    - {item}" for item in check.evidence]
        lines.append("")
    lines += [_(MEASURES_HEADING), "-" * len(_(MEASURES_HEADING)), _(MEASURES_INTRO)]
    for category, items in view.measures:
        lines.append(f"  {category}")
        lines += [f"    - {item}" for item in items]
    lines += ["", _(DUTIES_HEADING), "-" * len(_(DUTIES_HEADING))]
    lines += [f"  - {duty}" for duty in view.duties]
    return "\n".join(lines) + "\n"


def _cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def as_markdown(view: ReportView, _: Gettext) -> str:
    lines = [
        f"# {view.title}",
        "",
        f"- {_(GENERATED)}: {view.generated}",
        f"- {_(CHECKED)}: {view.checked}",
        f"- **{view.summary}**",
        "",
        f"| {_(STATUS_HEADING)} | {_(CHECKS_HEADING)} | {_(REQUIREMENT)} |",
        "|---|---|---|",
    ]
    for check in view.checks:
        lines.append(
            f"| **{_cell(check.status_label)}** | {_cell(check.title)} (`{check.id}`) "
            f"| {_cell(check.requirement)} |"
        )
    lines += ["", f"## {_(CHECKS_HEADING)}", ""]
    for check in view.checks:
        lines += [
            f"### {check.status_label}: {check.title} (`{check.id}`)",
            "",
            f"*{_(REQUIREMENT)}:* {check.requirement} ({check.requirement_source})",
            "",
        ]
        lines += [f"- {item}" for item in check.evidence]
        lines.append("")
    lines += [f"## {_(MEASURES_HEADING)}", "", _(MEASURES_INTRO), ""]
    for category, items in view.measures:
        lines += [f"### {category}", ""]
        lines += [f"- {item}" for item in items]
        lines.append("")
    lines += [f"## {_(DUTIES_HEADING)}", ""]
    lines += [f"- {duty}" for duty in view.duties]
    return "\n".join(lines) + "\n"


def as_json(report: Report, view: ReportView) -> str:
    data = {
        "generator": "Conclave",
        "language": view.lang,
        "generated_at": report.generated_at.isoformat(),
        "target": report.target,
        "exit_status": report.exit_status,
        "summary": view.counts,
        "checks": [
            {
                "id": check.id,
                "requirement": {
                    "id": check.requirement_id,
                    "title": check.requirement,
                    "source": check.requirement_source,
                },
                "title": check.title,
                "status": check.status,
                "evidence": check.evidence,
            }
            for check in view.checks
        ],
        "measures": [
            {"category": category, "description": item}
            for category, items in view.measures
            for item in items
        ],
        "organisation_duties": view.duties,
    }
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def as_html(view: ReportView, catalogs: Catalogs) -> str:
    env = template_environment(TEMPLATES, catalogs, view.lang)
    template = env.get_template("compliance_document.html")
    return template.render(report=view, lang=view.lang)
