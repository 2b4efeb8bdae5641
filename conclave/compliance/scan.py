"""The origin scan: fetch the served pages and everything they load, find other origins.

:func:`scan_origin` talks to exactly one origin, the one it is given: it fetches the
pages in :data:`PUBLIC_PAGES` (and :data:`SIGNED_IN_PAGES` with a session cookie), the
meeting room's entry points, and every HTML, CSS, JavaScript or SVG resource of that
origin they load, recursively. A reference to any other origin is recorded and never
requested. Redirects are followed by hand, within the origin only. Every response's
``Content-Security-Policy`` and ``Strict-Transport-Security`` headers are kept for the
checks, and a plain-HTTP request to the same host and port shows whether that port
answers without TLS; four TLS handshakes (``tls_probe.py``) show which TLS versions
and cipher suites the port accepts.

:func:`scan_files` reads the templates and static files from disk instead, for a report
without a running server.
"""

from __future__ import annotations

import contextlib
import ipaddress
import ssl
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from conclave.compliance.references import (
    Ref,
    css_references,
    html_references,
    js_references,
    svg_references,
)
from conclave.compliance.tls_probe import TlsAttempt, probe_tls

PUBLIC_PAGES = ("/", "/login", "/privacy", "/compliance-scan/no-such-page")
SIGNED_IN_PAGES = ("/dashboard", "/meetings/new", "/account", "/admin/users")
# The meeting room's page needs a meeting; its style sheet and script modules do not.
ENTRY_POINTS = ("/static/css/room.css", "/static/js/room/main.js")
MAX_RESOURCES = 400
MAX_BYTES = 5 * 1024 * 1024
TIMEOUT_SECONDS = 10.0
DISK_ORIGIN = "https://conclave.invalid"
_NOT_REQUESTS = ("data:", "blob:", "mailto:", "tel:", "javascript:", "about:", "#")
_DEFAULT_PORTS = {"http": 80, "https": 443}

Kind = str  # "html", "css", "js", "svg" or "other"


@dataclass(frozen=True, slots=True)
class Resource:
    url: str
    status: int | None
    kind: Kind
    csp: str | None = None
    hsts: str | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    page: str
    url: str
    how: str


@dataclass(frozen=True, slots=True)
class OriginScan:
    """What one scan found. ``live``: fetched over the network (else read from disk)."""

    origin: str
    live: bool
    resources: tuple[Resource, ...] = ()
    foreign: tuple[Finding, ...] = ()
    links: tuple[Finding, ...] = ()
    error: str | None = None
    plain_http: str | None = None  # "refused", "redirects" or "served"
    peer_certificate: bytes | None = None
    verified: bool = True
    truncated: bool = False
    texts: tuple[tuple[str, str], ...] = ()  # (url, text) of every HTML page
    tls: tuple[TlsAttempt, ...] = ()  # handshakes with old and current TLS (tls_probe.py)

    def text_of(self, path: str) -> str | None:
        """The text of the page at ``path`` of the origin, if it was fetched."""
        for url, body in self.texts:
            if urlsplit(url).path == path:
                return body
        return None

    @property
    def pages(self) -> tuple[Resource, ...]:
        return tuple(r for r in self.resources if r.kind == "html" and r.error is None)


@dataclass(frozen=True, slots=True)
class Fetched:
    status: int | None
    content_type: str = ""
    body: str = ""
    location: str | None = None
    csp: str | None = None
    hsts: str | None = None
    error: str | None = None


Fetch = Callable[[str], Fetched]


def origin_of(url: str) -> str:
    """``scheme://host:port``; ``ws``/``wss`` count as ``http``/``https`` (same server)."""
    parts = urlsplit(url)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme.lower(), parts.scheme.lower())
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port or _DEFAULT_PORTS.get(scheme)
    except ValueError:
        port = None
    return f"{scheme}://{host}:{port}"


def _resolve(page: str, target: str) -> str | None:
    """The absolute URL of ``target`` on ``page``; None for what is no request."""
    target = target.strip()
    if not target or target.lower().startswith(_NOT_REQUESTS):
        return None
    if "{{" in target or "{%" in target:  # a template's placeholder (disk scan)
        return None
    absolute = urljoin(page, target)
    parts = urlsplit(absolute)
    if parts.scheme.lower() not in ("http", "https", "ws", "wss"):
        return absolute if ":" in target.split("/", 1)[0] else None
    return urlunsplit(parts._replace(fragment=""))


