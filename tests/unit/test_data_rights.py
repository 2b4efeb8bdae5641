"""GDPR Art. 15/20 export and Art. 17 erasure: everything about the person, nothing about
anyone else; after erasure no row names them."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from conclave.errors import Conflict, NotAuthorised
from conclave.meetings.service import MeetingDraft
from conclave.services import Services
from conclave.store.records import User
from tests.conftest import FakeClock
from tests.support.dbfile import on_disk, rows_mentioning
from tests.support.web import PASSWORD, make_user
from tests.unit.test_retention import identity_key


def _world(services: Services, clock: FakeClock) -> dict[str, User]:
    """Alice hosts two meetings with Bob and an external guest; Bob hosts one with Alice."""
    alice = make_user(services, "alice")
    bob = make_user(services, "bob")
    root = make_user(services, "root", "admin")
    start = clock.now + timedelta(days=1)
    board = services.meetings.create(
        alice,
        MeetingDraft(
            "Alice board ZQ1", start, start + timedelta(hours=1), "guests", "pw-meeting-1"
        ),
    )
    services.meetings.create(alice, MeetingDraft("Alice standing ZQ2", None, None, "off", None))
    bobs = services.meetings.create(bob, MeetingDraft("Review ZQ3", None, None, "off", None))
    services.invitations.invite_member(alice, board.id, "bob")
    link = services.invitations.invite_email(alice, board.id, "gina@guests.example")
    services.invitations.accept(link.token, "Gina Guest", PASSWORD, "unknown")
    services.invitations.invite_member(bob, bobs.id, "alice")
    services.identities.register(alice.id, identity_key())
    services.identities.register(bob.id, identity_key())
    services.accounts.start_session(alice)
    services.accounts.start_session(bob)
    services.audit.record("login", actor_id=alice.id, client="203.0.113.57")
    services.audit.record("login", actor_id=bob.id, client="198.51.100.23")
    services.audit.record(
        "user_disabled", actor_id=root.id, client="192.0.2.1", subject_id=alice.id
    )
    services.audit.record(
        "user_disabled", actor_id=alice.id, client="203.0.113.57", subject_id=bob.id
    )
    return {
        "alice": alice,
        "bob": bob,
        "root": root,
        "gina": services.accounts.by_username("gina@guests.example"),
    }


def test_export_holds_everything_about_the_person_and_nothing_about_others(
    services: Services, clock: FakeClock
) -> None:
    people = _world(services, clock)
    alice = people["alice"]
    document = services.data_rights.export(
        alice.id, actor_id=alice.id, client="203.0.113.57", via="self"
    )
    text = json.dumps(document)
    assert document["account"]["username"] == "alice"
    assert document["account"]["last_login_at"] == clock.now.isoformat()
    assert [m["title"] for m in document["meetings_hosted"]] == [
        "Alice board ZQ1",
        "Alice standing ZQ2",
    ]
    assert document["meetings_hosted"][0]["invitations"] == 2
    assert document["meetings_hosted"][0]["has_password"] is True
    assert [i["meeting"]["title"] for i in document["invitations"]] == ["Review ZQ3"]
    assert len(document["sessions"]) == 1 and len(document["identity_keys"]) == 1
    assert services.identities.of(alice.id)[0] in text
    assert [(e["event"], e["as"]) for e in document["audit_log"]] == [
        ("login", "actor"),
        ("user_disabled", "subject"),
        ("user_disabled", "actor"),
    ]
    assert document["audit_log"][0]["client"] == "203.0.113.0/24"
    assert document["retention"]["meeting_days"] == services.settings.retention.meeting_days
    for other in ("bob", "Bob", "gina", "Gina", "root", "Root", "198.51.100", "192.0.2"):
        assert other not in text, other
    assert services.identities.of(people["bob"].id)[0] not in text
    for secret in ("$argon2id$", "pw-meeting-1", PASSWORD):
        assert secret not in text
    assert {key for e in document["audit_log"] for key in e} == {
        "event",
        "occurred_at",
        "as",
        "client",
        "details",
    }  # no account ids: the other party of an entry is not named
    assert document["audit_log"][1]["client"] is None  # the admin's network is theirs
    [entry] = services.audit.query(event="data_exported").entries
    assert (entry.actor_id, entry.subject_id, entry.details) == (alice.id, None, {"via": "self"})


def test_a_guest_export_shows_their_invitation_but_not_who_hosts(
    services: Services, clock: FakeClock
) -> None:
    people = _world(services, clock)
    root = people["root"]
    document = services.data_rights.export(
        people["gina"].id, actor_id=root.id, client=None, via="admin"
    )
    text = json.dumps(document)
    assert [i["email"] for i in document["invitations"]] == ["gina@guests.example"]
    assert document["invitations"][0]["meeting"]["title"] == "Alice board ZQ1"
    assert "alice" not in text and "Alice " not in text.replace("Alice board ZQ1", "")
    [entry] = services.audit.query(event="data_exported").entries
    assert (entry.actor_id, entry.subject_id) == (root.id, people["gina"].id)


def _rows_naming(services: Services, user: User) -> list[tuple[str, tuple[object, ...]]]:
    needles = [user.username, user.display_name]
    found = rows_mentioning(services, needles)
    with services.db.engine.connect() as connection:
        raw = connection.connection.dbapi_connection
        assert raw is not None
        for table, column in [
            ("users", "id"),
            ("sessions", "user_id"),
            ("identity_keys", "user_id"),
            ("invitations", "user_id"),
            ("meetings", "owner_id"),
            ("audit_log", "actor_id"),
            ("audit_log", "subject_id"),
            ("policy_settings", "updated_by_user_id"),
        ]:
            for row in raw.execute(f"SELECT * FROM {table} WHERE {column} = ?", (user.id,)):
                found.append((table, tuple(row)))
    return found


def test_erasure_leaves_no_row_that_names_the_person(services: Services, clock: FakeClock) -> None:
    people = _world(services, clock)
    alice, bob = people["alice"], people["bob"]
    from conclave.store import policy

    with services.db.transaction("test") as tx:
        policy.put(tx, "retention.meeting_days", "7", clock.now, alice.id)
    assert _rows_naming(services, alice)
    erased = services.data_rights.delete(people["root"], alice.id, "192.0.2.1", "admin")
    assert (erased.meetings, erased.sessions, erased.identity_keys) == (2, 1, 1)
    assert erased.invitations == 3  # Bob's and Gina's to her board, hers to Bob's review
    assert _rows_naming(services, alice) == []
    assert not on_disk(services, "Alice board ZQ1") and not on_disk(services, "alice")
    assert not on_disk(services, "Alice standing ZQ2")
    # Everyone else keeps what is theirs; the audit entries stay without her id.
    assert services.accounts.get(bob.id).username == "bob"
    assert [m.title for m in services.meetings.dashboard(bob).hosting] == ["Review ZQ3"]
    assert services.audit.query(event="user_disabled").total == 2
    [deleted] = services.audit.query(event="user_deleted").entries
    assert deleted.actor_id == people["root"].id and deleted.details["via"] == "admin"
    assert deleted.client == "192.0.2.0/24"


def test_erasing_a_guest_also_removes_unused_links_to_their_address(
    services: Services, clock: FakeClock
) -> None:
    people = _world(services, clock)
    alice = people["alice"]
    spare = services.meetings.create(alice, MeetingDraft("Spare", None, None, "off", None))
    services.invitations.invite_email(alice, spare.id, "gina@guests.example")
    services.data_rights.delete(None, people["gina"].id, None, "cli")
    assert rows_mentioning(services, ["gina@guests.example", "Gina Guest"]) == []
    assert not on_disk(services, "gina@guests.example")


def test_own_deletion_needs_the_password_and_spares_the_last_admin(
    services: Services, clock: FakeClock
) -> None:
    people = _world(services, clock)
    alice, root = people["alice"], people["root"]
    with pytest.raises(NotAuthorised):
        services.data_rights.delete_own(alice, "wrong password!", None)
    assert services.accounts.get(alice.id)
    with pytest.raises(Conflict):
        services.data_rights.delete_own(root, PASSWORD, None)
    services.data_rights.delete_own(alice, PASSWORD, "203.0.113.57")
    assert _rows_naming(services, alice) == []
    [deleted] = services.audit.query(event="user_deleted").entries
    assert deleted.actor_id is None and deleted.details["via"] == "self"
    assert deleted.details["role"] == "member"
