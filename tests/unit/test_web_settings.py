"""Issue 9 items 3, 4, 8, 9: the web settings are validated with every other setting, at once."""

from __future__ import annotations

import pytest
from werkzeug.security import generate_password_hash

from gorgias_appkit import ConfigError
from gorgias_appkit import KitSettings
from gorgias_appkit.core.web_settings import Rate
from gorgias_appkit.store.crypto import generate_key

VALID = {
    "GORGIAS_CLIENT_ID": "client",
    "GORGIAS_CLIENT_SECRET": "s3cr+t/with:odd%chars",
    "GORGIAS_APP_URL": "https://app.example.com/",
    "GORGIAS_DATABASE_URL": "sqlite://",
    "GORGIAS_ENCRYPTION_KEYS": generate_key(),
}
HASH = generate_password_hash("correct horse battery staple")
METRICS_TOKEN = "t" * 24


def test_web_settings_have_documented_defaults() -> None:
    """Defaults: sessions 8 h idle / 7 days, throttles, and only for,proto trusted."""
    web = KitSettings.from_mapping(VALID).web
    assert web.secret_key_fallbacks == ()
    assert (web.session_idle_timeout, web.session_lifetime) == (28800.0, 604800.0)
    assert web.admin_login_ttl == 28800.0
    assert not web.admin_configured and web.metrics_token is None
    assert web.login_rate == Rate(10, 900) and web.login_user_rate == Rate(30, 3600)
    assert web.install_rate == Rate(20, 60) and web.login_concurrency == 2
    assert web.proxy_fix == 0 and web.proxy_headers == frozenset({"for", "proto"})


def test_web_settings_are_parsed() -> None:
    """Every web setting is read from its GORGIAS_* variable."""
    web = KitSettings.from_mapping(
        {
            **VALID,
            "GORGIAS_SECRET_KEY_FALLBACKS": f"{'a' * 32}, {'b' * 40}",
            "GORGIAS_SESSION_IDLE_TIMEOUT": "600",
            "GORGIAS_SESSION_LIFETIME": "3600",
            "GORGIAS_ADMIN_USER": "ops",
            "GORGIAS_ADMIN_PASSWORD_HASH": HASH,
            "GORGIAS_ADMIN_LOGIN_TTL": "1800",
            "GORGIAS_METRICS_TOKEN": METRICS_TOKEN,
            "GORGIAS_LOGIN_RATE": "5 per 10 minutes",
            "GORGIAS_LOGIN_USER_RATE": "20/hour",
            "GORGIAS_INSTALL_RATE": "100 per 1 minute",
            "GORGIAS_LOGIN_CONCURRENCY": "4",
            "GORGIAS_PROXY_FIX": "2",
            "GORGIAS_PROXY_HEADERS": "for, proto ,host,prefix",
        }
    ).web
    assert [k.reveal() for k in web.secret_key_fallbacks] == ["a" * 32, "b" * 40]
    assert (web.session_idle_timeout, web.session_lifetime, web.admin_login_ttl) == (
        600.0,
        3600.0,
        1800.0,
    )
    assert web.admin_configured and web.admin_user == "ops"
    assert web.admin_password_hash is not None and web.admin_password_hash.reveal() == HASH
    assert web.metrics_token is not None and web.metrics_token.reveal() == METRICS_TOKEN
    assert web.login_rate == Rate(5, 600) and web.login_user_rate == Rate(20, 3600)
    assert web.install_rate == Rate(100, 60) and web.login_concurrency == 4
    assert web.proxy_fix == 2 and web.proxy_headers == frozenset({"for", "proto", "host", "prefix"})
    assert web.proxy_fix_options() == {
        "x_for": 2,
        "x_proto": 2,
        "x_host": 2,
        "x_port": 0,
        "x_prefix": 2,
    }


