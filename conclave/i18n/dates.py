"""Dates and times as the reader's locale writes them: en-GB "7 Dec 2026, 14:30",
en-US "Dec 7, 2026, 2:30 PM", de-DE "07.12.2026, 14:30".

The page's language (en or de) says which words to use; the browser's full locale (from
Accept-Language) says how to write a date. Pages write times in UTC; their script
(static/js/forms.js) writes them again in the browser's time zone, the same way.
"""

from __future__ import annotations

from datetime import UTC, datetime

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time, get_datetime_format

from conclave.i18n import preferences


def formatting_locale(accept_language: str | None, lang: str) -> str:
    """The first preferred locale in the page's language ("en_GB"); else that language
    in the first preferred locale's region ("en_DE" for a German browser reading English);
    else the language alone. Only locales Babel knows."""
    tags = preferences(accept_language or "")
    for tag in tags:
        locale = _known(tag)
        if locale is not None and locale.language == lang:
            return str(locale)
    first = _known(tags[0]) if tags else None
    if first is not None and first.territory:
        mixed = _known(f"{lang}_{first.territory}")
        if mixed is not None:
            return str(mixed)
    return lang


def _known(tag: str) -> Locale | None:
    try:
        return Locale.parse(tag.replace("-", "_"))
    except (ValueError, TypeError, UnknownLocaleError):
        return None


def utc_datetime(value: datetime, locale: str, *, seconds: bool = False) -> str:
    """``value`` in UTC, medium date and short time (with seconds: medium time), "UTC"
    after it: "7 Dec 2026, 14:30 UTC"."""
    moment = value.astimezone(UTC)
    time = format_time(moment, "medium" if seconds else "short", tzinfo=UTC, locale=locale)
    pattern = str(get_datetime_format("medium", locale=locale)).replace("'", "")
    written = pattern.replace("{1}", format_date(moment, "medium", locale=locale))
    return f"{written.replace('{0}', time)} UTC"
