"""German and English: Babel catalogs, read from the ``.po`` files at start.

The ``.po`` files are the only source (no compiled ``.mo`` in the repository); they
are compiled in memory once per process.
"""

from __future__ import annotations

import io
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LANGUAGES = ("en", "de")
DEFAULT = "en"
CATALOG_DIR = Path(__file__).parent


class Catalogs:
    def __init__(self) -> None:
        self._translations: dict[str, NullTranslations] = {DEFAULT: NullTranslations()}
        for lang in LANGUAGES:
            po = CATALOG_DIR / lang / "LC_MESSAGES" / "messages.po"
            if lang != DEFAULT and po.is_file():
                with po.open("rb") as handle:
                    catalog = read_po(handle, locale=lang)
                buffer = io.BytesIO()
                write_mo(buffer, catalog)
                buffer.seek(0)
                self._translations[lang] = Translations(buffer)

    def get(self, lang: str) -> NullTranslations:
        return self._translations.get(lang, self._translations[DEFAULT])


def negotiate(cookie: str | None, accept_language: str | None) -> str:
    """The remembered choice, else the browser's preference, else English."""
    if cookie in LANGUAGES:
        return cookie
    for tag in _preferences(accept_language or ""):
        try:
            language = Locale.parse(tag, sep="-").language
        except (ValueError, UnknownLocaleError):
            continue
        if language in LANGUAGES:
            return language
    return DEFAULT


def _preferences(header: str) -> list[str]:
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