def _kind(content_type: str, url: str) -> Kind:
    media = content_type.split(";", 1)[0].strip().lower()
    if media in ("text/html", "application/xhtml+xml"):
        return "html"
    if media == "text/css":
        return "css"
    if "javascript" in media or "ecmascript" in media:
        return "js"
    if media == "image/svg+xml":
        return "svg"
    if not media:
        suffix = Path(urlsplit(url).path).suffix.lower()
        return {".html": "html", ".css": "css", ".js": "js", ".mjs": "js", ".svg": "svg"}.get(
            suffix, "other"
        )
    return "other"


_EXTRACTORS: dict[Kind, Callable[[str], list[Ref]]] = {
    "html": html_references,
    "css": css_references,
    "js": js_references,
    "svg": svg_references,
}


@dataclass
class _Crawl:
    origin: str
    own: frozenset[str]
    fetch: Fetch
    resources: list[Resource] = field(default_factory=list)
    foreign: list[Finding] = field(default_factory=list)
    links: list[Finding] = field(default_factory=list)
    texts: list[tuple[str, str]] = field(default_factory=list)
    truncated: bool = False

    def run(self, start: Iterable[str]) -> None:
        queue = deque(start)
        seen: set[str] = set()
        while queue:
            url = queue.popleft()
            if url in seen:
                continue
            if len(self.resources) >= MAX_RESOURCES:
                self.truncated = True
                return
            seen.add(url)
            queue.extend(self.visit(url))

    def visit(self, url: str) -> list[str]:
        """Fetch one resource of the origin; returns the same-origin URLs it loads."""
        got = self.fetch(url)
        kind = _kind(got.content_type, url) if got.error is None else "other"
        self.resources.append(Resource(url, got.status, kind, got.csp, got.hsts, got.error))
        refs = list(_EXTRACTORS[kind](got.body)) if kind in _EXTRACTORS else []
        if kind == "html":
            self.texts.append((url, got.body))
        if got.location is not None:
            refs.append(Ref(got.location, "redirect", True))
        return self.sort(url, refs)

    def sort(self, page: str, refs: Iterable[Ref]) -> list[str]:
        follow: list[str] = []
        for ref in refs:
            target = _resolve(page, ref.target)
            if target is None:
                continue
            where = origin_of(target)
            if where not in self.own:
                (self.foreign if ref.loads else self.links).append(Finding(page, target, ref.how))
            elif (
                ref.loads and where == self.origin and not ref.how.startswith(("<form", "<button"))
            ):
                follow.append(target)
        return follow


# -- over the network ------------------------------------------------------------------


def trust_context(own_certificates: Iterable[Path] = ()) -> ssl.SSLContext:
    """The system's trusted CAs plus the server's own certificate files (a self-signed
    certificate, or a configured chain, is then trusted exactly as it is)."""
    context = ssl.create_default_context()
    for path in own_certificates:
        if path.is_file():
            with contextlib.suppress(ssl.SSLError, OSError):
                context.load_verify_locations(cafile=str(path))
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    return context


class _HttpFetch:
    def __init__(self, client: httpx.Client, sni_hostname: str | None) -> None:
        self.client = client
        self.extensions = {"sni_hostname": sni_hostname} if sni_hostname else {}
        self.peer_certificate: bytes | None = None

    def __call__(self, url: str) -> Fetched:
        try:
            with self.client.stream("GET", url, extensions=self.extensions) as response:
                self._remember_certificate(response)
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > MAX_BYTES:
                        break
                headers = response.headers
                return Fetched(
                    status=response.status_code,
                    content_type=headers.get("content-type", ""),
                    body=bytes(body[:MAX_BYTES]).decode("utf-8", "replace"),
                    location=headers.get("location") if response.is_redirect else None,
                    csp=headers.get("content-security-policy"),
                    hsts=headers.get("strict-transport-security"),
                )
        except httpx.HTTPError as error:
            return Fetched(status=None, error=_describe(error))

    def _remember_certificate(self, response: httpx.Response) -> None:
        if self.peer_certificate is not None:
            return
        stream = response.extensions.get("network_stream")
        ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
        if ssl_object is not None:
            der = ssl_object.getpeercert(True)
            self.peer_certificate = bytes(der) if der else None


def _describe(error: httpx.HTTPError) -> str:
    cause = error.__context__ or error.__cause__
    text = str(error) or str(cause or "") or type(error).__name__
    return f"{type(error).__name__}: {text}"


