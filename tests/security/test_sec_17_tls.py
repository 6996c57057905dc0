"""SEC-17: TLS only: https everywhere except loopback development hosts, and certificates checked.

Plain http is accepted only for loopback hosts (127.0.0.0/8, ::1, localhost), where traffic never
leaves the machine; that is how the sandbox runs. It needs no separate flag: any other http host
is refused at start-up.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from werkzeug.serving import make_server

from gorgias_appkit import ConfigError
from gorgias_appkit import Kit
from gorgias_appkit import KitSettings
from gorgias_appkit.errors import TokenEndpointError

from ..conftest import kit_env

BASE = kit_env("https://x.invalid", "sqlite://")


@pytest.mark.parametrize(
    "template",
    [
        "http://{account}.gorgias.com",
        "http://acme.example/{account}",
        "http://localhost.evil.com/{account}",
        "http://127.0.0.1.nip.io/{account}",
        "http://0.0.0.0:8800/{account}",
        "http://10.0.0.5/{account}",
        "http://127.1/{account}",
        "ftp://{account}.gorgias.com",
        "ws://{account}.gorgias.com",
        "{account}.gorgias.com",
    ],
)
def test_non_tls_templates_are_refused_at_start_up(template: str) -> None:
    """SEC-17: an http (or non-http) account URL off loopback stops the app from starting."""
    with pytest.raises(ConfigError) as info:
        KitSettings.from_mapping({**BASE, "GORGIAS_URL_TEMPLATE": template})
    assert "GORGIAS_URL_TEMPLATE" in str(info.value)


@pytest.mark.parametrize(
    "app_url", ["http://app.example", "http://10.1.2.3:8000", "ftp://app.example", "app.example"]
)
def test_non_tls_app_urls_are_refused_at_start_up(app_url: str) -> None:
    """SEC-17: the app's own URL (and so the redirect_uri) must be https off loopback."""
    with pytest.raises(ConfigError) as info:
        KitSettings.from_mapping({**BASE, "GORGIAS_APP_URL": app_url})
    assert "GORGIAS_APP_URL" in str(info.value)


@pytest.mark.parametrize(
    "template",
    [
        "https://{account}.gorgias.com",
        "http://127.0.0.1:8800/{account}",
        "http://localhost:8800/{account}",
        "http://[::1]:8800/{account}",
    ],
)
def test_https_and_loopback_templates_are_accepted(template: str) -> None:
    """SEC-17: https anywhere, plain http only on this machine (the sandbox)."""
    settings = KitSettings.from_mapping({**BASE, "GORGIAS_URL_TEMPLATE": template})
    assert settings.url_template.base_url("acme") == template.replace("{account}", "acme")


@pytest.fixture
def untrusted_https(tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    """An https server with a self-signed certificate; yields its URL and the paths it served."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    served: list[str] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        served.append(environ["PATH_INFO"])
        start_response("404 Not Found", [("Content-Type", "application/json")])
        return [b"{}"]

    server = make_server("127.0.0.1", 0, app, ssl_context=context)
    server.handle_error = lambda *args: None  # type: ignore[method-assign]  # refused handshakes
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield f"https://127.0.0.1:{server.server_port}", served
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_certificates_are_verified_by_default(
    untrusted_https: tuple[str, list[str]], sqlite_url: str
) -> None:
    """SEC-17/SEC-02: a server whose certificate is not trusted gets no request, and no fallback."""
    url, served = untrusted_https
    kit = Kit(KitSettings.from_mapping(kit_env(url, sqlite_url)))
    try:
        with pytest.raises(TokenEndpointError):
            kit.begin_install("acme", browser_id="b" * 43)
    finally:
        kit.close()
    assert served == []
