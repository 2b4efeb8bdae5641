"""Which origin a browser request must come from (cross-site request forgery, cross-site
WebSocket hijacking): the configured ``server.public_url``'s when there is one, else the
request's own ``Host`` (docs/protocol.md, Connecting)."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import HTTPConnection

DEFAULT_PORTS = {"http": 80, "https": 443}


def serialise(url: str) -> str | None:
    """The origin of ``url`` as a browser's ``Origin`` header spells it: lower-case scheme
    and host, the port only when it is not the scheme's default; None when unparsable."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if not scheme or not host:
        return None
    if ":" in host:
        host = f"[{host}]"
    shown = "" if port is None or port == DEFAULT_PORTS.get(scheme) else f":{port}"
    return f"{scheme}://{host}{shown}"


def expected(connection: HTTPConnection) -> str | None:
    """The one origin this request may come from. Conclave speaks TLS only, so without a
    public URL it is ``https://`` and the Host header (a forged Host then only ever names
    the origin the request itself claims to come from, which the browser sets)."""
    public_url = connection.app.state.services.settings.server.public_url
    if public_url:
        return serialise(public_url)
    return serialise(f"https://{connection.headers.get('host', '')}")


def allowed(connection: HTTPConnection, origin: str | None) -> bool:
    """``origin`` (an ``Origin`` header) is this server's own."""
    own = expected(connection)
    return origin is not None and own is not None and serialise(origin) == own
