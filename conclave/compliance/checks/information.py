"""Information duties: the privacy notice names the controller and how to reach them."""

from __future__ import annotations

import html

from conclave.compliance.checks.base import Findings, check
from conclave.compliance.facts import Facts
from conclave.errors import N_
from conclave.privacy.notice import privacy_notice


@check(
    "privacy-notice",
    "information_duties",
    N_("The privacy notice names the controller and a contact"),
)
def privacy_notice_complete(facts: Facts, found: Findings) -> None:
    notice = privacy_notice(facts.settings)
    if not notice.controller_name:
        found.add(
            "fail",
            N_("privacy.controller_name is empty: the privacy notice names no controller."),
        )
    if not notice.controller_contact:
        found.add(
            "fail",
            N_("privacy.controller_contact is empty: the privacy notice gives no contact."),
        )
    if notice.complete:
        found.note(
            N_("Controller: {name}; contact: {contact}."),
            name=notice.controller_name,
            contact=notice.controller_contact,
        )
    if notice.dpo_contact:
        found.note(N_("Data protection officer: {contact}."), contact=notice.dpo_contact)
    else:
        found.note(
            N_(
                "No data protection officer is named (privacy.dpo_contact); name one if the "
                "organisation must have one (Art. 37 GDPR)."
            )
        )
    found.note(
        N_(
            "The notice is rendered from the running configuration in German and English and "
            "shown before anyone joins a meeting."
        )
    )
    scan = facts.scan
    if not scan.live or scan.error is not None:
        return
    page = scan.text_of("/privacy")
    if page is None:
        found.add("warn", N_("{origin} served no privacy notice at /privacy."), origin=scan.origin)
    elif notice.complete and notice.controller_name not in html.unescape(page):
        found.add(
            "warn",
            N_(
                "The privacy notice served by {origin} does not show the controller configured "
                "here: does the server run with another configuration?"
            ),
            origin=scan.origin,
        )
    else:
        found.note(N_("The served privacy notice ({origin}/privacy) matches."), origin=scan.origin)
