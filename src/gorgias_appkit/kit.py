"""Kit: the one object partner code holds; it wires settings, store, OAuth and API together.

Usable without Flask: ``kit = Kit.from_env(); kit.access_token_for("acme")`` in a cron job.
Clock and HTTP transport are constructor arguments, so tests substitute, never patch.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from collections.abc import Mapping
from pathlib import Path

import httpx
from sqlalchemy import text

from .api.client import GorgiasClient
from .clock import Clock
from .clock import system_clock
from .config import KitSettings
from .devkeys import with_defaults
from .errors import InstallationNotFound
from .hooks import HookEvent
from .hooks import Hooks
from .hooks import LifecycleEvent
from .oauth.client import OAuthClient
from .oauth.idtoken import JwksCache
from .oauth.install import InstallFlow
from .oauth.install import InstallResult
from .redact import SCRUBBER
from .store.base import InstallEvent
from .store.base import Installation
from .store.crypto import Keyring
from .store.engine import make_engine
from .store.engine import upgrade
from .store.sql import SQLInstallationStore
from .store.sql import SQLStateStore
from .tokens import TokenManager


class Kit:
    """Everything an app needs to install into, and call, many Gorgias accounts."""

    def __init__(
        self,
        settings: KitSettings,
        *,
        http: httpx.Client | None = None,
        clock: Clock | None = None,
        migrate: bool = True,
    ) -> None:
        self.settings = settings
        self.clock = clock or system_clock()
        self.http = http or httpx.Client(
            timeout=httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout),
            follow_redirects=False,
        )
        SCRUBBER.register(settings.client_secret.reveal())
        self.engine = make_engine(settings.database_url)
        if migrate:
            upgrade(self.engine)
        keyring = Keyring(settings.encryption_keys)
        self.store = SQLInstallationStore(self.engine, keyring=keyring, clock=self.clock)
        self.states = SQLStateStore(self.engine, keyring=keyring, clock=self.clock)
        self.hooks = Hooks()
        self.oauth = OAuthClient(
            http=self.http,
            urls=settings.url_template,
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            clock=self.clock,
            auth_method=settings.token_auth_method,
            default_lifetime=settings.default_token_lifetime,
        )
        self.jwks = JwksCache(self.oauth, enabled=settings.id_token_jwks == "discover")
        self.tokens = TokenManager(
            store=self.store, oauth=self.oauth, clock=self.clock, hooks=self.hooks,
            leeway=settings.refresh_leeway,
        )
        self.install_flow = InstallFlow(
            settings=settings, oauth=self.oauth, store=self.store, states=self.states,
            jwks=self.jwks, clock=self.clock,
        )

    def __repr__(self) -> str:
        return f"Kit(client_id={self.settings.client_id!r}, store={self.store!r})"

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        instance_path: str | os.PathLike[str] | None = None,
        **kwargs: object,
    ) -> Kit:
        """Build a kit from ``GORGIAS_*`` variables (see the README's configuration table)."""
        env = os.environ if environ is None else environ
        folder = Path(instance_path or env.get("GORGIAS_INSTANCE_PATH") or "instance").resolve()
        settings = KitSettings.from_mapping(with_defaults(env, instance_path=folder))
        return cls(settings, **kwargs)  # type: ignore[arg-type]

    # -- install ---------------------------------------------------------------------------
    def begin_install(self, account: str, *, browser_id: str, return_to: str | None = None) -> str:
        """Return the authorize URL for ``account`` (see :class:`InstallFlow`)."""
        return self.install_flow.begin(account, browser_id=browser_id, return_to=return_to)

    def complete_install(
        self, query: Mapping[str, str], *, browser_id: str | None
    ) -> InstallResult:
        """Finish an install from the callback query and run the install hooks."""
        result = self.install_flow.complete(query, browser_id=browser_id)
        event = HookEvent.INSTALLED if result.is_new else HookEvent.REINSTALLED
        self.hooks.emit(LifecycleEvent(event, result.installation))
        return result

    # -- tokens and API --------------------------------------------------------------------
    def access_token_for(self, account: str) -> str:
        """Return a valid access token for ``account``, refreshed when due (single-flight)."""
        return self.tokens.access_token_for(account).reveal()

    def client_for(self, account: str) -> GorgiasClient:
        """Return an API client for ``account`` (works inside and outside requests)."""
        if self.store.find(account) is None:
            raise InstallationNotFound(f"no installation for {account!r}")
        return GorgiasClient(
            account, http=self.http, urls=self.settings.url_template, tokens=self.tokens,
            clock=self.clock,
        )

    def disconnect(self, account: str) -> Installation:
        """Make ``account``'s tokens unusable now and revoke them upstream."""
        return self.tokens.disconnect(account)

    # -- reading ---------------------------------------------------------------------------
    def installation(self, account: str) -> Installation | None:
        """Return the stored installation of ``account`` or ``None``."""
        return self.store.find(account)

    def installations(self) -> Iterator[Installation]:
        """Yield every installation, ordered by account."""
        return self.store.all()

    def history(self, account: str, *, limit: int = 50) -> list[InstallEvent]:
        """Return ``account``'s install history, newest first."""
        return self.store.history(account, limit=limit)

    def check_database(self) -> None:
        """Raise if the database does not answer (for health checks)."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def close(self) -> None:
        """Release the HTTP client and the database pool."""
        self.http.close()
        self.engine.dispose()
