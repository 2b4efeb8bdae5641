"""No third parties: no public STUN/TURN servers, no request to any other origin."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from conclave.compliance.checks.base import Findings, check, listed
from conclave.compliance.facts import Facts
from conclave.compliance.model import Text, text
from conclave.compliance.scan import Resource
from conclave.config import Settings
from conclave.errors import N_

# Operators of public STUN/TURN services that WebRTC software commonly defaults to.
# A server under one of these domains is a third party by definition.
PUBLIC_ICE_DOMAINS = (
    "google.com",
    "googleapis.com",
    "twilio.com",
    "mozilla.com",
    "mozilla.org",
    "stunprotocol.org",
    "metered.ca",
    "metered.live",
    "xirsys.com",
    "cloudflare.com",
    "jitsi.net",
    "nextcloud.com",
    "ekiga.net",
    "sipgate.net",
    "voipbuster.com",
    "iptel.org",
    "freeswitch.org",
    "blackberry.com",
)


def ice_host(url: str) -> str:
    """The host of a ``stun:``/``turn:`` URL (RFC 7064/7065), lower case."""
    rest = url.split(":", 1)[1] if ":" in url else url
    rest = rest.split("?", 1)[0].lstrip("/").rsplit("@", 1)[-1]
    if rest.startswith("["):
        return rest[1 : rest.find("]")].lower()
    return rest.rsplit(":", 1)[0].lower() if rest.count(":") == 1 else rest.lower()


def own_domains(settings: Settings) -> set[str]:
    """The organisation's own names: every server host name, and the domain under it
    when that has at least two labels (meet.example.org → example.org)."""
    names = [*settings.server.hostnames]
    if settings.server.public_url:
        names.append(urlsplit(settings.server.public_url).hostname or "")
    domains: set[str] = set()
    for name in names:
        name = name.lower().rstrip(".")
        try:
            ipaddress.ip_address(name)
            continue
        except ValueError:
            pass
        if name:
            domains.add(name)
        parent = name.split(".", 1)[1] if "." in name else ""
        if parent.count(".") >= 1:
            domains.add(parent)
    return domains


def classify(host: str, settings: Settings) -> str:
    """``local`` (loopback, private, link-local), ``own`` (the organisation's name or
    NAT address), ``public_service`` (a known public STUN/TURN operator) or ``foreign``."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None:
        if not address.is_global:
            return "local"
        nat = settings.media.janus.nat_1_1_mapping or ""
        return "own" if host in nat.split(",") else "foreign"
    if any(host == d or host.endswith("." + d) for d in PUBLIC_ICE_DOMAINS):
        return "public_service"
    if any(host == d or host.endswith("." + d) for d in own_domains(settings)):
        return "own"
    if host in ("localhost",) or host.endswith((".local", ".internal", ".lan", ".home.arpa")):
        return "local"
    return "foreign"


@check("ice-servers", "no_third_parties", N_("No public STUN or TURN servers"))
def ice_servers(facts: Facts, found: Findings) -> None:
    media = facts.settings.media
    urls = [url for server in media.ice_servers for url in server.urls] + list(media.turn.urls)
    if not urls:
        found.note(
            N_(
                "No STUN or TURN server is configured: browsers never ask a public STUN "
                "server for their address."
            )
        )
        return
    for url in urls:
        host = ice_host(url)
        kind = classify(host, facts.settings)
        if kind == "public_service":
            found.add(
                "fail",
                N_("{url}: a public service of a third party ({host})."),
                url=url,
                host=host,
            )
        elif kind == "foreign":
            found.add(
                "warn",
                N_(
                    "{url}: {host} is neither a local address nor under the server's own "
                    "domain; confirm that your organisation operates it, or has a data "
                    "processing agreement for it."
                ),
                url=url,
                host=host,
            )
        else:
            found.note(N_("{url}: {where}."), url=url, where=_WHERE[kind])


_WHERE = {
    "local": text(N_("a local or private address")),
    "own": text(N_("the organisation's own server")),
}


# -- the origin scan --------------------------------------------------------------------

