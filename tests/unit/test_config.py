"""Configuration: defaults need no file; bad values name key, value and what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from conclave.config import ConfigError, load_settings


def _problems(tmp_path: Path, toml: str) -> list[str]:
    path = tmp_path / "conclave.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    return caught.value.problems


def test_defaults_are_privacy_friendly_and_need_no_file() -> None:
    settings = load_settings()
    assert settings.server.port == 8443
    assert settings.security.require_e2ee is True
    assert settings.meetings.default_lobby == "guests"
    assert settings.media.ice_servers == []  # never a public STUN server
    assert settings.media.mode == "auto" and settings.media.mesh_limit == 4
    assert settings.database_url.startswith("sqlite:///")


def test_file_environment_and_overrides_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "conclave.toml"
    path.write_text(
        '[server]\nport = 9000\nhostnames = ["meet.example.org"]\n'
        '[privacy]\ncontroller_name = "ACME"\n'
    )
    assert load_settings(path).server.port == 9000
    monkeypatch.setenv("CONCLAVE_SERVER__PORT", "9100")
    settings = load_settings(path)
    assert settings.server.port == 9100
    assert settings.privacy.controller_name == "ACME"
    assert settings.base_url == "https://meet.example.org:9100"
    assert load_settings(path, data_dir=tmp_path / "d").data_dir == tmp_path / "d"


def test_invalid_values_name_key_value_and_allowed(tmp_path: Path) -> None:
    problems = _problems(tmp_path, '[media]\nmode = "cloud"\nmesh_limit = 40\n[server]\nport = 0\n')
    assert "media.mode = 'cloud': Input should be 'auto', 'p2p', 'mesh' or 'sfu'" in problems
    assert "media.mesh_limit = 40: Input should be less than or equal to 8" in problems
    assert "server.port = 0: Input should be greater than or equal to 1" in problems


def test_unknown_keys_are_refused_with_the_allowed_ones(tmp_path: Path) -> None:
    (problem,) = _problems(tmp_path, "[security]\npasword_min_length = 10\n")
    assert problem.startswith("security.pasword_min_length: unknown setting (allowed here:")
    assert "password_min_length" in problem
    (section,) = _problems(tmp_path, "[secruity]\nx = 1\n")
    assert section.startswith("secruity: unknown setting")


def test_semantic_problems(tmp_path: Path) -> None:
    problems = _problems(
        tmp_path,
        '[tls]\ncert_file = "/nonexistent/cert.pem"\n[server]\nhost = "example.org"\n'
        'public_url = "http://meet.example.org"\n',
    )
    assert any(p.startswith("server.public_url = 'http://meet.example.org'") for p in problems)
    problems = _problems(tmp_path, '[tls]\ncert_file = "/nonexistent/cert.pem"\n')
    assert "tls.cert_file and tls.key_file: set both or neither" in problems
    assert "tls.cert_file = '/nonexistent/cert.pem': file does not exist" in problems


def test_stun_and_turn_urls_only(tmp_path: Path) -> None:
    (problem,) = _problems(tmp_path, '[[media.ice_servers]]\nurls = ["https://example.org"]\n')
    assert problem.startswith("media.ice_servers.0.urls")
    assert "is not a stun:, stuns:, turn: or turns: URL" in problem


def test_malformed_toml_and_missing_file(tmp_path: Path) -> None:
    (problem,) = _problems(tmp_path, "[server\nport = \n")
    assert problem.startswith("cannot read configuration")
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "missing.toml")


def test_bad_environment_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONCLAVE_SECURITY__PASSWORD_MIN_LENGTH", "three")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    (problem,) = caught.value.problems
    assert problem.startswith("security.password_min_length = 'three'")


@pytest.mark.parametrize(
    ("toml", "early"),
    [
        ("", True),
        ('[media]\nmode = "mesh"', True),
        ('[media]\nmode = "sfu"', False),
        ('[media]\nice_transport_policy = "relay"', False),
        ('[[media.ice_servers]]\nurls = ["stun:10.0.0.5:3478"]', False),
        ('[media.turn]\nurls = ["turn:10.0.0.5:3478"]\nsecret = "s3cret-s3cret"', False),
    ],
)
def test_the_first_connection_is_prepared_only_without_ice_servers(
    tmp_path: Path, toml: str, early: bool
) -> None:
    """Prepared before joining, a connection has no ICE servers: only right without any."""
    path = tmp_path / "conclave.toml"
    path.write_text(toml)
    assert load_settings(path).media.direct_without_servers is early
