"""The options of ``conclave compliance``, kept apart from the report machinery so that
every other command (``serve`` above all) parses its arguments without importing it."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from conclave.i18n import LANGUAGES

Format = Literal["text", "markdown", "html", "json"]
FORMATS: tuple[Format, ...] = ("text", "markdown", "html", "json")


def _url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an http:// or https:// URL (e.g. https://meet.example.org)"
        )
    return value.rstrip("/") if parts.path in ("", "/") else value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url",
        type=_url,
        help="check the running server at this URL too (its pages, assets and headers)",
    )
    parser.add_argument("--format", choices=FORMATS, default="text")
    parser.add_argument("--lang", choices=LANGUAGES, default="en")
    parser.add_argument(
        "--ca-file",
        type=Path,
        action="append",
        default=[],
        help="also trust this CA or certificate file for --url",
    )
    parser.add_argument(
        "--insecure",
        action="store_true",
        help="do not verify the certificate of --url (the report says so)",
    )
