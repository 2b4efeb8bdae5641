"""The audit service: what an entry holds, what it refuses, and the admin's queries."""

from __future__ import annotations

from datetime import timedelta

import pytest

from conclave.audit.service import network
from conclave.services import Services
from tests.conftest import FakeClock
from tests.support.web import make_user


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("203.0.113.57", "203.0.113.0/24"),
        ("2001:db8:1234:5678::1", "2001:db8:1234::/48"),
        ("::ffff:198.51.100.7", "198.51.100.0/24"),
        ("203.0.113.0/24", "203.0.113.0/24"),  # already cut by the caller
        ("203.0.113.57/32", "203.0.113.0/24"),
        ("testclient", "unknown"),
        ("", "unknown"),
    ],
)
def test_only_the_network_of_an_address_is_kept(given: str, kept: str) -> None:
    assert network(given) == kept


def test_an_entry_holds_event_actor_time_network_and_facts(
    services: Services, clock: FakeClock
) -> None:
    alice = make_user(services, "alice")
    services.audit.record(
        "login", actor_id=alice.id, client="203.0.113.57", details={"via": "web", "n": 2}
    )
    [entry] = services.audit.query().entries
    assert (entry.event, entry.actor_id, entry.occurred_at) == ("login", alice.id, clock.now)
    assert entry.client == "203.0.113.0/24"
    assert entry.details == {"via": "web", "n": 2}


@pytest.mark.parametrize(
    "details",
    [
        {"password": "x"},
        {"new_password": "x"},
        {"token": "x"},
        {"session_token": "x"},
        {"secret": "x"},
        {"chat": "x"},
        {"title": "x"},
        {"email": "x"},
        {"Bad-Name": "x"},
        {"value": 1.5},
        {"value": ["a"]},
        {f"k{n}": n for n in range(13)},
    ],
)
def test_facts_that_could_carry_secrets_or_content_are_refused(
    services: Services, details: dict[str, object]
) -> None:
    with pytest.raises(ValueError, match="audit"):
        services.audit.record("login", actor_id=None, client=None, details=details)  # type: ignore[arg-type]
    assert services.audit.query().total == 0


def test_unknown_events_are_refused_and_long_values_cut(services: Services) -> None:
    with pytest.raises(ValueError, match="unknown audit event"):
        services.audit.record("chat_message", actor_id=None, client=None)
    services.audit.record(
        "policy_changed", actor_id=None, client=None, details={"value": "v" * 500}
    )
    assert services.audit.query().entries[0].details["value"] == "v" * 200


def test_filter_by_event_actor_and_time_range_with_pages(
    services: Services, clock: FakeClock
) -> None:
    alice = make_user(services, "alice")
    bob = make_user(services, "bob")
    start = clock.now
    for day in range(30):
        services.audit.record("login", actor_id=alice.id if day % 2 else bob.id, client=None)
        if day % 10 == 0:
            services.audit.record("data_exported", actor_id=alice.id, client=None)
        clock.advance(days=1)
    assert services.audit.query().total == 33
    assert services.audit.query(event="data_exported").total == 3
    assert services.audit.query(actor_id=bob.id).total == 15
    assert services.audit.query(event="login", actor_id=alice.id).total == 15
    window = services.audit.query(
        since=start + timedelta(days=10), until=start + timedelta(days=20)
    )
    assert window.total == 11 and all(
        start + timedelta(days=10) <= e.occurred_at < start + timedelta(days=20)
        for e in window.entries
    )
    first = services.audit.query(per_page=10)
    assert (first.page, first.pages, len(first.entries)) == (1, 4, 10)
    assert first.entries[0].occurred_at >= first.entries[-1].occurred_at  # newest first
    last = services.audit.query(page=99, per_page=10)
    assert (last.page, len(last.entries)) == (4, 3)
    seen = {e.id for p in range(1, 5) for e in services.audit.query(page=p, per_page=10).entries}
    assert len(seen) == 33
    assert "data_exported" in services.audit.event_types()
