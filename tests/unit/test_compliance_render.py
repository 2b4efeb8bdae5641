"""The report in every format and both languages."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conclave.compliance.checks import CHECKS
from conclave.compliance.model import REQUIREMENTS, Report
from conclave.compliance.options import FORMATS
from conclave.compliance.render import STATUS_LABELS, render_report
from conclave.compliance.report import make_report, scan_installed_files
from conclave.compliance.tom import CATEGORIES
from conclave.config import Settings, load_settings
from conclave.i18n import Catalogs

PRIVACY = {"controller_name": "Example GmbH", "controller_contact": "datenschutz@example.org"}
VOID = {"meta", "link", "br", "hr", "img", "input", "source", "track", "wbr", "area", "base", "col"}


def _report(settings: Settings) -> Report:
    return make_report(settings, scan_installed_files(), now=datetime(2026, 11, 27, 9, tzinfo=UTC))


@pytest.fixture
def good(tmp_path: Path) -> Report:
    return _report(load_settings(None, data_dir=tmp_path / "data", privacy=PRIVACY))


class _Balance(HTMLParser):
    """Every element that is opened is closed, in order (void elements excepted)."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.open[-1:]}")
        else:
            self.open.pop()


def test_exit_status(good: Report, settings: Settings) -> None:
    assert good.exit_status == 0 and good.count("fail") == 0
    assert _report(settings).exit_status == 1


@pytest.mark.parametrize("lang", ["en", "de"])
def test_json(good: Report, lang: str) -> None:
    data = json.loads(render_report(good, "json", lang))
    assert data["language"] == lang and data["exit_status"] == 0
    assert [c["id"] for c in data["checks"]] == [c.id for c in CHECKS]
    assert {c["status"] for c in data["checks"]} <= {"pass", "warn", "fail"}
    assert all(c["evidence"] and c["requirement"]["id"] in REQUIREMENTS for c in data["checks"])
    assert data["summary"] == {"pass": good.count("pass"), "warn": good.count("warn"), "fail": 0}
    assert data["measures"] and data["organisation_duties"]


@pytest.mark.parametrize("lang", ["en", "de"])
def test_html_is_well_formed(good: Report, lang: str) -> None:
    page = render_report(good, "html", lang)
    assert page.startswith("<!doctype html>")
    assert f'<html lang="{lang}">' in page
    checker = _Balance()
    checker.feed(page)
    checker.close()
    assert checker.problems == [] and checker.open == []
    for check in CHECKS:
        assert f'id="check-{check.id}"' in page


def test_markdown_and_text(good: Report) -> None:
    markdown = render_report(good, "markdown", "en")
    assert markdown.startswith("# Conclave compliance report\n")
    rows = [line for line in markdown.splitlines() if line.startswith("| **")]
    assert len(rows) == len(CHECKS)
    assert "## Technical and organisational measures (Art. 32 GDPR)" in markdown
    text = render_report(good, "text", "en")
    for check in CHECKS:
        assert f"({check.id})" in text
    assert "What the organisation must do itself" in text
    assert "data processing agreement (Art. 28 GDPR)" in text


def test_every_format_is_offered() -> None:
    assert set(FORMATS) == {"text", "markdown", "html", "json"}


def test_german_titles_are_translated() -> None:
    german = Catalogs().get("de").gettext
    english_words = [check.title for check in CHECKS]
    english_words += [r.title for r in REQUIREMENTS.values()] + [
        r.source for r in REQUIREMENTS.values()
    ]
    english_words += list(STATUS_LABELS.values()) + list(CATEGORIES)
    untranslated = [word for word in english_words if german(word) == word]
    assert untranslated == []


@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
def test_german_report_has_no_english_titles(good: Report, fmt: str) -> None:
    page = render_report(good, fmt, "de")  # type: ignore[arg-type]
    assert "Prüfbericht Datenschutz" in page
    for check in CHECKS:
        assert check.title not in page, check.id
    for requirement in REQUIREMENTS.values():
        assert requirement.source not in page
    for english in ("Evidence", "Requirement", "What the organisation must do itself"):
        assert english not in page
