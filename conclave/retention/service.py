"""The purge job: deletes every kind of personal data that is past its retention.

One run deletes at most ``purge_batch_size`` rows of each kind, so it stays short; what
is left goes in the next run. Accounts are erased through the same code as an Art. 17
deletion (``store/personal.py``). A run that deleted something gives the space back to
the file system (``store/space.py``) and leaves a ``retention_purge`` audit entry with
the counts; a run that deleted nothing leaves one at most once a day, so the audit log
shows that the job runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass, field
from datetime import timedelta

from conclave.audit import events
from conclave.audit.service import AuditService
from conclave.clock import Clock
from conclave.config import RetentionSettings, Settings
from conclave.retention.rooms import RoomActivity
from conclave.store import personal, retention, users
from conclave.store.db import Database
from conclave.store.records import AuditEntry
from conclave.store.space import Reclaimed, reclaim

log = logging.getLogger("conclave.retention")
HEARTBEAT = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class PurgeCounts:
    sessions: int = 0
    setup_links: int = 0
    invitation_links: int = 0
    meetings: int = 0
    guest_accounts: int = 0
    inactive_accounts: int = 0
    identity_keys: int = 0
    audit_entries: int = 0

    @property
    def total(self) -> int:
        return sum(asdict(self).values())


@dataclass(frozen=True, slots=True)
class PurgeReport:
    counts: PurgeCounts
    more: bool  # some kind reached the batch limit: the next run continues
    reclaimed: Reclaimed | None = field(default=None)


class RetentionService:
    """``policy`` returns the retention settings in force; the default reads the
    configuration file, a run-time policy console can hand in its own."""

    def __init__(
        self,
        db: Database,
        audit: AuditService,
        settings: Settings,
        clock: Clock,
        policy: Callable[[], RetentionSettings] | None = None,
    ) -> None:
        self.db = db
        self.audit = audit
        self.settings = settings
        self.clock = clock
        self.rooms = RoomActivity(db, clock)
        self.policy: Callable[[], RetentionSettings] = policy or (lambda: settings.retention)

    def current(self) -> RetentionSettings:
        return self.policy()

    def last_purge(self) -> AuditEntry | None:
        """The newest purge run on record (any process), or None."""
        return self.audit.newest(events.RETENTION_PURGE)

    def purge(self, live: Collection[str] = ()) -> PurgeReport:
        """One bounded run. ``live``: meetings in use besides those the hub reported."""
        rules = self.current()
        limit = rules.purge_batch_size
        now = self.clock()
        in_use = set(live) | self.rooms.live
        security = self.settings.security
        with self.db.transaction("purge_short_lived") as tx:
            idle = now - timedelta(minutes=security.session_idle_minutes)
            sessions = retention.expired_sessions(tx, now, idle, limit)
            setup = retention.expired_setup_tokens(tx, now)
            links = retention.expired_unused_invitations(tx, now, limit)
        with self.db.transaction("purge_meetings") as tx:
            cutoff = now - timedelta(days=rules.meeting_days)
            finished = retention.finished_meetings(tx, cutoff, in_use, limit)
            meetings = retention.remove_meetings(tx, finished)
        guests = self._erase_accounts(
            lambda tx: retention.expired_guests(
                tx, now - timedelta(days=rules.guest_days), in_use, limit
            )
        )
        inactive = self._erase_accounts(
            lambda tx: retention.inactive_accounts(
                tx, now - timedelta(days=rules.account_inactive_days), in_use, limit
            )
        )
        with self.db.transaction("purge_identity_keys") as tx:
            cutoff = now - timedelta(days=rules.identity_key_days)
            keys = retention.stale_identity_keys(tx, cutoff, limit)
        audit_entries = self.audit.purge(rules.audit_days, limit)
        counts = PurgeCounts(
            sessions=sessions,
            setup_links=setup,
            invitation_links=links,
            meetings=meetings,
            guest_accounts=guests,
            inactive_accounts=inactive,
            identity_keys=keys,
            audit_entries=audit_entries,
        )
        more = any(
            n >= limit for n in (sessions, links, meetings, guests, inactive, keys, audit_entries)
        )
        reclaimed = reclaim(self.db.engine) if counts.total else None
        self._record(counts, more)
        if counts.total:
            log.info("purge", extra={"count": counts.total})
        return PurgeReport(counts=counts, more=more, reclaimed=reclaimed)

    def _erase_accounts(self, find: Callable[..., list[int]]) -> int:
        erased = 0
        with self.db.transaction("purge_accounts") as tx:
            for user_id in find(tx):
                user = users.by_id(tx, user_id)
                if user is None:
                    continue
                if user.is_admin and not user.disabled and users.count_active_admins(tx) <= 1:
                    continue  # never lock the organisation out
                personal.erase(tx, user.id, user.username if user.is_guest else None)
                erased += 1
        return erased

    def _record(self, counts: PurgeCounts, more: bool) -> None:
        if not counts.total:
            last = self.last_purge()
            if last is not None and self.clock() - last.occurred_at < HEARTBEAT:
                return
        details: dict[str, str | int | bool] = {k: v for k, v in asdict(counts).items() if v}
        details["more"] = more
        self.audit.record(events.RETENTION_PURGE, actor_id=None, client=None, details=details)
