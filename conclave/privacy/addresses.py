"""Client addresses are personal data: keep only a network prefix (IPv4 /24, IPv6 /48)."""

from __future__ import annotations

import ipaddress


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