_SOURCE_LIST_FREE = frozenset({"sandbox", "upgrade-insecure-requests", "block-all-mixed-content"})
_SAFE_SOURCES = frozenset({"'self'", "'none'", "data:", "blob:"})


def csp_problems(policy: str | None) -> list[Text]:
    """Why a Content-Security-Policy does not keep a page to its own origin."""
    if not policy:
        return [text(N_("no Content-Security-Policy header"))]
    problems: list[Text] = []
    directives: dict[str, list[str]] = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            directives.setdefault(words[0].lower(), words[1:])
    if directives.get("default-src") != ["'self'"]:
        problems.append(
            text(
                N_("default-src is not exactly 'self': {value}"),
                value=" ".join(directives.get("default-src", ["-"])),
            )
        )
    for name, sources in directives.items():
        if name in _SOURCE_LIST_FREE:
            continue
        if name in ("report-uri", "report-to"):
            problems.append(
                text(
                    N_("{name} sends reports elsewhere: {value}"),
                    name=name,
                    value=" ".join(sources),
                )
            )
            continue
        wide = [
            s
            for s in sources
            if s.lower() not in _SAFE_SOURCES
            and not s.lower().startswith(("'nonce-", "'sha256-", "'sha384-", "'sha512-"))
        ]
        if wide:
            problems.append(text(N_("{name} allows {value}"), name=name, value=" ".join(wide)))
    return problems


@check(
    "no-foreign-origins",
    "no_third_parties",
    N_("Pages load nothing from other origins"),
)
def foreign_origins(facts: Facts, found: Findings) -> None:
    scan = facts.scan
    if scan.live and scan.error is not None:
        found.add(
            "fail",
            N_("The pages of {origin} could not be loaded: {error}"),
            origin=scan.origin,
            error=scan.error,
        )
        return
    answered = [r for r in scan.resources if r.error is None]
    if scan.live:
        found.note(
            N_("Fetched {pages} pages and {assets} other resources from {origin}; pages: {paths}"),
            pages=len(scan.pages),
            assets=len(answered) - len(scan.pages),
            origin=scan.origin,
            paths=listed([urlsplit(page.url).path for page in scan.pages]),
        )
    else:
        found.note(
            N_(
                "Read {count} templates and static files of this installation; no running "
                "server was checked (use --url, or the report in the administration pages)."
            ),
            count=len(scan.resources),
        )
    for finding in scan.foreign:
        found.add(
            "fail",
            N_("{page} loads {url} ({how})."),
            page=finding.page,
            url=finding.url,
            how=finding.how,
        )
    if not scan.foreign:
        found.note(N_("No page, style sheet or script refers to another origin."))
    if scan.links:
        found.note(
            N_("Links to other sites, followed only when someone clicks them: {urls}"),
            urls=listed(sorted({link.url for link in scan.links})),
        )
    failed = [f"{r.url} ({r.error})" for r in scan.resources if r.error is not None]
    if failed:
        found.add("warn", N_("Could not be fetched: {urls}"), urls=listed(failed))
    if scan.truncated:
        found.add(
            "warn", N_("The scan stopped after {count} resources."), count=len(scan.resources)
        )
    _policies(facts, found, answered)


def _policies(facts: Facts, found: Findings, answered: list[Resource]) -> None:
    if not facts.scan.live:
        policy = facts.headers.get("content-security-policy")
        problems = csp_problems(policy)
        for problem in problems:
            found.add(
                "fail", N_("Content-Security-Policy (configured): {problem}"), problem=problem
            )
        if not problems:
            found.note(N_("Content-Security-Policy (configured): {policy}"), policy=policy)
        return
    checked = [r for r in answered if r.kind in ("html", "js")]
    bad = 0
    for resource in checked:
        for problem in csp_problems(resource.csp):
            bad += 1
            found.add(
                "fail",
                N_("Content-Security-Policy of {url}: {problem}"),
                url=resource.url,
                problem=problem,
            )
    if checked and not bad:
        found.note(
            N_("Every page and script ({count}) comes with Content-Security-Policy: {policy}"),
            count=len(checked),
            policy=checked[0].csp,
        )
