"""SEC-19: least privilege: only the scopes needed, offline for a refresh token, no write:all."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from gorgias_appkit import ConfigError
from gorgias_appkit import KitSettings
from gorgias_appkit.core.settings import DEFAULT_SCOPES
from gorgias_appkit.starter import create_app
from gorgias_appkit.testing.sandbox import InstallDriver
from gorgias_sandbox import SandboxControl

from ..conftest import kit_env
from .support import kit_of
from .support import query_of

WITHOUT_OFFLINE = " ".join(s for s in DEFAULT_SCOPES if s != "offline")


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """Scopes do not depend on the database; one tier is enough."""
    return sqlite_url


def test_without_offline_there_is_no_refresh_token_and_the_install_warns(
    app_config: dict[str, str],
    sandbox: SandboxControl,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """SEC-19: omit offline: the peer issues no refresh token; the merchant and the log are told."""
    app = create_app({**app_config, "TESTING": True, "GORGIAS_SCOPES": WITHOUT_OFFLINE})
    client = app.test_client()
    actions = InstallDriver(client)
    try:
        authorize = actions.start("acme")
        assert "offline" not in query_of(authorize)["scope"].split()
        with caplog.at_level(logging.WARNING, logger="gorgias_appkit"):
            response = actions.finish(actions.consent(authorize))
        assert response.status_code == 303
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        assert "did not grant offline access" in page
        assert any(getattr(r, "event", "") == "no_refresh_token" for r in caplog.records)
        installation = kit_of(app).installation("acme")
        assert installation is not None and installation.tokens is not None
        assert installation.tokens.refresh_token is None
        assert sandbox.grants("acme")[0]["refresh_tokens"] == []
    finally:
        actions.close()
        kit_of(app).close()


def test_default_scopes_are_granular_and_include_offline(
    installer: InstallDriver, client: FlaskClient
) -> None:
    """SEC-19: the default request has offline, granular scopes, and never write:all."""
    scopes = query_of(installer.start("acme"))["scope"].split()
    assert "offline" in scopes and "write:all" not in scopes
    assert all(":" in s or s in ("openid", "email", "profile", "offline") for s in scopes)


@pytest.mark.parametrize("scopes", ["write:all", "openid write:all offline", "write:all,offline"])
def test_write_all_is_refused_at_start_up(scopes: str) -> None:
    """SEC-19: the retiring catch-all scope cannot be configured."""
    with pytest.raises(ConfigError) as info:
        KitSettings.from_mapping(
            {**kit_env("https://x.invalid", "sqlite://"), "GORGIAS_SCOPES": scopes}
        )
    assert "write:all" in str(info.value)


def test_granted_scopes_are_shown_to_the_merchant(
    installer: InstallDriver, client: FlaskClient
) -> None:
    """SEC-19: the dashboard lists the scopes Gorgias actually granted."""
    installer.install("acme")
    page = client.get("/accounts/acme").get_data(as_text=True)
    for scope in ("tickets:read", "offline", "account:read"):
        assert scope in page
