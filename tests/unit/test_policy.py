"""The policy service: effective values over the file's, stored atomically, audited,
robust against stored values the file's bounds no longer allow."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from argon2 import profiles

from conclave.config import load_settings
from conclave.policy.service import PolicyInvalid
from conclave.services import Services, build_services
from conclave.store import policy as policy_store
from tests.conftest import FakeClock
from tests.support.web import make_user


def test_console_values_override_the_file_and_survive_a_restart(
    tmp_path: Path, clock: FakeClock
) -> None:
    settings = load_settings(None, data_dir=tmp_path / "data", retention={"audit_days": 60})
    first = build_services(settings, clock, argon2=profiles.CHEAPEST)
    admin = make_user(first, "root", "admin")
    changes = first.policy.update(
        "retention",
        {
            "retention.meeting_days": "0",
            "retention.guest_days": "1",
            "retention.account_inactive_days": "730",
            "retention.identity_key_days": "365",
            "retention.audit_days": "60",
        },
        actor_id=admin.id,
        client="198.51.100.7",
    )
    assert [(c.key, c.old, c.new) for c in changes] == [("retention.meeting_days", 30, 0)]
    assert first.retention.current().meeting_days == 0
    first.db.dispose()
    again = build_services(settings, clock, argon2=profiles.CHEAPEST)
    assert again.policy.current().retention.meeting_days == 0
    assert again.policy.current().retention.audit_days == 60  # the file's value
    assert again.settings.retention.meeting_days == 30  # the configuration is untouched
    [entry] = again.audit.query(event="policy_changed").entries
    assert entry.client == "198.51.100.0/24"
    again.db.dispose()


def test_a_stored_value_out_of_bounds_is_ignored(services: Services, clock: FakeClock) -> None:
    with services.db.transaction("test") as tx:
        policy_store.put(tx, "meetings.max_participants", "9999", clock(), None)
        policy_store.put(tx, "privacy.controller_name", json.dumps("Beispiel GmbH"), clock(), None)
        policy_store.put(tx, "server.port", "1", clock(), None)  # not a console setting
    current = services.policy.refresh()
    assert current.meetings.max_participants == 50
    assert current.privacy.controller_name == "Beispiel GmbH"
    assert current.server.port == services.settings.server.port


def test_a_refused_form_writes_nothing(services: Services) -> None:
    admin = make_user(services, "root", "admin")
    with pytest.raises(PolicyInvalid) as refused:
        services.policy.update(
            "meetings",
            {
                "security.require_e2ee": "on",
                "meetings.allow_guests": "",
                "meetings.default_lobby": "off",
                "meetings.max_participants": "1",
            },
            actor_id=admin.id,
            client=None,
        )
    assert list(refused.value.fields) == ["meetings.max_participants"]
    assert services.policy.overrides() == {}
    assert services.policy.current().meetings.allow_guests is True
    assert services.audit.query(event="policy_changed").total == 0


def test_ice_servers_from_the_file_keep_their_credentials(tmp_path: Path, clock: FakeClock) -> None:
    servers = [{"urls": ["turn:10.0.0.9:3478"], "username": "u", "credential": "c0ffee"}]
    settings = load_settings(None, data_dir=tmp_path / "data", media={"ice_servers": servers})
    services = build_services(settings, clock, argon2=profiles.CHEAPEST)
    admin = make_user(services, "root", "admin")
    field = {"media.ice_servers": "turn:10.0.0.9:3478"}
    assert services.policy.update("media", field, actor_id=admin.id, client=None) == []
    field = {"media.ice_servers": "turn:10.0.0.9:3478\nstun:10.0.0.10"}
    [change] = services.policy.update("media", field, actor_id=admin.id, client=None)
    assert change.key == "media.ice_servers"
    kept, added = services.policy.current().media.ice_servers
    assert (kept.username, kept.credential) == ("u", "c0ffee")
    assert added.urls == ["stun:10.0.0.10"] and added.credential is None
    [entry] = services.audit.query(event="policy_changed").entries
    assert "c0ffee" not in json.dumps(entry.details)
    services.db.dispose()
