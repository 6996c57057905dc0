"""The deployment files the project ships pass their own tools' checks.

``deploy/`` holds a systemd unit pair, an nginx site and an environment file template; the
README's "Deploying" section walks through them. Each check runs only where its tool is
installed (``systemd-analyze``, ``nginx``), as on the CI machine.
"""

from __future__ import annotations

import datetime
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
VENV_BIN = Path(sys.executable).parent
UNITS = ["gorgias-appkit-web.service", "gorgias-appkit-worker.service"]


def needs(tool: str) -> str:
    path = shutil.which(tool) or (
        f"/usr/sbin/{tool}" if Path(f"/usr/sbin/{tool}").exists() else None
    )
    if path is None:
        pytest.skip(f"{tool} is not installed")
    return path


@pytest.mark.parametrize("unit", UNITS)
def test_systemd_units_pass_systemd_analyze_verify(unit: str, tmp_path: Path) -> None:
    """Each unit verifies cleanly (no warning at all) with its ExecStart pointing at this venv."""
    tool = needs("systemd-analyze")
    text = (DEPLOY / unit).read_text()
    assert "/opt/gorgias-appkit/venv/bin/gorgias-appkit" in text
    local = tmp_path / unit
    local.write_text(text.replace("/opt/gorgias-appkit/venv/bin", str(VENV_BIN)))
    result = subprocess.run(  # noqa: S603 - a fixed tool on a file we wrote
        [tool, "verify", "--man=no", str(local)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "" and result.stderr.strip() == "", result.stderr


def test_units_run_the_two_processes_as_an_unprivileged_user() -> None:
    """The web unit serves on loopback only; both run as their own user and write one folder."""
    web, worker = ((DEPLOY / u).read_text() for u in UNITS)
    assert "serve --host 127.0.0.1" in web
    assert "gorgias-appkit worker" in worker
    for text in (web, worker):
        assert "User=gorgias-appkit" in text and "NoNewPrivileges=yes" in text
        assert "ProtectSystem=strict" in text and "EnvironmentFile=/etc/gorgias-appkit/env" in text


def _self_signed(folder: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "app.example.com")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (folder / "fullchain.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "privkey.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def test_nginx_site_passes_nginx_t(tmp_path: Path) -> None:
    """``nginx -t`` accepts the site (certificates and log folder moved into a scratch folder)."""
    tool = needs("nginx")
    _self_signed(tmp_path)
    site = (DEPLOY / "nginx.conf").read_text()
    site = site.replace("/etc/ssl/gorgias-appkit/", f"{tmp_path}/").replace(
        "/var/log/nginx/", f"{tmp_path}/"
    )
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "main.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
        f"events {{}}\nhttp {{ include {tmp_path}/site.conf; }}\n"
    )
    result = subprocess.run(  # noqa: S603 - a fixed tool on files we wrote
        [tool, "-t", "-c", str(tmp_path / "main.conf"), "-p", f"{tmp_path}/"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_nginx_logs_no_query_string_and_forwards_only_trusted_headers() -> None:
    """The access log format has ``$uri`` (no code or state); untrusted X-Forwarded-* cleared."""
    site = (DEPLOY / "nginx.conf").read_text()
    log_format = site.split("log_format", 1)[1].split(";", 1)[0]
    assert (
        "$uri" in log_format and "$request_uri" not in log_format and "$request " not in log_format
    )
    assert "$args" not in log_format and "$query_string" not in log_format
    for header in ("X-Forwarded-Host", "X-Forwarded-Port", "X-Forwarded-Prefix"):
        assert f'proxy_set_header {header} "";' in site


def test_env_template_is_shell_safe_and_names_only_real_settings(tmp_path: Path) -> None:
    """Every line is NAME='value'; a shell sourcing it keeps a password hash's ``$`` intact."""
    text = (DEPLOY / "env.example").read_text()
    names = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = re.fullmatch(r"([A-Z_]+)='([^']*)'", line)
        assert match, line
        names.append(match.group(1))
    readme = (DEPLOY.parent / "README.md").read_text()
    for name in names:
        assert name in readme, f"{name} is not in the README's configuration table"
    bash = shutil.which("bash")
    if bash:
        script = f'set -a; . {DEPLOY / "env.example"}; printf %s "$GORGIAS_ADMIN_PASSWORD_HASH"'
        out = subprocess.run(  # noqa: S603 - a fixed shell on our own file
            [bash, "-c", script], capture_output=True, text=True, check=True
        )
        assert out.stdout == "scrypt:32768:8:1$…$…"
