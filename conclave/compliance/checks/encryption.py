"""End-to-end encryption and the impossibility of recording."""

from __future__ import annotations

import re

from conclave.compliance.checks.base import Findings, check
from conclave.compliance.facts import Facts
from conclave.errors import N_

_RECORDING_WORDS = ("record", "rtp_forward", "forward")
_SETTING = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.+?)\s*$", re.MULTILINE)


def jcfg_settings(text: str) -> dict[str, str]:
    """``key = value`` lines of a Janus ``.jcfg`` file (values unquoted), any section."""
    return {key: value.strip('"') for key, value in _SETTING.findall(text)}


@check("e2ee-required", "end_to_end_encryption", N_("Meetings require end-to-end encryption"))
def e2ee_required(facts: Facts, found: Findings) -> None:
    if facts.settings.security.require_e2ee:
        found.note(
            N_(
                "security.require_e2ee = true: every audio and video frame and every chat "
                "message is encrypted in the browsers (SFrame, RFC 9605); the server has no keys."
            )
        )
        found.note(N_("Janus rooms are created with require_e2ee, so the SFU refuses plain media."))
    else:
        found.add(
            "fail",
            N_(
                "security.require_e2ee = false: meetings may run without end-to-end "
                "encryption (the privacy notice says so)."
            ),
        )


@check("no-recording", "data_minimisation", N_("Recording is impossible"))
def no_recording(facts: Facts, found: Findings) -> None:
    features = facts.features
    messages = sorted(
        m for m in features.client_messages if any(word in m for word in _RECORDING_WORDS)
    )
    routes = sorted(r for r in features.routes if "record" in r.lower())
    commands = sorted(c for c in features.commands if "record" in c)
    if messages or routes or commands:
        found.add(
            "fail",
            N_("Conclave offers a way to record or forward media: {what}"),
            what=", ".join([*messages, *routes, *commands]),
        )
    else:
        found.note(
            N_(
                "Conclave has no recording feature: no page, command or meeting message "
                "({count} message types checked) starts a recording or forwards media."
            ),
            count=len(features.client_messages),
        )
    videoroom = jcfg_settings(facts.janus.videoroom)
    if videoroom.get("lock_rtp_forward") != "true" or not videoroom.get("admin_key"):
        found.add(
            "fail",
            N_(
                "The managed Janus's VideoRoom does not lock rtp_forward behind an admin key: "
                "a client could copy a room's media elsewhere."
            ),
        )
    else:
        found.note(
            N_(
                "The managed Janus's VideoRoom locks rtp_forward behind a random admin_key "
                "that only Conclave knows."
            )
        )
    recording = sorted(key for key in videoroom if key in ("record", "rec_dir", "record_file"))
    if recording:
        found.add(
            "fail",
            N_("The managed Janus's VideoRoom configuration records: {keys}"),
            keys=", ".join(recording),
        )
    core = jcfg_settings(facts.janus.core)
    if core.get("broadcast", "false") != "false":
        found.add(
            "fail",
            N_("The managed Janus hands events to event handlers (broadcast is on)."),
        )
    if facts.settings.security.require_e2ee:
        found.note(N_("Media reaches the server end-to-end encrypted: a copy could not be played."))
    if facts.janus.mode == "external":
        found.add(
            "warn",
            N_(
                "Conclave cannot see the configuration of the external Janus servers ({urls}): "
                "make sure they set lock_rtp_forward = true and record nothing."
            ),
            urls=", ".join(facts.janus.external_urls),
        )
