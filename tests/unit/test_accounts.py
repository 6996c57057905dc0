"""SEC-01 and SEC-17: account validation and URL templates."""

from __future__ import annotations

import pytest

from gorgias_appkit import InvalidAccount
from gorgias_appkit import UrlTemplate
from gorgias_appkit import parse_account
from gorgias_appkit.errors import ConfigError

from ..hostile_inputs import HOSTILE_ACCOUNTS


@pytest.mark.parametrize("value", HOSTILE_ACCOUNTS)
def test_parse_account_rejects_hostile_values(value: str) -> None:
    """Every value on the SEC-01 list is refused before any URL is built."""
    with pytest.raises(InvalidAccount):
        parse_account(value)


@pytest.mark.parametrize("value", [None, 12, b"acme", ["acme"]])
def test_parse_account_rejects_non_strings(value: object) -> None:
    """Only strings can be accounts."""
    with pytest.raises(InvalidAccount):
        parse_account(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("acme", "acme"),
        ("ACME", "acme"),
        ("a", "a"),
        ("my-shop-2", "my-shop-2"),
        ("a" * 63, "a" * 63),
    ],
)
def test_parse_account_accepts_labels_and_folds_case(value: str, expected: str) -> None:
    """Valid DNS labels pass; ASCII upper case is folded (DNS is case-insensitive)."""
    assert parse_account(value) == expected


def test_host_template_builds_exact_urls() -> None:
    """The production template puts the account in the leftmost host label."""
    urls = UrlTemplate.parse("https://{account}.gorgias.com")
    assert urls.base_url("acme") == "https://acme.gorgias.com"
    assert urls.endpoint("acme", "/oauth/token") == "https://acme.gorgias.com/oauth/token"
    assert urls.issuer("acme") == "https://acme.gorgias.com"
    assert not urls.is_loopback


def test_path_template_for_the_sandbox() -> None:
    """A loopback template may carry the account in the path and use plain http."""
    urls = UrlTemplate.parse("http://127.0.0.1:8800/{account}")
    assert urls.base_url("acme") == "http://127.0.0.1:8800/acme"
    assert urls.is_loopback


@pytest.mark.parametrize(
    "template",
    [
        "http://{account}.gorgias.com",  # SEC-17: plain http off loopback
        "http://acme.example/{account}",
        "https://gorgias.com",  # no placeholder
        "https://{account}.{account}.com",
        "https://x{account}.gorgias.com",
        "https://{account}.gorgias.com?x=1",
        "https://user@{account}.gorgias.com",
        "ftp://{account}.gorgias.com",
        "https://h.com/{account}/api",
    ],
)
def test_bad_templates_are_refused(template: str) -> None:
    """Templates that could send a request anywhere else fail at start-up."""
    with pytest.raises(ConfigError):
        UrlTemplate.parse(template)


@pytest.mark.parametrize("value", HOSTILE_ACCOUNTS)
def test_url_building_revalidates_the_account(value: str) -> None:
    """A tampered account (e.g. read back from the database) never forms a URL."""
    urls = UrlTemplate.parse("https://{account}.gorgias.com")
    with pytest.raises(InvalidAccount):
        urls.base_url(value)
