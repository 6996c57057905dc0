"""Settings: every problem reported at once, safe defaults."""

from __future__ import annotations

import pytest

from gorgias_appkit import ConfigError
from gorgias_appkit import KitSettings
from gorgias_appkit.store.crypto import generate_key

VALID = {
    "GORGIAS_CLIENT_ID": "client",
    "GORGIAS_CLIENT_SECRET": "s3cr+t/with:odd%chars",
    "GORGIAS_APP_URL": "https://app.example.com/",
    "GORGIAS_DATABASE_URL": "sqlite://",
    "GORGIAS_ENCRYPTION_KEYS": generate_key(),
}


def test_valid_settings_have_documented_defaults() -> None:
    """A minimal valid mapping yields the defaults the README documents."""
    settings = KitSettings.from_mapping(VALID)
    assert settings.redirect_uri == "https://app.example.com/oauth/callback"
    assert settings.url_template.template == "https://{account}.gorgias.com"
    assert "offline" in settings.scopes
    assert "write:all" not in settings.scopes
    assert settings.mode == "production"


def test_every_problem_is_listed_in_one_error() -> None:
    """An empty configuration names each missing variable in the same error."""
    with pytest.raises(ConfigError) as info:
        KitSettings.from_mapping({})
    text = str(info.value)
    for name in (
        "GORGIAS_CLIENT_ID",
        "GORGIAS_CLIENT_SECRET",
        "GORGIAS_APP_URL",
        "GORGIAS_ENCRYPTION_KEYS",
        "GORGIAS_DATABASE_URL",
    ):
        assert name in text
    assert len(info.value.problems) >= 5


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("GORGIAS_APP_URL", "http://app.example.com", "https"),
        ("GORGIAS_APP_URL", "https://app.example.com/?next=x", "query"),
        ("GORGIAS_URL_TEMPLATE", "http://{account}.gorgias.com", "loopback"),
        ("GORGIAS_SCOPES", "write:all offline", "write:all"),
        ("GORGIAS_ENCRYPTION_KEYS", "not-a-key", "32 bytes"),
        ("GORGIAS_REFRESH_LEEWAY", "soon", "number"),
        ("GORGIAS_MODE", "yolo", "GORGIAS_MODE"),
        ("GORGIAS_ALLOWED_ACCOUNTS", "acme,evil.com", "evil.com"),
        ("GORGIAS_SECRET_KEY", "short", "32"),
    ],
)
def test_bad_values_are_refused(key: str, value: str, fragment: str) -> None:
    """Each bad value produces a ConfigError naming the problem."""
    with pytest.raises(ConfigError) as info:
        KitSettings.from_mapping({**VALID, key: value})
    assert fragment in str(info.value)


def test_secret_is_not_in_repr_or_errors() -> None:
    """The client secret never shows in the settings' repr or in a config error."""
    settings = KitSettings.from_mapping(VALID)
    assert VALID["GORGIAS_CLIENT_SECRET"] not in repr(settings)
    with pytest.raises(ConfigError) as info:
        KitSettings.from_mapping({**VALID, "GORGIAS_APP_URL": "ftp://x"})
    assert VALID["GORGIAS_CLIENT_SECRET"] not in str(info.value)


def test_allowed_accounts_are_parsed() -> None:
    """GORGIAS_ALLOWED_ACCOUNTS limits installs; empty means every account."""
    settings = KitSettings.from_mapping({**VALID, "GORGIAS_ALLOWED_ACCOUNTS": "Acme, globex"})
    assert settings.account_allowed("acme") and settings.account_allowed("globex")
    assert not settings.account_allowed("initech")
    assert KitSettings.from_mapping(VALID).account_allowed("initech")


def test_every_problem_comes_in_one_error_with_the_right_units() -> None:
    """Issue 13: a bad proxy value hides no other problem; a rate is in requests, not seconds."""
    with pytest.raises(ConfigError) as caught:
        KitSettings.from_mapping(
            {
                "GORGIAS_PROXY_FIX": "lots",
                "GORGIAS_RATE_LIMIT": "many",
                "GORGIAS_METRICS_TOKEN": "short",
                "GORGIAS_ADMIN_USER": "operator",
            },
            web_app=True,
        )
    problems = "\n".join(caught.value.problems)
    for expected in (
        "GORGIAS_CLIENT_ID is required",
        "GORGIAS_APP_URL is required",
        "GORGIAS_ENCRYPTION_KEYS is required",
        "GORGIAS_SECRET_KEY is required",
        "GORGIAS_PROXY_FIX",
        "GORGIAS_RATE_LIMIT must be a number of requests",
        "GORGIAS_METRICS_TOKEN",
        "GORGIAS_ADMIN_PASSWORD_HASH",
    ):
        assert expected in problems, expected
    assert "number of seconds, got 'many'" not in problems
