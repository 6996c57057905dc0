"""The settings of the Flask side: sessions, operator login, throttles, trusted proxy headers.

:class:`WebSettings` is ``KitSettings.web``; :func:`parse_web` reads it with the same parser,
so its problems come out in the one :class:`ConfigError` of every other setting.
Stdlib only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .secret import Secret

if TYPE_CHECKING:
    from .settings import _Parser

PROXY_HEADERS = ("for", "proto", "host", "port", "prefix")
DEFAULT_PROXY_HEADERS = frozenset({"for", "proto"})
MAX_PROXIES = 5
_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
# "10 per 15 minutes", "20/hour", "5 per minute": the notation of the `limits` library.
_RATE = re.compile(r"(\d{1,7})\s*(?:/|\s+per\s+)\s*(\d{1,6})?\s*(second|minute|hour|day)s?")
_HASH_METHODS = ("scrypt", "pbkdf2")


def looks_like_password_hash(value: str) -> bool:
    """Tell whether ``value`` has the shape of a ``werkzeug.security`` password hash."""
    method, _, rest = value.partition("$")
    return method.split(":")[0] in _HASH_METHODS and rest.count("$") == 1


@dataclass(frozen=True, slots=True)
class Rate:
    """At most ``amount`` hits per ``seconds`` (a fixed window)."""

    amount: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> Rate | None:
        """Read ``"N per [M] unit"`` or ``"N/[M]unit"``; ``None`` if it is neither."""
        match = _RATE.fullmatch(text.strip().lower())
        if match is None:
            return None
        amount, multiple, unit = int(match[1]), int(match[2] or 1), match[3]
        if amount < 1 or multiple < 1:
            return None
        return cls(amount, multiple * _UNITS[unit])

    def __str__(self) -> str:
        return f"{self.amount} per {self.seconds} seconds"


@dataclass(frozen=True, slots=True, kw_only=True)
class WebSettings:
    """Everything the Flask glue needs beyond the kit; defaults are the documented ones."""

    secret_key_fallbacks: tuple[Secret, ...] = ()
    session_idle_timeout: float = 8 * 3600.0
    session_lifetime: float = 7 * 86400.0
    admin_user: str = ""
    admin_password_hash: Secret | None = None
    admin_login_ttl: float = 8 * 3600.0
    metrics_token: Secret | None = None
    login_rate: Rate = Rate(10, 900)  # login attempts per client address
    login_user_rate: Rate = Rate(30, 3600)  # failed logins per user name
    install_rate: Rate = Rate(20, 60)  # /oauth/install starts per client address
    login_concurrency: int = 2  # password-hash checks at once, per process
    proxy_fix: int = 0
    proxy_headers: frozenset[str] = DEFAULT_PROXY_HEADERS

    @property
    def admin_configured(self) -> bool:
        """Whether the operator set up an admin login."""
        return bool(self.admin_user and self.admin_password_hash)

    def proxy_fix_options(self) -> dict[str, int]:
        """Werkzeug ``ProxyFix`` arguments: the hop count for each trusted header, else 0."""
        return {
            f"x_{name}": self.proxy_fix if name in self.proxy_headers else 0
            for name in PROXY_HEADERS
        }


def parse_web(parser: _Parser) -> WebSettings:
    """Read every ``WebSettings`` field; problems go to ``parser.problems``."""
    idle = parser.number("GORGIAS_SESSION_IDLE_TIMEOUT", 8 * 3600.0, minimum=60)
    lifetime = parser.number("GORGIAS_SESSION_LIFETIME", 7 * 86400.0, minimum=300)
    if idle > lifetime:
        parser.problems.append(
            "GORGIAS_SESSION_IDLE_TIMEOUT (idle) must not be longer than GORGIAS_SESSION_LIFETIME"
        )
    user, hashed = _admin(parser)
    return WebSettings(
        secret_key_fallbacks=_fallbacks(parser),
        session_idle_timeout=idle,
        session_lifetime=lifetime,
        admin_user=user,
        admin_password_hash=hashed,
        admin_login_ttl=parser.number("GORGIAS_ADMIN_LOGIN_TTL", 8 * 3600.0, minimum=60),
        metrics_token=_metrics_token(parser),
        login_rate=_rate(parser, "GORGIAS_LOGIN_RATE", Rate(10, 900)),
        login_user_rate=_rate(parser, "GORGIAS_LOGIN_USER_RATE", Rate(30, 3600)),
        install_rate=_rate(parser, "GORGIAS_INSTALL_RATE", Rate(20, 60)),
        login_concurrency=int(
            parser.number(
                "GORGIAS_LOGIN_CONCURRENCY", 2, minimum=1, maximum=64, unit="a number of checks"
            )
        ),
        proxy_fix=_proxy_fix(parser),
        proxy_headers=_proxy_headers(parser),
    )


def _fallbacks(parser: _Parser) -> tuple[Secret, ...]:
    raw = parser.get("GORGIAS_SECRET_KEY_FALLBACKS")
    keys = []
    for index, item in enumerate((i.strip() for i in raw.split(",") if raw), start=1):
        if len(item) < 32:
            parser.problems.append(
                f"GORGIAS_SECRET_KEY_FALLBACKS key #{index} must be at least 32 characters"
            )
            continue
        keys.append(Secret(item))
    return tuple(keys)


def _admin(parser: _Parser) -> tuple[str, Secret | None]:
    user = parser.get("GORGIAS_ADMIN_USER")
    hashed = parser.get("GORGIAS_ADMIN_PASSWORD_HASH")
    if bool(user) != bool(hashed):
        parser.problems.append(
            "set both GORGIAS_ADMIN_USER and GORGIAS_ADMIN_PASSWORD_HASH, or neither"
        )
        return "", None
    if hashed and not looks_like_password_hash(hashed):
        parser.problems.append(
            "GORGIAS_ADMIN_PASSWORD_HASH is not a password hash (a plain password?): "
            "`gorgias-appkit admin password-hash` prints one"
        )
        return "", None
    return user, Secret(hashed) if hashed else None


def _metrics_token(parser: _Parser) -> Secret | None:
    token = parser.get("GORGIAS_METRICS_TOKEN")
    if token and len(token) < 24:
        parser.problems.append("GORGIAS_METRICS_TOKEN must be at least 24 random characters")
        return None
    return Secret(token) if token else None


def _rate(parser: _Parser, name: str, default: Rate) -> Rate:
    raw = parser.get(name)
    if not raw:
        return default
    rate = Rate.parse(raw)
    if rate is None:
        parser.problems.append(
            f"{name} must read like '10 per 15 minutes' or '20/hour' "
            f"(second, minute, hour, day), got {raw[:40]!r}"
        )
        return default
    return rate


def _proxy_fix(parser: _Parser) -> int:
    raw = parser.get("GORGIAS_PROXY_FIX", "0")
    if not raw.isdigit() or int(raw) > MAX_PROXIES:
        parser.problems.append(
            f"GORGIAS_PROXY_FIX must be the number of proxies in front of the app "
            f"(0-{MAX_PROXIES}), got {raw[:20]!r}"
        )
        return 0
    return int(raw)


def _proxy_headers(parser: _Parser) -> frozenset[str]:
    raw = parser.get("GORGIAS_PROXY_HEADERS")
    if not raw:
        return DEFAULT_PROXY_HEADERS
    names = {item.strip().lower() for item in raw.split(",") if item.strip()}
    unknown = sorted(names - set(PROXY_HEADERS))
    if unknown:
        parser.problems.append(
            f"GORGIAS_PROXY_HEADERS may list {', '.join(PROXY_HEADERS)}; "
            f"unknown: {', '.join(repr(u[:20]) for u in unknown)}"
        )
        return DEFAULT_PROXY_HEADERS
    return frozenset(names)
