"""Every message in the code and templates has a German translation."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from conclave import i18n
from conclave.i18n import Catalogs, negotiate
from conclave.web.render import make_environments

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"%\(\w+\)s|\{\w+\}")


def _source_messages() -> set[str]:
    method_map = [("conclave/**.py", "python"), ("conclave/web/templates/**.html", "jinja2")]
    options = {"conclave/web/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    found: set[str] = set()
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options, keywords=keywords
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_every_message_is_translated_to_german() -> None:
    with (ROOT / "conclave/i18n/de/LC_MESSAGES/messages.po").open("rb") as handle:
        catalog = read_po(handle, locale="de")
    translated = {}
    for message in catalog:
        if message.id:
            key = message.id[0] if isinstance(message.id, tuple) else message.id
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            if all(strings) and not message.fuzzy:
                translated[key] = strings
    messages = _source_messages()
    assert len(messages) > 100
    missing = sorted(messages - translated.keys())
    assert not missing, f"untranslated (run `make i18n` and translate): {missing}"
    for key in messages:
        for text in translated[key]:
            assert sorted(PLACEHOLDER.findall(text)) == sorted(PLACEHOLDER.findall(key)), key


def test_catalog_loads_and_translates() -> None:
    german = Catalogs().get("de")
    assert german.gettext("Sign in") == "Anmelden"
    assert Catalogs().get("fr").gettext("Sign in") == "Sign in"


def test_a_catalog_is_compiled_once_when_its_language_is_first_needed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Not at start (issue 2): the server builds its catalogs and page environments
    # before it answers; English needs no catalog at all.
    compiled: list[str] = []
    real = i18n._compile

    def counting(lang: str) -> i18n.NullTranslations:
        compiled.append(lang)
        return real(lang)

    monkeypatch.setattr(i18n, "_compile", counting)
    catalogs = Catalogs()
    environments = make_environments(catalogs)
    assert environments["en"].from_string("{{ _('Sign in') }}").render() == "Sign in"
    assert catalogs.get("fr").gettext("Sign in") == "Sign in"
    assert compiled == []
    threads = [
        threading.Thread(target=lambda: environments["de"].from_string("{{ _('Sign in') }}"))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert environments["de"].from_string("{{ _('Sign in') }}").render() == "Anmelden"
    assert catalogs.get("de").gettext("Sign in") == "Anmelden"
    assert compiled == ["de"]
    with pytest.raises(KeyError):
        environments["fr"]


def test_language_negotiation() -> None:
    assert negotiate(None, "de-AT,de;q=0.9,en;q=0.8") == "de"
    assert negotiate(None, "fr-FR, en;q=0.5, de;q=0.7") == "de"
    assert negotiate(None, "fr") == "en"
    assert negotiate("en", "de") == "en"
    assert negotiate("xx", "de") == "de"
    assert negotiate(None, "de;q=0, en") == "en"
    assert negotiate(None, ";;;,q=,*,de;q=abc") == "en"
    assert negotiate(None, None) == "en"


@pytest.mark.parametrize(
    ("accept_language", "lang", "locale", "written"),
    [
        ("en-GB,en;q=0.9", "en", "en_GB", "7 Dec 2026, 14:30 UTC"),
        ("en-US,en;q=0.9", "en", "en_US", "Dec 7, 2026, 2:30\u202fPM UTC"),
        ("de-DE,de;q=0.9", "de", "de_DE", "07.12.2026, 14:30 UTC"),
        # A German browser on a page switched to English: English in Germany's way.
        ("de-DE,de;q=0.9", "en", "en_DE", "7 Dec 2026, 14:30 UTC"),
        ("fr-FR", "en", "en_FR", "7 Dec 2026, 14:30 UTC"),
        ("xx-YY, *", "en", "en", "Dec 7, 2026, 2:30\u202fPM UTC"),
        (None, "de", "de", "07.12.2026, 14:30 UTC"),
    ],
)
def test_dates_are_written_in_the_requests_full_locale(
    accept_language: str | None, lang: str, locale: str, written: str
) -> None:
    from datetime import UTC, datetime

    from conclave.i18n.dates import formatting_locale, utc_datetime

    assert formatting_locale(accept_language, lang) == locale
    assert utc_datetime(datetime(2026, 12, 7, 14, 30, tzinfo=UTC), locale) == written
