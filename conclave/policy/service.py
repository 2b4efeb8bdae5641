"""The one place that computes the policy in force.

``current()`` returns the effective settings: the configuration (file, environment,
defaults) with every value an administrator set in the policy console applied on top.
It is cached and computed again after every change made through this service; every
consumer of a policy setting (signaling, access decisions, new meetings, the privacy
notice, retention, the compliance report) reads it from here.

Console values are validated by the configuration's own pydantic models; a form's
fields are written together in one transaction, with one audit entry per changed field.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from conclave.audit import events
from conclave.audit.service import clean_details, network
from conclave.clock import Clock
from conclave.config import IceServer, Settings
from conclave.errors import N_, InvalidInput, NotFound
from conclave.policy.fields import BY_KEY, FormName, PolicyField, in_form
from conclave.store import audit, policy
from conclave.store.db import Database
from conclave.store.policy import PolicyValue

log = logging.getLogger("conclave.policy")
Value = bool | int | str | list[IceServer]

E2EE_CONFIRM = N_("{field}: tick the confirmation to switch off end-to-end encryption.")
ICE_KEY = "media.ice_servers"


class PolicyInvalid(InvalidInput):
    """One or more values of a form were refused; ``problems`` has one error per field."""

    def __init__(self, problems: list[InvalidInput]) -> None:
        first = problems[0]
        super().__init__(first.message, reason="invalid_policy", **first.params)
        self.problems = problems

    @property
    def fields(self) -> dict[str, InvalidInput]:
        return {str(p.params["field"]): p for p in self.problems}


@dataclass(frozen=True, slots=True)
class Change:
    key: str
    old: Value
    new: Value


def value_of(settings: Settings, key: str) -> Value:
    section, name = key.split(".", 1)
    found: Value = getattr(getattr(settings, section), name)
    return found


def shown(value: Value) -> str:
    """A value as the audit log and the page state it (never an ICE credential)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return " ".join(url for server in value for url in server.urls) or "-"
    return str(value)


def _stored_form(value: Value) -> object:
    """The JSON-ready form of a value for ``policy_settings``."""
    if isinstance(value, list):
        return [server.model_dump(exclude_none=True) for server in value]
    return value


def ice_problems(
    servers: list[IceServer], settings: Settings, confirmed: bool
) -> list[InvalidInput]:
    """What the compliance check ``ice-servers`` would fail (a public STUN/TURN service:
    refused) or warn about (a host neither local nor the organisation's own: refused
    unless ``confirmed``)."""
    from conclave.compliance.checks.third_parties import classify, ice_host

    problems: list[InvalidInput] = []
    for url in (url for server in servers for url in server.urls):
        kind = classify(ice_host(url), settings)
        if kind == "public_service":
            problems.append(
                InvalidInput(
                    N_("{field}: {url} is a public service of a third party."),
                    field=ICE_KEY,
                    url=url,
                )
            )
        elif kind == "foreign" and not confirmed:
            problems.append(
                InvalidInput(
                    N_(
                        "{field}: {url} is neither a local address nor under the server's "
                        "own domain; tick the confirmation if your organisation operates it "
                        "or has a data processing agreement for it."
                    ),
                    field=ICE_KEY,
                    url=url,
                )
            )
    return problems


def _problem(key: str, error: Mapping[str, Any]) -> InvalidInput:
    kind, ctx = error.get("type", ""), error.get("ctx") or {}
    if kind == "greater_than_equal":
        return InvalidInput(N_("{field}: must be at least {limit}."), field=key, limit=ctx["ge"])
    if kind == "less_than_equal":
        return InvalidInput(N_("{field}: must be at most {limit}."), field=key, limit=ctx["le"])
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return InvalidInput(N_("{field}: enter a whole number."), field=key)
    if kind == "string_too_long":
        limit = ctx["max_length"]
        return InvalidInput(N_("{field}: at most {limit} characters."), field=key, limit=limit)
    if kind == "literal_error":
        allowed = ctx.get("expected", "")
        return InvalidInput(N_("{field}: choose one of {allowed}."), field=key, allowed=allowed)
    return InvalidInput(N_("{field}: {problem}"), field=key, problem=error.get("msg", ""))


def _with(settings: Settings, values: Mapping[str, object]) -> Settings:
    """``settings`` with ``values`` (by key) applied, validated by the section models;
    PolicyInvalid names every refused field."""
    sections: dict[str, dict[str, object]] = {}
    for key, value in values.items():
        section, name = key.split(".", 1)
        sections.setdefault(section, {})[name] = value
    updated: dict[str, BaseModel] = {}
    problems: list[InvalidInput] = []
    for section, changes in sections.items():
        model: BaseModel = getattr(settings, section)
        try:
            updated[section] = type(model).model_validate({**model.model_dump(), **changes})
        except ValidationError as error:
            for item in error.errors():
                problems.append(_problem(f"{section}.{item['loc'][0]}", item))
    if problems:
        raise PolicyInvalid(problems)
    return settings.model_copy(update=updated)


