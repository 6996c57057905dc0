"""Gorgias accounts: the :class:`Account` value, and :class:`UrlTemplate`, the only URL builder.

The ``account`` value arrives unsigned in a query string (gorgias-platform.md §1.3), so it is
hostile until :func:`parse_account` turns it into an :class:`Account` (SEC-01). Each edge (the
web views, the CLI arguments, the ``Kit`` methods partner code calls) parses once; every layer
below takes an :class:`Account` and never validates again. Every Gorgias URL the kit calls is
built by :class:`UrlTemplate`, and every built URL is parsed back and checked, so a template bug
cannot send a secret elsewhere. Stdlib only.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..errors import ConfigError
from ..errors import InvalidAccount

# An RFC 1123 DNS label: what a Gorgias subdomain can be (SEC-01).
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", re.ASCII)
PLACEHOLDER = "{account}"
DEFAULT_URL_TEMPLATE = "https://{account}.gorgias.com"
GORGIAS_DOMAIN = "gorgias.com"
_REFUSED = "the account must be a Gorgias subdomain such as 'acme'"


class Account(str):
    """A validated Gorgias account name (the subdomain of ``{account}.gorgias.com``).

    A ``str`` so that it is a dict key, a SQL parameter and a log field as it is; constructing
    one validates it, so holding an ``Account`` means the check already ran.
    """

    __slots__ = ()

    def __new__(cls, value: object) -> Account:
        if isinstance(value, Account):
            return value
        if not isinstance(value, str) or not value.isascii():
            raise InvalidAccount(_REFUSED)
        name = value.lower()  # DNS names are case-insensitive
        if not _LABEL.fullmatch(name):
            raise InvalidAccount(_REFUSED)
        return super().__new__(cls, name)


def parse_account(value: object) -> Account:
    """Return the canonical :class:`Account` or raise :class:`InvalidAccount`.

    ASCII upper case is folded to lower case; anything else outside ``[a-z0-9-]``, a leading or
    trailing hyphen, or more than 63 characters is refused.
    """
    return Account(value)


def account_from_input(value: object) -> Account:
    """Read what a merchant typed or pasted into an install form; strict after normalising.

    Surrounding blanks are trimmed and a Gorgias address (``acme.gorgias.com``,
    ``https://acme.gorgias.com/app``) gives its account label; everything else must be a bare
    subdomain, so ``acme.evil.com`` or ``https://acme.gorgias.com.evil.com`` are still refused.
    """
    if not isinstance(value, str):
        raise InvalidAccount(_REFUSED)
    text = value.strip()
    if "/" in text or ":" in text:
        parts = urlsplit(text if "//" in text else "//" + text)
        if parts.scheme not in ("", "http", "https") or parts.username or parts.password:
            raise InvalidAccount(_REFUSED)
        if parts.port is not None or parts.query or parts.fragment:
            raise InvalidAccount(_REFUSED)
        text = parts.hostname or ""
    label, dot, rest = text.lower().rstrip(".").partition(".")
    if dot and rest != GORGIAS_DOMAIN:
        raise InvalidAccount(_REFUSED)
    return Account(label)


def is_loopback_host(host: str) -> bool:
    """Tell whether ``host`` names this machine (the only place plain http is allowed)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class UrlTemplate:
    """Where an account lives: ``{account}`` stands in the host or in the path.

    ``https://{account}.gorgias.com`` is production; ``http://127.0.0.1:8800/{account}`` is the
    sandbox. Plain http is accepted only for loopback hosts (SEC-17).
    """

    template: str

    @classmethod
    def parse(cls, template: str) -> UrlTemplate:
        """Validate a template or raise :class:`ConfigError` with every problem."""
        problems = _template_problems(template)
        if problems:
            raise ConfigError([f"GORGIAS_URL_TEMPLATE: {p}" for p in problems])
        return cls(template.rstrip("/"))

    def base_url(self, account: Account) -> str:
        """Return the account's base URL (also its expected OAuth issuer)."""
        # defence in depth: a plain str is checked here too
        return _checked_base_url(self.template, Account(account))

    def issuer(self, account: Account) -> str:
        """Return the issuer expected in ``iss`` claims and callback parameters."""
        return self.base_url(account)

    def endpoint(self, account: Account, path: str) -> str:
        """Return ``{base}{path}`` for an absolute ``path`` such as ``/oauth/token``."""
        if not path.startswith("/") or "//" in path or "\\" in path or ".." in path:
            raise ValueError("path must be absolute and clean")
        return self.base_url(account) + path

    def api_url(self, account: Account, path: str) -> str:
        """Return the REST API URL of ``path`` (``/tickets`` → ``{base}/api/tickets``)."""
        return self.endpoint(account, "/api" + path)

    def discovery_url(self, account: Account) -> str:
        """Return the account's OpenID discovery document URL."""
        return self.endpoint(account, "/.well-known/openid-configuration")

    @property
    def is_loopback(self) -> bool:
        """Tell whether this template points at this machine (the sandbox)."""
        host = urlsplit(self.template.replace(PLACEHOLDER, "x")).hostname or ""
        return is_loopback_host(host)

    @property
    def display(self) -> str:
        """The template as shown to a merchant, e.g. ``https://[acme].gorgias.com``."""
        return self.template.replace(PLACEHOLDER, "[account]")


@functools.lru_cache(maxsize=16_384)
def _checked_base_url(template: str, name: Account) -> str:
    """Build and check ``name``'s base URL once; the API client asks for it on every call."""
    url = template.replace(PLACEHOLDER, name)
    expected = urlsplit(template.replace(PLACEHOLDER, "x"))
    got = urlsplit(url)
    # The built URL must parse to the template's shape exactly.
    expected_host = expected.hostname
    if expected_host is None:  # parse() refuses such templates; never trust a bypass
        raise InvalidAccount("the URL template has no host")
    if PLACEHOLDER in urlsplit(template).netloc:
        expected_host = expected_host.replace("x", name, 1)
    if (
        got.hostname != expected_host
        or (got.scheme, got.port) != (expected.scheme, expected.port)
        or got.username
        or got.password
        or got.query
        or got.fragment
    ):
        raise InvalidAccount("the account does not form a valid URL")
    return url


def _template_problems(template: str) -> list[str]:
    if template.count(PLACEHOLDER) != 1:
        return ["must contain '{account}' exactly once"]
    parts = urlsplit(template.replace(PLACEHOLDER, "x"))
    problems = []
    if parts.scheme not in ("https", "http"):
        problems.append("must start with https://")
    host = parts.hostname or ""
    if not host:
        problems.append("has no host")
    if parts.scheme == "http" and host and not is_loopback_host(host):
        problems.append("plain http is only allowed for loopback hosts (127.0.0.1, localhost)")
    if parts.username or parts.password or parts.query or parts.fragment:
        problems.append("must not contain user info, a query or a fragment")
    raw_netloc = urlsplit(template).netloc
    if PLACEHOLDER in raw_netloc and not raw_netloc.startswith(PLACEHOLDER + "."):
        problems.append("'{account}' in the host must be the leftmost label")
    if PLACEHOLDER not in raw_netloc and not parts.path.endswith("/x"):
        problems.append("'{account}' in the path must be the last path segment")
    return problems
