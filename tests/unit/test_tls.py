"""The self-signed certificate: created once, reused, renewed when names change."""

from __future__ import annotations

import stat
from pathlib import Path

from cryptography import x509

from conclave.config import load_settings
from conclave.tls import ensure_tls


def test_self_signed_certificate_is_created_and_reused(tmp_path: Path) -> None:
    settings = load_settings(None, data_dir=tmp_path, server={"hostnames": ["meet.example.org"]})
    first = ensure_tls(settings)
    assert first.self_signed
    assert len(first.fingerprint.split(":")) == 32
    assert stat.S_IMODE(first.key_file.stat().st_mode) == 0o600
    cert = x509.load_pem_x509_certificate(first.cert_file.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "meet.example.org" in names.get_values_for_type(x509.DNSName)
    assert ensure_tls(settings).fingerprint == first.fingerprint
    renamed = load_settings(None, data_dir=tmp_path, server={"hostnames": ["other.example.org"]})
    assert ensure_tls(renamed).fingerprint != first.fingerprint


def test_configured_certificate_is_used_as_is(tmp_path: Path) -> None:
    made = ensure_tls(load_settings(None, data_dir=tmp_path / "a"))
    settings = load_settings(
        None, data_dir=tmp_path / "b", tls={"cert_file": made.cert_file, "key_file": made.key_file}
    )
    used = ensure_tls(settings)
    assert not used.self_signed
    assert used.fingerprint == made.fingerprint
    assert not (tmp_path / "b" / "tls").exists()
