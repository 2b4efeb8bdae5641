"""The URLs a page, style sheet, script or SVG makes the browser request.

Each reference says how it was found and whether it is *loaded* (the browser requests it
while the page is used: scripts, style sheets, images, fonts, frames, imports, fetches,
redirects, form targets) or only a *link* a person may choose to follow (``<a href>``).
Only loaded references can make a request to another origin on their own.

Scripts are read conservatively: every absolute URL in a string literal counts as loaded,
because a scanner cannot tell what a script does with it. Comments are skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser


@dataclass(frozen=True, slots=True)
class Ref:
    target: str
    how: str
    loads: bool


# <link rel=...> values that name a document rather than load something.
_NAVIGATIONAL_RELS = frozenset(
    {"alternate", "author", "bookmark", "canonical", "help", "license", "next", "prev", "search"}
)
# Attributes that load what they name, per element ("*" for any element).
_LOADING_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "script": ("src",),
    "img": ("src", "srcset"),
    "source": ("src", "srcset"),
    "video": ("src", "poster"),
    "audio": ("src",),
    "track": ("src",),
    "iframe": ("src",),
    "frame": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "input": ("src",),
    "image": ("href", "xlink:href"),  # SVG
    "use": ("href", "xlink:href"),  # SVG
    "feimage": ("href", "xlink:href"),  # SVG
    "base": ("href",),
    "form": ("action",),
    "button": ("formaction",),
}
_NON_SCRIPT_TYPES = ("application/json", "application/ld+json", "text/template")


class _HtmlReferences(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[Ref] = []
        self._in: str | None = None  # "style" or "script" while inside one

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name.lower(): value or "" for name, value in attrs}
        tag = tag.lower()
        if tag == "link" and "href" in values:
            rels = set(values.get("rel", "").lower().split())
            loads = not rels or not rels <= _NAVIGATIONAL_RELS
            self.found.append(Ref(values["href"], f"<link rel={values.get('rel', '')}>", loads))
        elif tag in ("a", "area") and "href" in values:
            self.found.append(Ref(values["href"], f"<{tag} href>", False))
        for name in _LOADING_ATTRIBUTES.get(tag, ()):
            if name in values:
                for target in _srcset(values[name]) if name.endswith("srcset") else [values[name]]:
                    self.found.append(Ref(target, f"<{tag} {name}>", True))
        if tag == "meta" and values.get("http-equiv", "").lower() == "refresh":
            _, _, url = values.get("content", "").partition("=")
            if url.strip():
                self.found.append(Ref(url.strip(" '\""), "<meta refresh>", True))
        if "style" in values:
            self.found.extend(css_references(values["style"]))
        if tag == "style":
            self._in = "style"
        elif tag == "script" and "src" not in values:
            kind = values.get("type", "").lower()
            self._in = None if kind in _NON_SCRIPT_TYPES else "script"

    def handle_endtag(self, tag: str) -> None:
        if tag.lower() in ("style", "script"):
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "style":
            self.found.extend(css_references(data))
        elif self._in == "script":
            self.found.extend(js_references(data))


def _srcset(value: str) -> list[str]:
    return [part.split()[0] for part in value.split(",") if part.strip()]


def html_references(text: str) -> list[Ref]:
    """References in an HTML (or SVG) document, inline styles and scripts included."""
    parser = _HtmlReferences()
    parser.feed(text)
    parser.close()
    return parser.found


_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_CSS_URL = re.compile(r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^)\s]*))\s*\)""", re.IGNORECASE)
_CSS_IMPORT = re.compile(
    r"""@import\s+(?:url\(\s*)?(?:"([^"]*)"|'([^']*)'|([^)\s;"']+))\s*\)?""", re.IGNORECASE
)


def css_references(text: str) -> list[Ref]:
    """``@import`` and ``url(...)`` in a style sheet (comments skipped)."""
    text = _CSS_COMMENT.sub(" ", text)
    found = [
        Ref(next(group for group in match.groups() if group is not None), "CSS @import", True)
        for match in _CSS_IMPORT.finditer(text)
    ]
    text = _CSS_IMPORT.sub(" ", text)
    found += [
        Ref(next(group for group in match.groups() if group is not None), "CSS url()", True)
        for match in _CSS_URL.finditer(text)
    ]
    return [ref for ref in found if ref.target]


# Comments and string literals of JavaScript, in source order (regular expression
# literals are not recognised; a quote inside one may hide a few characters, no more).
_JS_TOKEN = re.compile(
    r"""//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|`(?:\\.|[^`\\])*`""",
    re.DOTALL,
)
# What comes right before a string literal that names a module or resource to load.
_JS_LOADER = re.compile(
    r"""(?:\bfrom|\bimport|\bimport\s*\(|\bnew\s+URL\s*\(|\bnew\s+(?:Shared)?Worker\s*\("""
    r"""|\bfetch\s*\(|\bimportScripts\s*\(|\bnew\s+WebSocket\s*\(|\bnew\s+EventSource\s*\("""
    r"""|\bsendBeacon\s*\(|\.open\s*\(\s*["'][A-Za-z]+["']\s*,)\s*$"""
)
_PROTOCOL_RELATIVE = re.compile(r"//[A-Za-z0-9][\w.-]*(?::\d+)?(?:/|$)")
_ABSOLUTE_URL = re.compile(r"""(?:https?|wss?):\\?/\\?/(?:\\/|[^\s"'`<>()\\${}])+""")


def js_references(text: str) -> list[Ref]:
    """Module specifiers and resources a script loads, and every absolute URL in its
    string literals. Comments are skipped."""
    found: list[Ref] = []
    for match in _JS_TOKEN.finditer(text):
        token = match.group(0)
        if token.startswith(("//", "/*")):
            continue
        content = token[1:-1]
        before = text[max(0, match.start() - 40) : match.start()]
        if _JS_LOADER.search(before) and "${" not in content:
            found.append(Ref(content, "JS import/fetch", True))
            continue
        for url in _ABSOLUTE_URL.findall(content):
            found.append(Ref(url.replace("\\/", "/"), "JS string", True))
        if _PROTOCOL_RELATIVE.match(content):
            found.append(Ref(content, "JS string", True))
    return found


def svg_references(text: str) -> list[Ref]:
    """An SVG image: its ``href``s load (only ``<a href>`` is a link); styles inside."""
    return html_references(text)