def local_url(host: str, port: int) -> str:
    """The URL at which a server listening on ``host``:``port`` reaches itself."""
    if host in ("0.0.0.0", "localhost", ""):  # noqa: S104 - mapping, not binding
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    with contextlib.suppress(ValueError):
        if ipaddress.ip_address(host).version == 6:
            host = f"[{host}]"
    return f"https://{host}:{port}"


def scan_origin(
    url: str,
    *,
    verify: ssl.SSLContext | bool,
    sni_hostname: str | None = None,
    session_cookie: tuple[str, str] | None = None,
    also_own: Iterable[str] = (),
    timeout: float = TIMEOUT_SECONDS,
) -> OriginScan:
    """Scan the origin of ``url`` (its path, if any, is the first page).

    ``session_cookie`` (name, value) adds the pages behind sign-in. ``also_own``: URLs of
    other names of the same server (its public URL), which are not counted as foreign
    but not requested either. ``sni_hostname``: the name to verify the certificate for
    when ``url`` names an address (the server scanning itself)."""
    origin = origin_of(url)
    root = url.split("://", 1)[0] + "://" + urlsplit(url).netloc
    pages = list(PUBLIC_PAGES)
    headers = {"accept-language": "en"}
    if session_cookie is not None:
        pages += SIGNED_IN_PAGES
        headers["cookie"] = f"{session_cookie[0]}={session_cookie[1]}"
    start = [url] if urlsplit(url).path not in ("", "/") else []
    start += [root + path for path in (*pages, *ENTRY_POINTS)]
    own = frozenset({origin, *(origin_of(other) for other in also_own)})
    with httpx.Client(
        verify=verify,
        trust_env=False,
        follow_redirects=False,
        timeout=timeout,
        headers=headers,
    ) as client:
        fetch = _HttpFetch(client, sni_hostname)
        first = fetch(start[0])
        if first.error is not None:
            return OriginScan(origin, live=True, error=first.error, verified=verify is not False)
        crawl = _Crawl(origin, own, _replay(fetch, start[0], first))
        crawl.run(start)
        plain = _plain_http(client, url) if url.startswith("https:") else "served"
    tls = _probe_tls(url, sni_hostname) if url.startswith("https:") else ()
    return OriginScan(
        origin,
        live=True,
        resources=tuple(crawl.resources),
        foreign=tuple(crawl.foreign),
        links=tuple(crawl.links),
        plain_http=plain,
        peer_certificate=fetch.peer_certificate,
        verified=verify is not False,
        truncated=crawl.truncated,
        texts=tuple(crawl.texts),
        tls=tls,
    )


def _probe_tls(url: str, sni_hostname: str | None) -> tuple[TlsAttempt, ...]:
    parts = urlsplit(url)
    host = parts.hostname or ""
    return probe_tls(host, parts.port or 443, sni_hostname or host)


def _replay(fetch: Fetch, url: str, fetched: Fetched) -> Fetch:
    """``fetch`` that answers ``url`` once from what was already fetched."""
    pending = {url: fetched}

    def cached(target: str) -> Fetched:
        return pending.pop(target, None) or fetch(target)

    return cached


def _plain_http(client: httpx.Client, url: str) -> str:
    """What the HTTPS port answers to a plain-HTTP request."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        response = client.get(f"http://{host}:{parts.port or 443}/", timeout=5.0)
    except httpx.HTTPError:
        return "refused"
    if response.is_redirect and response.headers.get("location", "").startswith("https://"):
        return "redirects"
    return "refused" if response.status_code >= 400 else "served"


# -- from disk ---------------------------------------------------------------------------


def scan_files(templates: Path, static: Path) -> OriginScan:
    """Every template and static file as if served: templates at the root, static files
    under ``/static/``. Template placeholders (``{{ … }}``) are skipped."""
    origin = origin_of(DISK_ORIGIN)
    crawl = _Crawl(origin, frozenset({origin}), lambda _url: Fetched(None))
    files = [(f"{DISK_ORIGIN}/{p.relative_to(templates)}", p) for p in sorted(templates.rglob("*"))]
    files += [
        (f"{DISK_ORIGIN}/static/{p.relative_to(static)}", p) for p in sorted(static.rglob("*"))
    ]
    for url, path in files:
        if not path.is_file():
            continue
        kind = _kind("", url)
        crawl.resources.append(Resource(url, None, kind))
        if kind in _EXTRACTORS:
            crawl.sort(url, _EXTRACTORS[kind](path.read_text(errors="replace")))
    return OriginScan(
        origin,
        live=False,
        resources=tuple(crawl.resources),
        foreign=tuple(crawl.foreign),
        links=tuple(crawl.links),
    )
