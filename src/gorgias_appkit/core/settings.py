"""Settings: one frozen record, parsed from a string mapping, every problem reported at once.

The library never reads ``os.environ`` itself; :meth:`KitSettings.from_mapping` takes whatever
mapping the entry point hands it (the environment, ``app.config``, a test dict). Stdlib only.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from urllib.parse import urlsplit

from ..errors import ConfigError
from ..errors import InvalidAccount
from .account import DEFAULT_URL_TEMPLATE
from .account import UrlTemplate
from .account import is_loopback_host
from .account import parse_account
from .deadline import DEFAULT_REQUEST_DEADLINE
from .inbound_settings import QUEUE_SCHEMES
from .inbound_settings import InboundSettings
from .secret import Secret
from .web_settings import WebSettings
from .web_settings import looks_like_password_hash
from .web_settings import parse_web

__all__ = ["KitSettings", "WebSettings", "looks_like_password_hash"]

# Granular scopes a typical app needs (gorgias-platform.md §2); `offline` gives a refresh
# token, `openid` an id_token we can check. `write:all` is deprecated and refused.
DEFAULT_SCOPES = (
    "openid",
    "email",
    "profile",
    "offline",
    "account:read",
    "users:read",
    "customers:read",
    "tickets:read",
    "tickets:write",
    "integrations:read",
    "integrations:write",
)
CALLBACK_PATH = "/oauth/callback"
MODES = ("production", "development")
TOKEN_AUTH_METHODS = ("client_secret_basic", "client_secret_post")
ID_TOKEN_JWKS_MODES = ("discover", "off")
# A refresh holds the installation's database lock while it waits for the token endpoint;
# siblings wait 30 s for that lock, so one token request never waits longer than this.
MAX_TOKEN_WAIT = 25.0
# Another process's disconnect is seen by this one within the token cache's age: keep it short.
MAX_TOKEN_CACHE = 300.0


@dataclass(frozen=True, slots=True, kw_only=True)
class KitSettings:
    """Everything the kit needs to run; defaults are the documented defaults."""

    client_id: str
    client_secret: Secret
    app_url: str
    database_url: str
    encryption_keys: tuple[Secret, ...]
    url_template: UrlTemplate = field(default_factory=lambda: UrlTemplate(DEFAULT_URL_TEMPLATE))
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    secret_key: Secret | None = None
    mode: str = "production"
    allowed_accounts: frozenset[str] = frozenset()
    refresh_leeway: float = 300.0
    state_ttl: float = 600.0
    default_token_lifetime: float = 86400.0
    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    # The token endpoint gets its own, longer patience: an answer given up on may have been
    # acted on, and a code or a rotating refresh token is never sent twice (REL-06).
    token_connect_timeout: float = 5.0
    token_read_timeout: float = 20.0
    # Everything a browser request waits on ends by this many seconds (core/deadline.py).
    request_deadline: float = DEFAULT_REQUEST_DEADLINE
    token_auth_method: str = "client_secret_basic"  # noqa: S105 - a method name, not a secret
    id_token_jwks: str = "discover"  # noqa: S105 - a mode name, not a secret
    id_token_leeway: float = 120.0
    # Rate budget per account, shared by every process (api/budget.py).
    redis_url: Secret | None = None
    rate_limit: int = 80
    rate_window: float = 20.0
    rate_interactive_share: float = 0.25
    rate_margin: int = 2
    # The Flask side: sessions, operator login, throttles, trusted proxy headers.
    web: WebSettings = field(default_factory=WebSettings)
    # The inbound half (Gorgias calling the app): inbound/ and web/inbound.py.
    inbound: InboundSettings = field(default_factory=InboundSettings)
    # Operating at scale (docs/deploying.md): how long a process reuses an access
    # token it read (tokens/cache.py) and when a pooled database connection is pinged first.
    token_cache_seconds: float = 10.0
    db_ping_after_idle: float = 30.0

    @property
    def redirect_uri(self) -> str:
        """The exact redirect_uri sent in both the authorize and the token request."""
        return self.app_url + CALLBACK_PATH

    @property
    def is_development(self) -> bool:
        """Development mode allows generated keys and plain-http loopback app URLs."""
        return self.mode == "development"

    @property
    def offline_access(self) -> bool:
        """Whether a refresh token will be requested (SEC-19)."""
        return "offline" in self.scopes

    def account_allowed(self, account: str) -> bool:
        """Tell whether installs into ``account`` are enabled (empty list: all accounts)."""
        return not self.allowed_accounts or account in self.allowed_accounts

    @classmethod
    def from_mapping(cls, values: Mapping[str, str], *, web_app: bool = False) -> KitSettings:
        """Parse ``GORGIAS_*`` string values; raise one :class:`ConfigError` with every problem.

        ``web_app``: the settings serve a web app, which needs ``GORGIAS_SECRET_KEY`` to sign
        its cookies (reported with the other problems, not in a later round).
        """
        parser = _Parser(values)
        settings = parser.build()
        if web_app and not parser.get("GORGIAS_SECRET_KEY"):
            parser.problems.append(
                "GORGIAS_SECRET_KEY is required (32+ random characters) to sign sessions"
            )
        if parser.problems or settings is None:
            raise ConfigError(parser.problems or ["the configuration could not be read"])
        return settings


class _Parser:
    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = values
        self.problems: list[str] = []

    def get(self, name: str, default: str = "") -> str:
        raw = self.values.get(name)
        return default if raw is None or str(raw).strip() == "" else str(raw).strip()

    def required(self, name: str) -> str:
        value = self.get(name)
        if not value:
            self.problems.append(f"{name} is required")
        return value

    def number(
        self,
        name: str,
        default: float,
        *,
        minimum: float = 0.0,
        maximum: float | None = None,
        unit: str = "a number of seconds",
    ) -> float:
        raw = self.get(name)
        if not raw:
            return default
        try:
            value = float(raw)
        except ValueError:
            self.problems.append(f"{name} must be {unit}, got {raw!r}")
            return default
        if value < minimum:
            self.problems.append(f"{name} must be at least {minimum:g}")
            return default
        if maximum is not None and value > maximum:
            self.problems.append(f"{name} must be at most {maximum:g}")
            return default
        return value

    def choice(self, name: str, default: str, options: tuple[str, ...]) -> str:
        value = self.get(name, default).lower()
        if value not in options:
            self.problems.append(f"{name} must be one of {', '.join(options)}, got {value!r}")
            return default
        return value

    def build(self) -> KitSettings | None:
        mode = self.choice("GORGIAS_MODE", "production", MODES)
        client_id = self.required("GORGIAS_CLIENT_ID")
        client_secret = self.required("GORGIAS_CLIENT_SECRET")
        app_url = self.app_url(mode)
        template = self.template()
        scopes = self.scopes()
        database_url = self.get("GORGIAS_DATABASE_URL")
        if not database_url:
            self.problems.append("GORGIAS_DATABASE_URL is required (the app sets a default)")
        keys = self.keys(mode)
        secret_key = self.get("GORGIAS_SECRET_KEY")
        if secret_key and len(secret_key) < 32:
            self.problems.append("GORGIAS_SECRET_KEY must be at least 32 characters")
        return KitSettings(
            client_id=client_id,
            client_secret=Secret(client_secret),
            app_url=app_url,
            database_url=database_url,
            encryption_keys=keys,
            url_template=template,
            scopes=scopes,
            secret_key=Secret(secret_key) if secret_key else None,
            mode=mode,
            allowed_accounts=self.allowed(),
            refresh_leeway=self.number("GORGIAS_REFRESH_LEEWAY", 300.0),
            state_ttl=self.number("GORGIAS_STATE_TTL", 600.0, minimum=30.0),
            default_token_lifetime=self.number(
                "GORGIAS_DEFAULT_TOKEN_LIFETIME", 86400.0, minimum=60
            ),
            connect_timeout=self.number("GORGIAS_CONNECT_TIMEOUT", 5.0, minimum=0.1),
            read_timeout=self.number("GORGIAS_READ_TIMEOUT", 15.0, minimum=0.1),
            token_connect_timeout=self.number(
                "GORGIAS_TOKEN_CONNECT_TIMEOUT", 5.0, minimum=0.1, maximum=MAX_TOKEN_WAIT
            ),
            token_read_timeout=self.number(
                "GORGIAS_TOKEN_READ_TIMEOUT", 20.0, minimum=0.1, maximum=MAX_TOKEN_WAIT
            ),
            request_deadline=self.number(
                "GORGIAS_REQUEST_DEADLINE", DEFAULT_REQUEST_DEADLINE, minimum=0.5, maximum=120
            ),
            token_auth_method=self.choice(
                "GORGIAS_TOKEN_AUTH_METHOD", "client_secret_basic", TOKEN_AUTH_METHODS
            ),
            id_token_jwks=self.choice("GORGIAS_ID_TOKEN_JWKS", "discover", ID_TOKEN_JWKS_MODES),
            **self.rate_budget(),
            web=parse_web(self),
            inbound=self.inbound(),
            **self.scale(),
        )

    def scale(self) -> dict[str, Any]:
        return {
            "token_cache_seconds": self.number(
                "GORGIAS_TOKEN_CACHE_SECONDS", 10.0, maximum=MAX_TOKEN_CACHE
            ),
            "db_ping_after_idle": self.number("GORGIAS_DB_PING_AFTER_IDLE", 30.0),
        }

    def rate_budget(self) -> dict[str, Any]:
        redis_url = self.get("GORGIAS_REDIS_URL")
        if redis_url and not redis_url.startswith(("redis://", "rediss://", "unix://")):
            self.problems.append("GORGIAS_REDIS_URL must be a redis://, rediss:// or unix:// URL")
        limit = self.number("GORGIAS_RATE_LIMIT", 80, minimum=2, unit="a number of requests")
        share = self.number("GORGIAS_RATE_INTERACTIVE_SHARE", 0.25, unit="a share such as 0.25")
        if share > 0.9:
            self.problems.append("GORGIAS_RATE_INTERACTIVE_SHARE must be between 0 and 0.9")
            share = 0.25
        margin = self.number("GORGIAS_RATE_MARGIN", 2, unit="a number of requests")
        if margin >= limit:
            self.problems.append("GORGIAS_RATE_MARGIN must be smaller than GORGIAS_RATE_LIMIT")
            margin = 2
        if limit != int(limit) or margin != int(margin):
            self.problems.append("GORGIAS_RATE_LIMIT and GORGIAS_RATE_MARGIN are whole requests")
        return {
            "redis_url": Secret(redis_url) if redis_url else None,
            "rate_limit": int(limit),
            "rate_window": self.number("GORGIAS_RATE_WINDOW", 20.0, minimum=0.1),
            "rate_interactive_share": share,
            "rate_margin": int(margin),
        }

    def inbound(self) -> InboundSettings:
        return InboundSettings(
            deadline=self.number("GORGIAS_INBOUND_DEADLINE", 8.0, minimum=0.5, maximum=60.0),
            key_grace=self.number("GORGIAS_INBOUND_KEY_GRACE", 3600.0, maximum=30 * 86400.0),
            at_risk=int(self.number("GORGIAS_INBOUND_AT_RISK", 10, minimum=1, maximum=99)),
            queue_url=self.queue_url(),
            max_attempts=int(self.number("GORGIAS_EVENT_MAX_ATTEMPTS", 8, minimum=1, maximum=50)),
            retry_base=self.number("GORGIAS_EVENT_RETRY_BASE", 10.0, minimum=0.01),
            retry_cap=self.number("GORGIAS_EVENT_RETRY_CAP", 3600.0, minimum=0.01),
            lease=self.number("GORGIAS_EVENT_LEASE", 300.0, minimum=1.0),
            sweep_after=self.number("GORGIAS_EVENT_SWEEP_AFTER", 60.0, minimum=0.0),
        )

    def queue_url(self) -> str:
        raw = self.get("GORGIAS_QUEUE_URL")
        if raw and not raw.startswith(QUEUE_SCHEMES):
            self.problems.append(
                "GORGIAS_QUEUE_URL must start with one of " + ", ".join(QUEUE_SCHEMES)
            )
            return ""
        return raw

    def app_url(self, mode: str) -> str:
        raw = self.required("GORGIAS_APP_URL")
        if not raw:
            return ""
        parts = urlsplit(raw)
        host = parts.hostname or ""
        if parts.scheme not in ("https", "http") or not host:
            self.problems.append(f"GORGIAS_APP_URL must be an absolute https URL, got {raw!r}")
        elif parts.scheme == "http" and not is_loopback_host(host):
            self.problems.append("GORGIAS_APP_URL must use https (http only for loopback hosts)")
        if parts.query or parts.fragment or parts.username:
            self.problems.append("GORGIAS_APP_URL must not contain a query, fragment or user info")
        return raw.rstrip("/")

    def template(self) -> UrlTemplate:
        try:
            return UrlTemplate.parse(self.get("GORGIAS_URL_TEMPLATE", DEFAULT_URL_TEMPLATE))
        except ConfigError as exc:
            self.problems.extend(exc.problems)
            return UrlTemplate(DEFAULT_URL_TEMPLATE)

    def scopes(self) -> tuple[str, ...]:
        raw = self.get("GORGIAS_SCOPES")
        if not raw:
            return DEFAULT_SCOPES
        scopes = tuple(dict.fromkeys(raw.replace(",", " ").split()))
        if "write:all" in scopes:
            self.problems.append("GORGIAS_SCOPES must not contain the deprecated 'write:all'")
        return scopes

    def keys(self, mode: str) -> tuple[Secret, ...]:
        raw = self.get("GORGIAS_ENCRYPTION_KEYS")
        if not raw:
            self.problems.append(
                "GORGIAS_ENCRYPTION_KEYS is required: generate one with "
                "`gorgias-appkit keys generate`"
            )
            return ()
        keys = []
        for index, item in enumerate(raw.split(","), start=1):
            item = item.strip()
            try:
                decoded = base64.urlsafe_b64decode(item.encode())
            except (binascii.Error, ValueError):
                decoded = b""
            if len(decoded) != 32:
                self.problems.append(
                    f"GORGIAS_ENCRYPTION_KEYS key #{index} is not 32 bytes of urlsafe base64"
                )
                continue
            keys.append(Secret(item))
        return tuple(keys)

    def allowed(self) -> frozenset[str]:
        raw = self.get("GORGIAS_ALLOWED_ACCOUNTS")
        names = set()
        for item in raw.replace(",", " ").split():
            try:
                names.add(parse_account(item))
            except InvalidAccount:
                self.problems.append(f"GORGIAS_ALLOWED_ACCOUNTS: {item!r} is not a subdomain")
        return frozenset(names)
