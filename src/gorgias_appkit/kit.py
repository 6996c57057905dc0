"""Kit: the one object partner code holds; it wires settings, store, OAuth and API together.

Usable without Flask: ``kit = Kit.from_env(); kit.access_token_for("acme")`` in a cron job.
Clock and HTTP transport are constructor arguments, so tests substitute, never patch.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from pathlib import Path

import httpx
from sqlalchemy import text

from .api.budget import Priority
from .api.budget import RateBudget
from .api.client import GorgiasClient
from .api.objects import AccountObjects
from .core.clock import Clock
from .core.clock import system_clock
from .core.events import HookEvent
from .core.events import Hooks
from .core.events import LifecycleEvent
from .core.records import Installation
from .core.records import InstallEvent
from .core.retry import Backoff
from .core.secret import SCRUBBER
from .core.settings import KitSettings
from .errors import InstallationNotFound
from .oauth.client import TOKEN_BACKOFF
from .oauth.client import OAuthClient
from .oauth.idtoken import JwksCache
from .oauth.idtoken import validate_refreshed_id_token
from .oauth.install import InstallFlow
from .oauth.install import InstallResult
from .store.crypto import Keyring
from .store.engine import make_engine
from .store.engine import upgrade
from .store.instance import with_defaults
from .store.redis_buckets import RedisBucketStore
from .store.sql.buckets import SQLBucketStore
from .store.sql.installations import SQLInstallationStore
from .store.sql.installations import SQLStateStore
from .store.sql.ledger import SQLLedger
from .tokens.disconnect import RevocationReport
from .tokens.manager import RefreshReport
from .tokens.manager import TokenManager


class Kit:
    """Everything an app needs to install into, and call, many Gorgias accounts."""

    def __init__(
        self,
        settings: KitSettings,
        *,
        http: httpx.Client | None = None,
        clock: Clock | None = None,
        migrate: bool = True,
        token_backoff: Backoff | None = None,
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
            backoff=token_backoff or TOKEN_BACKOFF,  # issue 3: tests pass a fast one
        )
        discover = settings.id_token_jwks == "discover"  # noqa: S105 - a mode name
        self.jwks = JwksCache(self.oauth, enabled=discover)
        self.tokens = TokenManager(
            store=self.store,
            oauth=self.oauth,
            clock=self.clock,
            hooks=self.hooks,
            leeway=settings.refresh_leeway,
            id_token_check=self._check_refreshed_id_token,
        )
        self.install_flow = InstallFlow(
            settings=settings,
            oauth=self.oauth,
            store=self.store,
            states=self.states,
            jwks=self.jwks,
            clock=self.clock,
        )
        self.budget = RateBudget(  # issue 4: one leaky bucket per account for all processes
            RedisBucketStore(settings.redis_url)
            if settings.redis_url
            else SQLBucketStore(self.engine),
            clock=self.clock,
            capacity=settings.rate_limit,
            window=settings.rate_window,
            margin=settings.rate_margin,
            interactive_share=settings.rate_interactive_share,
        )

    def _check_refreshed_id_token(self, installation: Installation, id_token: str) -> None:
        # REL-08: full validation of a refreshed id_token against this account's issuer.
        validate_refreshed_id_token(
            id_token,
            issuer=self.settings.url_template.issuer(installation.account),
            client_id=self.settings.client_id,
            user_id=installation.user_id,
            now=self.clock.now(),
            leeway=self.settings.id_token_leeway,
            jwks=self.jwks,
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

    def client_for(
        self, account: str, *, priority: Priority = "interactive", deadline: float | None = None
    ) -> GorgiasClient:
        """Return an API client for ``account`` (works inside and outside requests).

        ``priority="background"`` leaves ``GORGIAS_RATE_INTERACTIVE_SHARE`` of the account's
        rate budget to interactive calls; ``deadline`` caps each call's seconds, waiting for
        budget included (:class:`RateLimited` past it, with nothing sent).
        """
        if self.store.find(account) is None:
            raise InstallationNotFound(f"no installation for {account!r}")
        return GorgiasClient(
            account,
            http=self.http,
            urls=self.settings.url_template,
            tokens=self.tokens,
            clock=self.clock,
            budget=self.budget,
            priority=priority,
            deadline=deadline,
        )

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
        """Release the HTTP client, the database pool and the Redis pool (if any)."""
        self.http.close()
        close_budget = getattr(self.budget.store, "close", None)
        if callable(close_budget):
            close_budget()
        self.engine.dispose()

    # -- issue 6: the ledger, disconnect with clean-up, operator actions -------------------
    @cached_property
    def ledger(self) -> SQLLedger:
        """Every object the app created per account (see :mod:`gorgias_appkit.lifecycle`)."""
        return SQLLedger(self.engine, clock=self.clock)

    @cached_property
    def objects(self) -> AccountObjects:
        """Create objects in an account so that :meth:`disconnect` removes them again."""
        return AccountObjects(ledger=self.ledger, client_for=self.client_for)

    def disconnect(self, account: str) -> Installation:
        """Remove the app's objects from ``account`` while the token works, then revoke.

        If the clean-up stops (:class:`CleanupIncomplete`), the installation is left as it was
        and calling again resumes. An installation that already lost access cannot clean up:
        its objects stay recorded (and are reused by a reinstall) and its tokens are dropped.
        """
        installation = self.store.find(account)
        if installation is None:
            raise InstallationNotFound(f"no installation for {account!r}")
        token = installation.tokens.access_token.fingerprint() if installation.tokens else None
        if installation.status.usable:
            self.objects.remove_all(account)
        elif left := len(self.ledger.live(account)):
            _log.warning(
                "%d object(s) left in the account: access was lost before clean-up",
                left,
                extra={"account": account, "event": "cleanup_skipped"},
            )
        updated = self.tokens.disconnect(account)
        _log.info(
            "disconnected", extra={"account": account, "event": "disconnected", "token_fp": token}
        )
        return updated

    def refresh_now(self, account: str) -> Installation:
        """Refresh ``account``'s tokens now, even if they are not due (operators)."""
        installation = self.store.find(account)
        stale = installation.tokens.access_token if installation and installation.tokens else None
        fresh = self.tokens.access_token_for(account, stale=stale)
        _log.info(
            "refresh forced",
            extra={"account": account, "event": "refresh_forced", "token_fp": fresh.fingerprint()},
        )
        updated = self.store.find(account)
        if updated is None:  # purged meanwhile
            raise InstallationNotFound(f"no installation for {account!r}")
        return updated

    def purge(self, account: str) -> Purged:
        """Forget every stored trace of ``account``: installation, history, ledger rows."""
        forgotten = Purged(
            account=account,
            installation=self.store.delete(account),
            ledger_rows=self.ledger.purge(account),
        )
        _log.info("purged", extra={"account": account, "event": "purged"})
        return forgotten

    # -- issue 3: background refresh and the revocation queue ------------------------------
    def accounts_due(self, *, within: float) -> list[str]:
        """Usable accounts whose access token expires within ``within`` seconds, soonest first."""
        return self.store.accounts_due(self.clock.now() + timedelta(seconds=within))

    def refresh_if_due(self, account: str, *, within: float) -> RefreshReport:
        """Refresh ``account`` if still due once its lock is held (safe beside web workers)."""
        return self.tokens.refresh_if_due(account, within=within)

    def refresh_due(self, *, within: float) -> list[RefreshReport]:
        """Refresh every usable installation expiring within ``within`` seconds (REL-12)."""
        return [self.refresh_if_due(a, within=within) for a in self.accounts_due(within=within)]

    def retry_pending_revocations(self) -> RevocationReport:
        """Retry upstream revocations that failed transiently and are due again (REL-10)."""
        return self.tokens.retry_pending_revocations()


@dataclass(frozen=True, slots=True, kw_only=True)
class Purged:
    """What :meth:`Kit.purge` forgot."""

    account: str
    installation: bool
    ledger_rows: int


_log = logging.getLogger("gorgias_appkit.kit")
