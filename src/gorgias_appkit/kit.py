"""Kit: the composition root. It builds the store, the OAuth and API clients and the services.

Partner code holds one object: ``kit = Kit.from_env(); kit.client_for("acme")``, with or
without Flask. Every public method parses the ``account`` it is given (an edge: partner code,
views and the CLI call it) and hands an :class:`Account` to the services, which hold the logic.
Clock, HTTP client and retry policies are constructor arguments, so tests substitute, never
patch.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from .api.auth import AccountAuth
from .api.auth import StaticBearer
from .api.budget import Priority
from .api.budget import RateBudget
from .api.client import GorgiasClient
from .api.objects import AccountObjects
from .core.account import Account
from .core.clock import Clock
from .core.clock import system_clock
from .core.events import HookEvent
from .core.events import Hooks
from .core.events import LifecycleEvent
from .core.records import Installation
from .core.records import InstallEvent
from .core.records import PurgeReport
from .core.retry import RetryPolicy
from .core.secret import SCRUBBER
from .core.secret import Secret
from .core.settings import KitSettings
from .errors import GorgiasAppError
from .errors import InstallationNotFound
from .inbound.declarations import Integrations
from .inbound.health import RepairResult
from .inbound.provision import SyncReport
from .inbound.wiring import build_inbound
from .oauth.client import TOKEN_RETRY
from .oauth.client import OAuthClient
from .oauth.discovery import JwksCache
from .oauth.idtoken import IdTokenVerifier
from .oauth.install import InstallFlow
from .oauth.install import InstallResult
from .store.crypto import Keyring
from .store.engine import current_revision
from .store.engine import make_engine
from .store.engine import ping
from .store.engine import require_schema
from .store.engine import upgrade
from .store.instance import instance_folder
from .store.instance import with_defaults
from .store.ports import BucketStore
from .store.sql.buckets import SQLBucketStore
from .store.sql.claims import SQLRefreshClaims
from .store.sql.inbound_events import SQLInboundEvents
from .store.sql.inbound_health import SQLInboundHealth
from .store.sql.inbound_keys import SQLInboundKeys
from .store.sql.installations import SQLInstallationStore
from .store.sql.ledger import SQLLedger
from .store.sql.revocations import SQLRevocationQueue
from .store.sql.sessions import SQLSessionStore
from .store.sql.states import SQLStateStore
from .store.sql.throttle import SQLThrottleStorage
from .tokens.cache import TokenCache
from .tokens.disconnect import Disconnected
from .tokens.disconnect import RevocationReport
from .tokens.disconnect import Revoker
from .tokens.lock import InstallationLock
from .tokens.manager import RefreshReport
from .tokens.manager import TokenManager
from .tokens.runner import RefreshRunner

if TYPE_CHECKING:
    from limits.storage import Storage as ThrottleStorage

log = logging.getLogger("gorgias_appkit.kit")


class Kit:
    """Everything an app needs to install into, and call, many Gorgias accounts."""

    def __init__(
        self,
        settings: KitSettings,
        *,
        http: httpx.Client | None = None,
        clock: Clock | None = None,
        migrate: bool = True,
        token_retry: RetryPolicy | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock or system_clock()
        self.http = http or httpx.Client(
            timeout=httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout),
            follow_redirects=False,
        )
        SCRUBBER.register(settings.client_secret.reveal())
        self.engine = make_engine(
            settings.database_url, ping_after_idle=settings.db_ping_after_idle
        )
        if migrate:
            upgrade(self.engine)
        keyring = Keyring(settings.encryption_keys)
        self.store = SQLInstallationStore(self.engine, keyring=keyring, clock=self.clock)
        self.states = SQLStateStore(self.engine, keyring=keyring, clock=self.clock)
        self.ledger = SQLLedger(self.engine, clock=self.clock)
        self.revocations = SQLRevocationQueue(self.engine, keyring=keyring, clock=self.clock)
        self.sessions = SQLSessionStore(
            self.engine,
            clock=self.clock,
            idle=settings.web.session_idle_timeout,
            lifetime=settings.web.session_lifetime,
        )
        self.throttle_storage = self._throttle_storage()
        self.claims = SQLRefreshClaims(self.engine, clock=self.clock)
        self.hooks = Hooks()
        self.token_cache = TokenCache(self.clock, max_age=settings.token_cache_seconds)
        self.lock = InstallationLock(self.store, self.hooks, on_release=self.token_cache.forget)
        self.oauth = OAuthClient(
            http=self.http,
            urls=settings.url_template,
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            clock=self.clock,
            auth_method=settings.token_auth_method,
            default_lifetime=settings.default_token_lifetime,
            policy=token_retry or TOKEN_RETRY,
            timeout=httpx.Timeout(
                settings.token_read_timeout, connect=settings.token_connect_timeout
            ),
        )
        discover = settings.id_token_jwks == "discover"  # noqa: S105 - a mode name
        self.jwks = JwksCache(self.oauth, enabled=discover)
        self.verifier = IdTokenVerifier(
            urls=settings.url_template,
            client_id=settings.client_id,
            clock=self.clock,
            jwks=self.jwks,
            leeway=settings.id_token_leeway,
        )
        self.tokens = TokenManager(
            store=self.store,
            lock=self.lock,
            oauth=self.oauth,
            clock=self.clock,
            verifier=self.verifier,
            leeway=settings.refresh_leeway,
            cache=self.token_cache,
        )
        self.revoker = Revoker(
            lock=self.lock, queue=self.revocations, oauth=self.oauth, clock=self.clock
        )
        self.budget = RateBudget(
            self._bucket_store(),
            clock=self.clock,
            capacity=settings.rate_limit,
            window=settings.rate_window,
            margin=settings.rate_margin,
            interactive_share=settings.rate_interactive_share,
        )
        self.install_flow = InstallFlow(
            settings=settings,
            oauth=self.oauth,
            verifier=self.verifier,
            store=self.store,
            states=self.states,
            api=self._confirming_client,
            discard=self.revoker,
            clock=self.clock,
        )
        self.objects = AccountObjects(ledger=self.ledger, client_for=self._client)
        self.inbound = build_inbound(
            self,
            key_store=SQLInboundKeys(self.engine, keyring=keyring, clock=self.clock),
            event_store=SQLInboundEvents(self.engine, clock=self.clock),
            health_store=SQLInboundHealth(self.engine, clock=self.clock),
        )

    def _bucket_store(self) -> BucketStore:
        if self.settings.redis_url is None:
            return SQLBucketStore(self.engine)
        from .store.redis_buckets import RedisBucketStore  # the redis extra, only when used

        return RedisBucketStore(self.settings.redis_url)

    def _throttle_storage(self) -> ThrottleStorage:
        # Login and install throttles: counted where every process sees it.
        if self.settings.redis_url is None:
            return SQLThrottleStorage(self.engine, clock=self.clock)
        from limits.storage import RedisStorage  # the redis extra, only when used

        return RedisStorage(
            self.settings.redis_url.reveal(),
            key_prefix=f"gorgias_appkit:throttle:{self.settings.client_id}",
            wrap_exceptions=True,
            socket_timeout=5,
            socket_connect_timeout=5,
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
        folder = Path(instance_path).resolve() if instance_path else instance_folder(env)
        settings = KitSettings.from_mapping(with_defaults(env, instance_path=folder))
        return cls(settings, **kwargs)  # type: ignore[arg-type]

    # -- install ---------------------------------------------------------------------------
    def begin_install(self, account: str, *, browser_id: str, return_to: str | None = None) -> str:
        """Return the authorize URL for ``account`` (see :class:`InstallFlow`)."""
        return self.install_flow.begin(Account(account), browser_id=browser_id, return_to=return_to)

    def complete_install(
        self, query: Mapping[str, str], *, browser_id: str | None
    ) -> InstallResult:
        """Finish an install from the callback query and run the install hooks."""
        result = self.install_flow.complete(query, browser_id=browser_id)
        self.token_cache.forget(result.installation.account)  # a reinstall's new tokens
        event = HookEvent.INSTALLED if result.is_new else HookEvent.REINSTALLED
        self.hooks.emit(LifecycleEvent(event, result.installation))
        return result

    # -- the inbound half (Gorgias calling the app) ----------------------------------------
    def declare(self, integrations: Integrations) -> None:
        """Use the app's declared integrations and widgets (:class:`ConfigError` if wrong).

        From now on every install and reinstall creates them in the account (with a fresh
        key), ``sync`` updates them and disconnect deletes them.
        """
        self.inbound.declare(integrations)

    def sync(self, account: str) -> SyncReport:
        """Make ``account``'s Gorgias objects match the declarations (a new app version)."""
        return self.inbound.sync(Account(account))

    def rotate_inbound_key(self, account: str) -> SyncReport:
        """A new key for ``account``'s integrations; the old one works for the grace period."""
        return self.inbound.rotate_key(Account(account))

    def repair(self, account: str) -> list[RepairResult]:
        """Reactivate ``account``'s integrations Gorgias deactivated, once the app answers."""
        return self.inbound.repair.repair(Account(account))

    # -- tokens and API --------------------------------------------------------------------
    def access_token_for(self, account: str) -> str:
        """Return a valid access token for ``account``, refreshed when due (single-flight)."""
        return self.tokens.access_token_for(Account(account)).reveal()

    def client_for(
        self, account: str, *, priority: Priority = "interactive", deadline: float | None = None
    ) -> GorgiasClient:
        """Return an API client for ``account`` (works inside and outside requests).

        ``priority="background"`` leaves ``GORGIAS_RATE_INTERACTIVE_SHARE`` of the account's
        rate budget to interactive calls; ``deadline`` caps each call's seconds, waiting for
        budget included (:class:`RateLimited` past it, with nothing sent).
        """
        name = Account(account)
        if not self.token_cache.holds(name) and self.store.find(name) is None:
            raise InstallationNotFound(f"no installation for {name!r}")
        return self._client(name, priority=priority, deadline=deadline)

    def _client(
        self,
        account: Account,
        *,
        priority: Priority = "interactive",
        deadline: float | None = None,
        auth: httpx.Auth | None = None,
    ) -> GorgiasClient:
        return GorgiasClient(
            account,
            http=self.http,
            urls=self.settings.url_template,
            auth=auth or AccountAuth(account, self.tokens),
            clock=self.clock,
            budget=self.budget,
            priority=priority,
            deadline=deadline,
        )

    def _confirming_client(self, account: Account, token: Secret) -> GorgiasClient:
        return self._client(account, auth=StaticBearer(token))

    # -- reading ---------------------------------------------------------------------------
    def installation(self, account: str) -> Installation | None:
        """Return the stored installation of ``account`` or ``None``."""
        return self.store.find(Account(account))

    def installations(self) -> Iterator[Installation]:
        """Yield every installation, ordered by account."""
        return self.store.all()

    def history(self, account: str, *, limit: int = 50) -> list[InstallEvent]:
        """Return ``account``'s install history, newest first."""
        return self.store.history(Account(account), limit=limit)

    def check_database(self) -> None:
        """Raise if the database does not answer (for health checks)."""
        ping(self.engine)

    def schema_revision(self) -> str | None:
        """The database schema's migration revision (``None`` before the first upgrade)."""
        return current_revision(self.engine)

    def require_schema(self) -> None:
        """Raise :class:`StoreError` unless the database exists at the newest schema."""
        require_schema(self.engine)

    def close(self) -> None:
        """Release the HTTP client, the database pool and the Redis pool (if any)."""
        self.inbound.close()
        self.http.close()
        close_budget = getattr(self.budget.store, "close", None)
        if callable(close_budget):
            close_budget()
        redis_client = getattr(self.throttle_storage, "storage", None)  # limits' RedisStorage
        if redis_client is not None:
            redis_client.close()
        self.engine.dispose()

    # -- operator actions ------------------------------------------------------------------
    def disconnect(self, account: str) -> Disconnected:
        """Remove the app's objects from ``account`` while the token works, then revoke.

        If the clean-up stops (:class:`CleanupIncomplete`), the installation is left as it was
        and calling again resumes. An installation that already lost access cannot clean up:
        its objects stay recorded (and are reused by a reinstall) and its tokens are dropped.
        """
        name = Account(account)
        done = self.revoker.disconnect(
            name,
            cleanup=self.objects.remove_all,
            objects_left=lambda left: len(self.ledger.live(left)),
        )
        # Every browser session that could view the account ends with it.
        self.sessions.withdraw(name)
        return done

    def refresh_now(self, account: str) -> Installation:
        """Refresh ``account``'s tokens now, even if they are not due (operators)."""
        return self.tokens.refresh_now(Account(account))

    def purge(self, account: str) -> Purged:
        """Forget every stored trace of ``account``: installation, history, ledger rows."""
        name = Account(account)
        self.inbound.forget(name)
        self.inbound.event_store.purge(name)
        self.inbound.health_store.purge(name)
        forgotten = Purged(
            account=name,
            installation=self.store.delete(name),
            ledger_rows=self.ledger.purge(name),
        )
        self.sessions.withdraw(name)
        self.token_cache.forget(name)
        log.info("purged", extra={"account": name, "event": "purged"})
        return forgotten

    # -- background work -------------------------------------------------------------------
    def accounts_due(self, *, within: float) -> list[Account]:
        """Usable accounts whose access token expires within ``within`` seconds, soonest first."""
        return self.store.accounts_due(self.clock.now() + timedelta(seconds=within))

    def refresh_if_due(self, account: str, *, within: float) -> RefreshReport:
        """Refresh ``account`` if still due once its lock is held (safe beside web workers)."""
        return self.tokens.refresh_if_due(Account(account), within=within)

    def refresh_due(
        self,
        *,
        within: float,
        concurrency: int = 1,
        on_report: Callable[[RefreshReport], None] | None = None,
    ) -> list[RefreshReport]:
        """Refresh every usable installation expiring within ``within`` seconds (REL-12).

        ``concurrency`` threads refresh at once; installations another run holds are left to
        it (claims), each refresh takes the same lock as a web request.
        """
        return self.refresh_runner(concurrency=concurrency).run(within=within, on_report=on_report)

    def refresh_runner(self, *, concurrency: int = 1) -> RefreshRunner:
        """A :class:`RefreshRunner` on this kit (``refresh-due``'s engine)."""
        return RefreshRunner(
            manager=self.tokens, claims=self.claims, clock=self.clock, concurrency=concurrency
        )

    def purge_expired(self) -> PurgeReport:
        """Delete install states, sessions and throttle counters past their lifetime.

        ``refresh-due`` runs it on every pass, so abandoned install links and
        old sessions do not pile up between installs.
        """
        storage = self.throttle_storage
        return PurgeReport(
            install_states=self.states.purge_expired(),
            sessions=self.sessions.purge_expired(),
            # Redis expires its counters itself.
            throttle_counters=(
                storage.purge_expired() if isinstance(storage, SQLThrottleStorage) else 0
            ),
        )

    def repair_all(self) -> list[RepairResult]:
        """Check every usable installation's integrations at Gorgias (``installs repair --all``)."""
        results: list[RepairResult] = []
        for installation in self.installations():
            if installation.status.usable:
                try:
                    results += self.inbound.repair.repair(installation.account)
                except GorgiasAppError as exc:  # one account's trouble never stops the others
                    log.warning(
                        "repair failed: %s",
                        type(exc).__name__,
                        extra={"account": installation.account, "event": "repair_failed"},
                    )
        return results

    def retry_pending_revocations(self) -> RevocationReport:
        """Retry upstream revocations that failed transiently and are due again (REL-10)."""
        return self.revoker.retry_pending()


@dataclass(frozen=True, slots=True, kw_only=True)
class Purged:
    """What :meth:`Kit.purge` forgot."""

    account: Account
    installation: bool
    ledger_rows: int
