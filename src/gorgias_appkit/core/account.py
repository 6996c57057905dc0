"""Gorgias accounts: validate a subdomain and build its URLs from a URL template.

The ``account`` value arrives unsigned in a query string (gorgias-platform.md §1.3), so it is
hostile until :func:`parse_account` accepts it (SEC-01). Every URL the kit calls is built here,
and every built URL is parsed back and checked, so a template bug cannot send a secret elsewhere.
Stdlib only.
"""

from __future__ import annotations

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


def parse_account(value: object) -> str:
    """Return the canonical account name or raise :class:`InvalidAccount`.

    ASCII upper case is folded to lower case (DNS names are case-insensitive); anything
    else outside ``[a-z0-9-]``, a leading/trailing hyphen, or more than 63 characters is refused.
    """
    if not isinstance(value, str) or not value.isascii():
        raise InvalidAccount("the account must be a Gorgias subdomain such as 'acme'")
    name = value.lower()
    if not _LABEL.fullmatch(name):
        raise InvalidAccount("the account must be a Gorgias subdomain such as 'acme'")
    return name


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

    def base_url(self, account: str) -> str:
        """Return the account's base URL (also its expected OAuth issuer)."""
        name = parse_account(account)
        url = self.template.replace(PLACEHOLDER, name)
        expected = urlsplit(self.template.replace(PLACEHOLDER, "x"))
        got = urlsplit(url)
        # Defence in depth: the built URL must parse to the template's shape exactly.
        expected_host = expected.hostname
        if expected_host is None:  # parse() refuses such templates; never trust a bypass
            raise InvalidAccount("the URL template has no host")
        if PLACEHOLDER in urlsplit(self.template).netloc:
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

    def issuer(self, account: str) -> str:
        """Return the issuer expected in ``iss`` claims and callback parameters."""
        return self.base_url(account)

    def endpoint(self, account: str, path: str) -> str:
        """Return ``{base}{path}`` for an absolute ``path`` such as ``/oauth/token``."""
        if not path.startswith("/") or "//" in path or "\\" in path:
            raise ValueError("path must be absolute and clean")
        return self.base_url(account) + path

    @property
    def is_loopback(self) -> bool:
        """Tell whether this template points at this machine (the sandbox)."""
        host = urlsplit(self.template.replace(PLACEHOLDER, "x")).hostname or ""
        return is_loopback_host(host)


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
