"""German and English: Babel catalogs, read from the ``.po`` files.

The ``.po`` files are the only source (no compiled ``.mo`` in the repository); each is
compiled in memory once per process, the first time its language is asked for (parsing
the German catalog took a tenth of a second of every server start, issue 2).
"""

from __future__ import annotations

import io
import threading
from datetime import datetime
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.support import NullTranslations, Translations
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context

LANGUAGES = ("en", "de")
DEFAULT = "en"
CATALOG_DIR = Path(__file__).parent


class Catalogs:
    """The translations of every language; English is the source text. Safe to share
    between threads (a language is compiled once)."""

    def __init__(self) -> None:
        self._translations: dict[str, NullTranslations] = {DEFAULT: NullTranslations()}
        self._lock = threading.Lock()

    def get(self, lang: str) -> NullTranslations:
        translations = self._translations.get(lang)
        if translations is not None:
            return translations
        if lang not in LANGUAGES:
            return self._translations[DEFAULT]
        with self._lock:
            if lang not in self._translations:
                self._translations[lang] = _compile(lang)
            return self._translations[lang]


def _compile(lang: str) -> NullTranslations:
    """The language's ``.po`` file compiled in memory (none: the English source text)."""
    po = CATALOG_DIR / lang / "LC_MESSAGES" / "messages.po"
    if not po.is_file():
        return NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


def negotiate(cookie: str | None, accept_language: str | None) -> str:
    """The remembered choice, else the browser's preference, else English."""
    if cookie in LANGUAGES:
        return cookie
    for tag in preferences(accept_language or ""):
        try:
            language = Locale.parse(tag, sep="-").language
        except (ValueError, UnknownLocaleError):
            continue
        if language in LANGUAGES:
            return language
    return DEFAULT


def preferences(header: str) -> list[str]:
    """The language tags of an Accept-Language header, most preferred first."""
    weighted: list[tuple[float, str]] = []
    for part in header.split(",")[:20]:
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and tag != "*" and quality > 0:
            weighted.append((quality, tag.strip()))
    return [tag for _, tag in sorted(weighted, key=lambda item: -item[0])]


def template_environment(folder: Path, catalogs: Catalogs, lang: str) -> Environment:
    """Jinja for the templates in ``folder``, autoescaped, translated into ``lang``."""
    env = Environment(
        loader=FileSystemLoader(folder),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(catalogs.get(lang), newstyle=True)  # type: ignore[attr-defined]
    env.filters["utc_datetime"] = _utc_datetime
    return env


@pass_context
def _utc_datetime(context: Context, value: datetime, seconds: bool = False) -> str:
    """``{{ moment|utc_datetime }}``: in the locale of the page's ``date_locale``."""
    from conclave.i18n.dates import utc_datetime

    return utc_datetime(value, context.get("date_locale") or DEFAULT, seconds=seconds)