def test_item5_every_web_problem_comes_out_in_one_error() -> None:
    """Issue 9 item 5: admin, metrics, proxy, session and throttle problems, one ConfigError."""
    bad = {
        **VALID,
        "GORGIAS_CLIENT_ID": "",
        "GORGIAS_SECRET_KEY_FALLBACKS": "tooshort",
        "GORGIAS_SESSION_IDLE_TIMEOUT": "soon",
        "GORGIAS_SESSION_LIFETIME": "10",
        "GORGIAS_ADMIN_USER": "ops",
        "GORGIAS_ADMIN_PASSWORD_HASH": "hunter2hunter2",
        "GORGIAS_METRICS_TOKEN": "t" * 23,
        "GORGIAS_LOGIN_RATE": "lots",
        "GORGIAS_INSTALL_RATE": "0 per minute",
        "GORGIAS_LOGIN_CONCURRENCY": "0",
        "GORGIAS_PROXY_FIX": "yes",
        "GORGIAS_PROXY_HEADERS": "for,cookie",
    }
    with pytest.raises(ConfigError) as caught:
        KitSettings.from_mapping(bad)
    text = str(caught.value)
    for name in (
        "GORGIAS_CLIENT_ID",
        "GORGIAS_SECRET_KEY_FALLBACKS",
        "GORGIAS_SESSION_IDLE_TIMEOUT",
        "GORGIAS_SESSION_LIFETIME",
        "GORGIAS_ADMIN_PASSWORD_HASH",
        "GORGIAS_METRICS_TOKEN",
        "GORGIAS_LOGIN_RATE",
        "GORGIAS_INSTALL_RATE",
        "GORGIAS_LOGIN_CONCURRENCY",
        "GORGIAS_PROXY_FIX",
        "GORGIAS_PROXY_HEADERS",
    ):
        assert name in text, name
    assert "not a password hash" in text and "number of proxies" in text
    for secret in ("tooshort", "hunter2hunter2", "t" * 23):
        assert secret not in text


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        ({"GORGIAS_ADMIN_USER": "ops"}, "set both"),
        ({"GORGIAS_ADMIN_PASSWORD_HASH": HASH}, "set both"),
        ({"GORGIAS_PROXY_FIX": "6"}, "0-5"),
        ({"GORGIAS_PROXY_FIX": "-1"}, "0-5"),
        ({"GORGIAS_PROXY_FIX": "1", "GORGIAS_PROXY_HEADERS": ""}, "for"),  # empty: the default
        ({"GORGIAS_PROXY_HEADERS": "x-forwarded-prefix"}, "GORGIAS_PROXY_HEADERS"),
        ({"GORGIAS_LOGIN_RATE": "10 per fortnight"}, "GORGIAS_LOGIN_RATE"),
        ({"GORGIAS_LOGIN_RATE": "10 per 0 minutes"}, "GORGIAS_LOGIN_RATE"),
        ({"GORGIAS_LOGIN_USER_RATE": "1e9 per day"}, "GORGIAS_LOGIN_USER_RATE"),
        ({"GORGIAS_SESSION_LIFETIME": "600", "GORGIAS_SESSION_IDLE_TIMEOUT": "900"}, "idle"),
    ],
    ids=[
        "user-only",
        "hash-only",
        "proxy-six",
        "proxy-negative",
        "proxy-empty-headers-ok",
        "proxy-unknown-header",
        "rate-unit",
        "rate-zero-period",
        "rate-float",
        "idle-beyond-lifetime",
    ],
)
def test_bad_web_values_are_refused(values: dict[str, str], fragment: str) -> None:
    """Issue 9 items 4, 5, 9: each bad value is a ConfigError naming the setting."""
    if fragment == "for":  # an empty GORGIAS_PROXY_HEADERS falls back to the default
        web = KitSettings.from_mapping({**VALID, **values}).web
        assert web.proxy_headers == frozenset({"for", "proto"})
        return
    with pytest.raises(ConfigError, match=fragment):
        KitSettings.from_mapping({**VALID, **values})


def test_proxy_headers_mean_nothing_without_proxy_fix() -> None:
    """Issue 9 item 9: with GORGIAS_PROXY_FIX=0 no forwarded header is trusted at all."""
    web = KitSettings.from_mapping({**VALID, "GORGIAS_PROXY_HEADERS": "host,prefix"}).web
    assert set(web.proxy_fix_options().values()) == {0}


def test_secrets_of_web_settings_stay_masked() -> None:
    """The hash, the metrics token and the fallback keys never show in a repr."""
    settings = KitSettings.from_mapping(
        {
            **VALID,
            "GORGIAS_ADMIN_USER": "ops",
            "GORGIAS_ADMIN_PASSWORD_HASH": HASH,
            "GORGIAS_METRICS_TOKEN": METRICS_TOKEN,
            "GORGIAS_SECRET_KEY_FALLBACKS": "f" * 40,
        }
    )
    shown = repr(settings)
    assert HASH not in shown and METRICS_TOKEN not in shown and "f" * 40 not in shown
