"""Data subject rights: access, portability and erasure for every user."""

from __future__ import annotations

from conclave.compliance.checks.base import Findings, check
from conclave.compliance.facts import Facts
from conclave.errors import N_

# What each right needs: (routes of the web pages, commands of the CLI).
NEEDED = {
    "own": (("POST /account/export", "POST /account/delete"), ()),
    "admin": (
        ("POST /admin/users/{user_id}/export", "POST /admin/users/{user_id}/{action}"),
        ("user export", "user remove"),
    ),
}


@check(
    "data-subject-rights",
    "data_subject_rights",
    N_("Everyone can download and delete their data"),
)
def data_subject_rights(facts: Facts, found: Findings) -> None:
    features = facts.features
    missing = [
        name
        for routes, commands in NEEDED.values()
        for name in (*routes, *commands)
        if name not in features.routes and name not in features.commands
    ]
    if missing:
        found.add("fail", N_("Not available: {what}"), what=", ".join(missing))
        return
    found.note(
        N_(
            "Every user downloads everything Conclave holds about them as JSON (Art. 15 and "
            "20 GDPR) and deletes their account (Art. 17) on their account page."
        )
    )
    found.note(
        N_(
            "Administrators can do both for any user, in the administration pages or with "
            "conclave user export and conclave user remove; deletion removes or anonymises "
            "everything linked to the account."
        )
    )