def _keep_credentials(current: list[IceServer], submitted: object) -> object:
    """The page shows URLs only: a server listed as before keeps its user name and
    credential, and an unchanged list stays exactly what it was."""
    if not isinstance(submitted, list):
        return submitted
    urls = [entry["urls"][0] for entry in submitted]
    if urls == [url for server in current for url in server.urls]:
        return [server.model_dump() for server in current]
    known = {tuple(server.urls): server for server in current}
    return [known[(url,)].model_dump() if (url,) in known else {"urls": [url]} for url in urls]


def _form_value(field: PolicyField, form: Mapping[str, str]) -> object:
    raw = form.get(field.key)
    if field.kind == "bool":
        return raw in ("on", "true", "1")
    text = (raw or "").strip()
    if field.kind == "ice":
        return [{"urls": [line.strip()]} for line in text.splitlines() if line.strip()]
    if field.kind == "int":
        return text  # the model parses it (and names the field when it cannot)
    return text.replace("\r\n", "\n")


class PolicyService:
    def __init__(self, db: Database, settings: Settings, clock: Clock) -> None:
        self.db = db
        self.file = settings  # the configuration: file, environment, defaults
        self.clock = clock
        self._lock = threading.Lock()
        self._current: Settings | None = None
        self._stored: dict[str, PolicyValue] = {}

    # -- reading -----------------------------------------------------------------------
    def current(self) -> Settings:
        """The effective settings (cached; computed again after a change)."""
        found = self._current
        if found is None:
            found = self.refresh()
        return found

    def refresh(self) -> Settings:
        with self._lock:
            with self.db.transaction("policy_read") as tx:
                stored = policy.all_values(tx)
            effective = self.file
            for key, row in stored.items():
                if key not in BY_KEY:
                    continue
                try:  # one by one: a value the file's bounds no longer allow is skipped
                    effective = _with(effective, {key: json.loads(row.value)})
                except (PolicyInvalid, ValueError):
                    log.warning("stored policy value ignored", extra={"reason": key})
            self._stored, self._current = stored, effective
            return effective

    def overrides(self) -> dict[str, PolicyValue]:
        """The console's stored values by key (who set them and when)."""
        self.current()
        return {k: v for k, v in self._stored.items() if k in BY_KEY}

    def file_value(self, key: str) -> Value:
        return value_of(self.file, key)

    # -- changing ----------------------------------------------------------------------
    def update(
        self,
        form: FormName,
        submitted: Mapping[str, str],
        *,
        actor_id: int,
        client: str | None,
        confirm_e2ee_off: bool = False,
        confirm_foreign_ice: bool = False,
    ) -> list[Change]:
        """Validate and store every field of ``form`` at once; the changes made."""
        fields = in_form(form)
        before = self.current()
        values = {f.key: _form_value(f, submitted) for f in fields}
        if ICE_KEY in values:
            values[ICE_KEY] = _keep_credentials(before.media.ice_servers, values[ICE_KEY])
        after = _with(before, values)
        if form == "media":
            found = ice_problems(after.media.ice_servers, after, confirm_foreign_ice)
            if found:
                raise PolicyInvalid(found)
        changes = [
            Change(f.key, value_of(before, f.key), value_of(after, f.key))
            for f in fields
            if value_of(before, f.key) != value_of(after, f.key)
        ]
        if any(c.key == "security.require_e2ee" and not c.new for c in changes) and not (
            confirm_e2ee_off
        ):
            raise PolicyInvalid([InvalidInput(E2EE_CONFIRM, field="security.require_e2ee")])
        self._store(changes, actor_id, client, "console")
        return changes

    def reset(self, key: str, *, actor_id: int, client: str | None) -> Change | None:
        """Back to the configuration file's value; None when it was not overridden."""
        if key not in BY_KEY:
            raise NotFound(N_("No such setting."), reason="unknown_setting")
        if key not in self.overrides():
            return None
        change = Change(key, value_of(self.current(), key), self.file_value(key))
        self._store([change], actor_id, client, "reset")
        return change

    def _store(self, changes: list[Change], actor_id: int, client: str | None, via: str) -> None:
        if not changes:
            return
        now = self.clock()
        where = network(client) if client is not None else None
        with self._lock, self.db.transaction("policy_change") as tx:
            for change in changes:
                if via == "reset" or change.new == self.file_value(change.key):
                    policy.remove(tx, change.key)
                else:
                    value = json.dumps(_stored_form(change.new))
                    policy.put(tx, change.key, value, now, actor_id)
                details = {
                    "setting": change.key,
                    "old": shown(change.old),
                    "new": shown(change.new),
                    "via": via,
                }
                audit.insert(
                    tx,
                    event=events.POLICY_CHANGED,
                    occurred_at=now,
                    actor_id=actor_id,
                    subject_id=None,
                    client=where,
                    details=clean_details(details),
                )
            self._current = None
        log.info("policy changed", extra={"user_id": actor_id, "count": len(changes)})
        self.refresh()
