"""Control API, the SandboxControl client and SandboxConfig parsing."""

from __future__ import annotations

from typing import Any

import pytest

from gorgias_sandbox import SandboxConfig, SandboxControl, SandboxControlError


def test_stats_and_count(flow: Any, control: SandboxControl) -> None:
    """stats() exposes per-account counters; count() reads one of them."""
    flow.tokens()
    assert control.count("acme", "oauth.token") == 1
    assert control.count("acme", "oauth.revoke") == 0
    assert control.count("nobody", "oauth.token") == 0
    assert control.stats()["counters"]["acme"]["oauth.token.authorization_code"] == 1


def test_configure_and_unknown_keys(control: SandboxControl) -> None:
    """PATCH /_sandbox/config switches settings; unknown keys or bad values are a 400."""
    config = control.configure(
        rotate_refresh_tokens=True, rate_limit="10", redirect_uris=["http://a.example/cb"]
    )
    assert config["rotate_refresh_tokens"] is True and config["rate_limit"] == 10
    assert config["redirect_uris"] == ["http://a.example/cb"]
    with pytest.raises(SandboxControlError) as info:
        control.configure(no_such_switch=1, expires_in_mode="sometimes")
    assert info.value.status == 400
    assert "no_such_switch" in info.value.body["error"]
    assert "expires_in_mode" in info.value.body["error"]
    assert control.config()["expires_in_mode"] == "zero"  # nothing was applied


def test_reset_restores_start_up_state(flow: Any, control: SandboxControl) -> None:
    """POST /_sandbox/reset clears grants, counters, faults, buckets, config and new accounts."""
    flow.tokens()
    control.configure(rotate_refresh_tokens=True)
    control.add_fault(path="/oauth/token", mode="status", status=500)
    control.drain("acme", 10)
    control.create_account("hooli")
    control.reset()
    assert control.grants() == [] and control.stats() == {"counters": {}}
    assert control.faults() == [] and control.config()["rotate_refresh_tokens"] is False
    assert flow.world.bucket("acme").peek().used == 0
    assert flow.http.get("/_sandbox/accounts").json()["accounts"][-1]["domain"] == "initech"


def test_grants_listing(flow: Any, control: SandboxControl) -> None:
    """GET /_sandbox/grants lists grants, filtered by account when asked."""
    flow.tokens()
    flow.tokens("globex")
    assert len(control.grants()) == 2
    (grant,) = control.grants("globex")
    assert grant["account"] == "globex" and grant["status"] == "active"
    assert grant["refresh_tokens"][0]["status"] == "current"


def test_create_account(flow: Any, control: SandboxControl) -> None:
    """POST /_sandbox/accounts creates a seeded account usable at once; bad or dup → error."""
    record = control.create_account("hooli", name="Hooli XYZ")
    assert record["domain"] == "hooli" and record["name"] == "Hooli XYZ"
    token = flow.tokens("hooli")["access_token"]
    assert flow.api("GET", "/account", token, account="hooli").json()["domain"] == "hooli"
    for domain, status in (("hooli", 409), ("Bad Name!", 400), ("_sandbox", 400)):
        with pytest.raises(SandboxControlError) as info:
            control.create_account(domain)
        assert info.value.status == status


def test_account_routes_404_for_unknown_account(control: SandboxControl) -> None:
    """Account-scoped control routes answer 404 for an unknown account."""
    for call in (
        lambda: control.drain("nobody", 1),
        lambda: control.objects("nobody"),
        lambda: control.revoke_account("nobody"),
    ):
        with pytest.raises(SandboxControlError) as info:
            call()
        assert info.value.status == 404


def test_register_client_validation(control: SandboxControl) -> None:
    """POST /_sandbox/clients needs an id, a secret and redirect URIs."""
    created = control.register_client("c2", "s2", ["https://c2.example/cb"], name="C2")
    assert created == {"client_id": "c2", "redirect_uris": ["https://c2.example/cb"], "name": "C2"}
    with pytest.raises(SandboxControlError):
        control.register_client("c3", "", [])


def test_config_defaults_are_gorgias_quirks() -> None:
    """The defaults reproduce Gorgias as documented."""
    config = SandboxConfig()
    assert config.expires_in_mode == "zero" and config.rotate_refresh_tokens is False
    assert config.access_token_ttl == 86400 and config.rate_limit == 80
    assert config.rate_window == 20 and config.send_iss is False
    assert config.publish_jwks is False and config.allow_client_secret_post is False
    assert config.accounts == ("acme", "globex", "initech")


def test_from_env_parses_by_field_type() -> None:
    """SANDBOX_<FIELD> variables are parsed as the field's type."""
    config = SandboxConfig.from_env(
        {
            "SANDBOX_CLIENT_ID": "abc",
            "SANDBOX_REDIRECT_URIS": "http://a/cb, http://b/cb",
            "SANDBOX_ROTATE_REFRESH_TOKENS": "yes",
            "SANDBOX_EXPIRES_IN_MODE": "positive",
            "SANDBOX_ACCESS_TOKEN_TTL": "60",
            "SANDBOX_RATE_WINDOW": "2.5",
            "OTHER": "x",
        }
    )
    assert config.client_id == "abc" and config.redirect_uris == ("http://a/cb", "http://b/cb")
    assert config.rotate_refresh_tokens is True and config.expires_in_mode == "positive"
    assert config.access_token_ttl == 60 and config.rate_window == 2.5


def test_from_env_lists_every_problem() -> None:
    """Bad environment values raise one ValueError naming each of them."""
    with pytest.raises(ValueError, match="invalid sandbox config") as info:
        SandboxConfig.from_env(
            {
                "SANDBOX_RATE_LIMIT": "lots",
                "SANDBOX_SEND_ISS": "perhaps",
                "SANDBOX_ID_TOKEN_TAMPER": "evil",
                "SANDBOX_RATE_WINDOW": "0",
            }
        )
    message = str(info.value)
    for name in ("SANDBOX_RATE_LIMIT", "SANDBOX_SEND_ISS", "id_token_tamper", "rate_window"):
        assert name in message


def test_config_is_frozen() -> None:
    """SandboxConfig cannot be mutated in place."""
    with pytest.raises(AttributeError):
        SandboxConfig().rate_limit = 1  # type: ignore[misc]
