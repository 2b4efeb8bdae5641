"""Client addresses are personal data: keep only a network prefix (IPv4 /24, IPv6 /48)."""

from __future__ import annotations

import ipaddress
import re


def truncate_ip(address: str | None) -> str:
    """``203.0.113.57`` → ``203.0.113.0/24``; anything unparsable → ``unknown``."""
    if not address:
        return "unknown"
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return "unknown"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


# An IPv4 address with an optional port; an IPv6 address, bracketed with an optional port
# or bare. Candidates are parsed before anything is replaced (times like 09:30:15 stay), and
# what already is a network (``/24``) is left alone.
_IPV4 = re.compile(r"(?<![\d.])(?P<ip>(?:\d{1,3}\.){3}\d{1,3})(?::\d{1,5})?(?![\d.])(?!/\d)")
_IPV6 = re.compile(
    r"\[(?P<bracketed>[0-9A-Fa-f:.]+(?:%\w+)?)\](?::\d{1,5})?"
    r"|(?<![\w:.])(?P<ip>(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f.]{0,15}(?:%\w+)?)(?![\w:])(?!/\d)"
)


def scrub_addresses(text: str) -> str:
    """Every IPv4/IPv6 address in ``text`` replaced by its network (/24, /48), and the
    port that follows one dropped: ``203.0.113.57:40000`` → ``203.0.113.0/24``."""

    def network(match: re.Match[str]) -> str:
        found = match.group("ip") or match.groupdict().get("bracketed") or ""
        try:
            ipaddress.ip_address(found.split("%", 1)[0])
        except ValueError:
            return match.group(0)
        return truncate_ip(found)

    return _IPV4.sub(network, _IPV6.sub(network, text))
