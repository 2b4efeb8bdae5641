"""Records audit events and answers the admin view's queries.

An entry holds the event type, the acting account (or none), the time, the client's
network (IPv4 /24, IPv6 /48, never the full address) and a small dictionary of facts.
Facts are checked here: short scalar values under plain names, and no name that could
carry a secret or content (passwords, tokens, keys, chat, titles).
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from conclave.audit.events import EVENTS
from conclave.clock import Clock
from conclave.privacy.addresses import truncate_ip
from conclave.store import audit
from conclave.store.audit import AuditFilter
from conclave.store.db import Database
from conclave.store.records import AuditEntry

MAX_DETAILS = 12
MAX_VALUE = 200
PER_PAGE = 50
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_FORBIDDEN = re.compile(
    r"pass|token|secret|private|chat|message|text|title|hash|cookie|credential|email"
)

Details = Mapping[str, str | int | bool]


@dataclass(frozen=True, slots=True)
class AuditPage:
    entries: list[AuditEntry]
    total: int
    page: int
    pages: int


def network(client: str | None) -> str:
    """The truncated network of a raw address; an already truncated network stays so."""
    if client and "/" in client:
        try:
            net = ipaddress.ip_network(client, strict=False)
        except ValueError:
            return "unknown"
        return truncate_ip(str(net.network_address))
    return truncate_ip(client)


def clean_details(details: Details | None) -> dict[str, str | int | bool]:
    """The facts as stored; ValueError for anything that must not go into the log."""
    facts = dict(details or {})
    if len(facts) > MAX_DETAILS:
        raise ValueError(f"at most {MAX_DETAILS} audit details")
    for key, value in facts.items():
        if not _KEY.fullmatch(key) or _FORBIDDEN.search(key):
            raise ValueError(f"audit detail name not allowed: {key!r}")
        if isinstance(value, str):
            facts[key] = value[:MAX_VALUE]
        elif not isinstance(value, bool | int):
            raise ValueError(f"audit detail {key!r} must be a string, integer or boolean")
    return facts


class AuditService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def record(
        self,
        event: str,
        *,
        actor_id: int | None,
        client: str | None,
        details: Details | None = None,
        subject_id: int | None = None,
    ) -> None:
        """Write one entry. ``client`` is the raw client address (truncated here);
        ``subject_id`` is the account the event is about, when that is not the actor."""
        if event not in EVENTS:
            raise ValueError(f"unknown audit event {event!r}")
        facts = clean_details(details)
        with self.db.transaction("audit_record") as tx:
            audit.insert(
                tx,
                event=event,
                occurred_at=self.clock(),
                actor_id=actor_id,
                subject_id=subject_id,
                client=network(client) if client is not None else None,
                details=facts,
            )

    def query(
        self,
        *,
        event: str | None = None,
        actor_id: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        page: int = 1,
        per_page: int = PER_PAGE,
    ) -> AuditPage:
        """Newest first; ``since`` inclusive, ``until`` exclusive; pages count from 1."""
        where = AuditFilter(event=event or None, actor_id=actor_id, since=since, until=until)
        with self.db.transaction("audit_query") as tx:
            total = audit.count(tx, where)
            pages = max(1, math.ceil(total / per_page))
            page = min(max(1, page), pages)
            entries = audit.page(tx, where, (page - 1) * per_page, per_page)
        return AuditPage(entries=entries, total=total, page=page, pages=pages)

    def event_types(self) -> list[str]:
        """Every event type the admin can filter by (known ones and any stored)."""
        with self.db.transaction("audit_event_types") as tx:
            stored = audit.event_types(tx)
        return sorted(EVENTS | set(stored))

    def about_user(self, user_id: int) -> list[AuditEntry]:
        with self.db.transaction("audit_about_user") as tx:
            return audit.about_user(tx, user_id)

    def newest(self, event: str) -> AuditEntry | None:
        with self.db.transaction("audit_newest") as tx:
            return audit.newest(tx, event)

    def purge(self, days: int, limit: int) -> int:
        """Delete up to ``limit`` entries older than ``days``; the count deleted."""
        cutoff = self.clock() - timedelta(days=days)
        with self.db.transaction("audit_purge") as tx:
            return audit.remove_older_than(tx, cutoff, limit)
