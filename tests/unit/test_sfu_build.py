"""Which Janus servers ``conclave serve`` uses, from the settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from conclave.config import load_settings
from conclave.media.janus_managed import JanusNotFound
from conclave.media.sfu import build_sfu


def test_no_janus_when_meetings_never_use_the_sfu(tmp_path: Path) -> None:
    for mode in ("p2p", "mesh"):
        sfu = build_sfu(load_settings(None, data_dir=tmp_path, media={"mode": mode}))
        assert sfu.backends == () and not sfu.available


def test_external_servers_and_no_managed_one(tmp_path: Path) -> None:
    janus = {
        "urls": ["http://10.0.0.21:8088/janus", "http://10.0.0.22:8088/janus"],
        "api_secret": "s",
        "admin_key": "k",
    }
    settings = load_settings(None, data_dir=tmp_path, media={"janus": janus})
    sfu = build_sfu(settings)
    assert [b.label for b in sfu.backends] == ["janus-1", "janus-2"]
    assert all(b.managed is None and b.admin_key == "k" for b in sfu.backends)
    assert sfu.configured and not sfu.available  # nothing connects before start()
    assert sfu.max_publishers == settings.meetings.max_participants


def test_managed_on_without_the_binary_is_an_error(tmp_path: Path) -> None:
    janus = {"managed": "on", "binary": "no-such-janus-binary"}
    with pytest.raises(JanusNotFound):
        build_sfu(load_settings(None, data_dir=tmp_path, media={"janus": janus}))
    off = {"managed": "off"}
    assert build_sfu(load_settings(None, data_dir=tmp_path, media={"janus": off})).backends == ()
