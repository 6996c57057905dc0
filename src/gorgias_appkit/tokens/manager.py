"""TokenManager: valid access tokens for any account, refreshed once across every process.

``access_token_for`` returns this process's cached copy of the token when it has one
(:mod:`.cache`: bounded staleness, dropped on every change and on a 401), else reads the row
without a lock and returns the stored token while it is outside the refresh leeway (the fast
path). Otherwise it takes an in-process lock, then the
database lock on the row (``SELECT … FOR UPDATE`` / ``BEGIN IMMEDIATE``), re-reads, and refreshes
only if no sibling already did; the new tokens are written in the same locked transaction with a
version check (REL-01, REL-02). Health transitions (active → refresh_failing → needs_reauth or
uninstalled) are recorded in the install history and announced through :mod:`hooks`.

Gorgias sends no uninstall notice. ``invalid_grant`` on refresh, or a 401 on a token refreshed
a moment ago, means Gorgias no longer knows the grant: the merchant removed the app. The
installation becomes ``uninstalled`` at once (tokens dropped, history ``uninstall_inferred``,
hooks ``health_changed`` then ``uninstalled``). ``needs_reauth`` is kept for a grant Gorgias
may still honour but the app cannot renew by itself (no refresh token: installed without
``offline``); the merchant reconnects and nothing was lost.

Two rules keep that honest:
- nothing expected is raised inside the locked block: a failure is *returned* from it, so the
  state it recorded (``needs_reauth``, ``refresh_failing``) commits, and is raised afterwards;
- hooks run after the lock is released and the change committed (a hook may call the kit).

Both locks are the :class:`~.lock.InstallationLock`, which disconnect (:mod:`.disconnect`)
takes too, so an in-flight refresh cannot bring tokens back after a disconnect. While answering
a browser request, the locked part runs through :func:`~.detached.finish_detached`: it completes
with its own budget even when the request stops waiting at its deadline.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from ..core.account import Account
from ..core.clock import Clock
from ..core.events import HookEvent
from ..core.events import LifecycleEvent
from ..core.records import Installation
from ..core.records import InstallStatus
from ..core.records import InstallUpdate
from ..core.records import TokenSet
from ..core.retry import RetryPolicy
from ..core.secret import Secret
from ..errors import InstallationNotFound
from ..errors import InstallationUnavailable
from ..errors import InvalidGrant
from ..errors import OAuthError
from ..errors import TokenEndpointError
from ..errors import TokensUnreadable
from ..metrics import METRICS
from ..oauth.client import OAuthClient
from ..oauth.idtoken import IdTokenVerifier
from ..oauth.protocol import TokenResponse
from ..store.ports import InstallationStore
from .cache import TokenCache
from .detached import finish_detached
from .lock import Held
from .lock import InstallationLock
from .lock import tokens_unreadable

log = logging.getLogger("gorgias_appkit.tokens")


class RefreshOutcome(StrEnum):
    """What a background refresh did for one account."""

    REFRESHED = "refreshed"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass(frozen=True, slots=True, kw_only=True)
class RefreshReport:
    """One account's result in ``refresh-due``; ``reason`` is a short code, never a token."""

    account: Account
    outcome: RefreshOutcome
    reason: str


class TokenManager:
    """Hands out access tokens and owns every refresh and health change."""

    def __init__(
        self,
        *,
        store: InstallationStore,
        lock: InstallationLock,
        oauth: OAuthClient,
        clock: Clock,
        verifier: IdTokenVerifier | None = None,
        leeway: float = 300.0,
        failure_policy: RetryPolicy | None = None,
        cache: TokenCache | None = None,
    ) -> None:
        self.cache = cache if cache is not None else TokenCache(clock, max_age=0.0)
        self.store = store
        self.lock = lock
        self.oauth = oauth
        self.clock = clock
        self.verifier = verifier
        self.leeway = leeway
        self.failure_policy = failure_policy or RetryPolicy(base=30.0, cap=3600.0)

    # -- handing out tokens ----------------------------------------------------------------
    def access_token_for(self, account: Account, *, stale: Secret | None = None) -> Secret:
        """Return a valid access token for ``account``, refreshing it when due.

        ``stale`` forces a refresh unless the stored token already differs from it (the API
        client passes the token a 401 was answered for: one forced refresh, never a loop).
        """
        if stale is None:
            cached = self.cache.get(account)
            if cached is not None:
                return cached
        else:
            self.cache.forget(account)  # a 401: this copy is no good, whatever its age
        ticket = self.cache.ticket()
        found = self._usable(self.store.find(account), account)
        if stale is None and self._servable(found):
            tokens = _tokens(found)
            self.cache.put(account, tokens, ticket=ticket, leeway=self.leeway)
            return tokens.access_token
        # Inside a browser request, the refresh finishes off the request (never cut short).
        return finish_detached(
            lambda: self._serve_slow(account, stale),
            key=(id(self), "serve", account, stale),
            clock=self.clock,
            what=f"refreshing {account}'s token",
        )

    def _serve_slow(self, account: Account, stale: Secret | None) -> Secret:
        with self.lock.hold(account) as held:
            result = self._serve_locked(held, account, stale)
        if isinstance(result, Exception):
            raise result
        return result

    def _serve_locked(
        self, held: Held, account: Account, stale: Secret | None
    ) -> Secret | Exception:
        try:
            current = self._usable(held.row.current, account)
        except (InstallationNotFound, InstallationUnavailable, TokensUnreadable) as exc:
            return exc
        tokens = _tokens(current)
        if stale is not None and tokens.access_token != stale:
            return tokens.access_token  # a sibling refreshed after the 401
        if stale is None and self._servable(current):
            return tokens.access_token  # a sibling refreshed while we waited
        forced = stale is not None
        result = self._refresh_locked(held, current, reason="forced" if forced else "expiring")
        if isinstance(result, TokenSet):
            return result.access_token
        still_valid = tokens.expires_at > self.clock.now()
        if isinstance(result, OAuthError) and still_valid and not forced:
            return tokens.access_token  # the old token still works; the failure is recorded
        return result

    def refresh_now(self, account: Account) -> Installation:
        """Refresh ``account``'s tokens now, even if they are not due (operators).

        Raises the refresh's error (an unknown outcome included): it never reports success for
        a refresh that did not certainly happen.
        """
        installation = self._usable(self.store.find(account), account)
        fresh = self.access_token_for(account, stale=_tokens(installation).access_token)
        log.info(
            "refresh forced",
            extra={"account": account, "event": "refresh_forced", "token_fp": fresh.fingerprint()},
        )
        updated = self.store.find(account)
        if updated is None:  # purged meanwhile
            raise InstallationNotFound(f"no installation for {account!r}")
        return updated

    def refresh_if_due(self, account: Account, *, within: float) -> RefreshReport:
        """Refresh ``account`` if its token expires within ``within`` seconds (``refresh-due``).

        Takes the same locks as :meth:`access_token_for`, so it is safe beside web workers: an
        installation a sibling refreshed meanwhile is skipped (REL-12).
        """
        found = self.store.find(account)
        if found is None or not found.status.usable:
            return _report(account, RefreshOutcome.SKIPPED, found.status if found else "missing")
        if found.unreadable is not None:
            tokens_unreadable(found)  # logged loudly; the row stays as it is
            return _report(account, RefreshOutcome.FAILED, "tokens_unreadable")
        with self.lock.hold(account) as held:
            report = self._refresh_if_due_locked(held, account, within)
        return report

    def _refresh_if_due_locked(self, held: Held, account: Account, within: float) -> RefreshReport:
        current = held.row.current
        if current is None or not current.status.usable or current.tokens is None:
            status = current.status if current else "missing"
            return _report(account, RefreshOutcome.SKIPPED, status)
        now = self.clock.now()
        if not current.tokens.expires_within(within, now=now):
            return _report(account, RefreshOutcome.SKIPPED, "fresh")
        if current.next_refresh_at is not None and current.next_refresh_at > now:
            return _report(account, RefreshOutcome.SKIPPED, "backing_off")
        if current.tokens.refresh_token is None and current.tokens.expires_at > now:
            return _report(account, RefreshOutcome.SKIPPED, "no_refresh_token")
        result = self._refresh_locked(held, current, reason="background")
        if isinstance(result, TokenSet):
            return _report(account, RefreshOutcome.REFRESHED, "ok")
        if isinstance(result, InstallationUnavailable):
            return _report(account, RefreshOutcome.FAILED, result.status)
        return _report(account, RefreshOutcome.FAILED, _error_code(result))

    # -- policy ----------------------------------------------------------------------------
    def _servable(self, installation: Installation) -> bool:
        """Whether the stored token may be handed out without taking the lock."""
        tokens = _tokens(installation)
        now = self.clock.now()
        if not tokens.expires_within(self.leeway, now=now):
            return True
        if tokens.expires_at <= now:
            return False
        # Inside the leeway but still valid: keep serving it when a refresh cannot help now.
        waiting = installation.next_refresh_at is not None and installation.next_refresh_at > now
        return tokens.refresh_token is None or waiting

    @staticmethod
    def _usable(installation: Installation | None, account: Account) -> Installation:
        if installation is None:
            raise InstallationNotFound(f"no installation for {account!r}")
        if installation.unreadable is not None and installation.status.usable:
            raise tokens_unreadable(installation)
        if not installation.status.usable or installation.tokens is None:
            raise InstallationUnavailable(account, installation.status.value)
        return installation

    # -- the refresh itself (lock held) ----------------------------------------------------
    def _refresh_locked(
        self, held: Held, current: Installation, *, reason: str
    ) -> TokenSet | Exception:
        """Refresh under the lock; return the new tokens or the error to raise after commit."""
        tokens = _tokens(current)
        account = current.account
        now = self.clock.now()
        if tokens.refresh_token is None:
            self._transition(held, current, InstallStatus.NEEDS_REAUTH, "no refresh token")
            return InstallationUnavailable(account, InstallStatus.NEEDS_REAUTH.value)
        if current.next_refresh_at is not None and current.next_refresh_at > now:
            wait = (current.next_refresh_at - now).total_seconds()
            return TokenEndpointError(
                f"refreshing {account}'s token is failing; next try in {wait:.0f}s",
                retry_after=wait,
            )
        try:
            result = self.oauth.refresh(account, refresh_token=tokens.refresh_token)
            self._check_refreshed_id_token(current, result)
        except InvalidGrant:
            # REL-05: terminal. Gorgias sends no uninstall notice, so this is how we learn it.
            METRICS.inc("gorgias_refresh_total", result="failed", reason="invalid_grant")
            self._uninstalled(held, current, "refresh token rejected: removed in Gorgias")
            return InstallationUnavailable(account, InstallStatus.UNINSTALLED.value)
        except OAuthError as exc:
            METRICS.inc("gorgias_refresh_total", result="failed", reason=_error_code(exc))
            self._record_failure(held, current, exc)
            return exc
        METRICS.inc("gorgias_refresh_total", result="ok", reason=reason)
        return self._store_refresh(held, current, result)

    def _check_refreshed_id_token(self, current: Installation, result: TokenResponse) -> None:
        # REL-08 (OIDC Core §12.2): a refreshed id_token is validated like the first one
        # (issuer, audience, signature when keys exist) and must name the same subject.
        if result.id_token is not None and self.verifier is not None:
            self.verifier.verify_refreshed(
                result.id_token, account=current.account, user_id=current.user_id
            )

    def _store_refresh(self, held: Held, current: Installation, result: TokenResponse) -> TokenSet:
        now = self.clock.now()
        status_changed = current.status is not InstallStatus.ACTIVE
        updated = held.row.apply(
            InstallUpdate(
                tokens=result.tokens,
                status=InstallStatus.ACTIVE,
                refresh_failures=0,
                clear_next_refresh=True,
                clear_last_error=True,
                last_refresh_at=now,
                event="health_changed" if status_changed else None,
                detail="refresh succeeded" if status_changed else None,
            )
        )
        log.info(
            "token refreshed",
            extra={
                "account": current.account,
                "event": "refreshed",
                "token_fp": result.tokens.access_token.fingerprint(),
                "rotated": result.rotated,
            },
        )
        if status_changed:
            held.announce(_health(updated, current.status, "refresh succeeded"))
        return result.tokens

    def _record_failure(self, held: Held, current: Installation, exc: OAuthError) -> None:
        failures = current.refresh_failures + 1
        wait = self.failure_policy.delay(failures)
        if isinstance(exc, TokenEndpointError) and exc.retry_after is not None:
            wait = max(wait, min(exc.retry_after, self.failure_policy.retry_after_cap))
        retry_at = self.clock.now() + timedelta(seconds=wait)
        first = current.status is InstallStatus.ACTIVE
        updated = held.row.apply(
            InstallUpdate(
                status=InstallStatus.REFRESH_FAILING,
                refresh_failures=failures,
                next_refresh_at=retry_at,
                last_error=f"{exc.error}: {exc.description}"[:300],
                event="health_changed" if first else "refresh_failed",
                detail=f"{exc.error} (attempt {failures}, next try {retry_at:%Y-%m-%dT%H:%M:%SZ})",
            )
        )
        log.warning(
            "token refresh failed (%s), attempt %d",
            exc.error,
            failures,
            extra={"account": current.account, "event": "refresh_failed"},
        )
        if first:
            held.announce(_health(updated, current.status, exc.error))

    def _transition(
        self, held: Held, current: Installation, status: InstallStatus, reason: str
    ) -> Installation:
        updated = held.row.apply(
            InstallUpdate(
                status=status,
                last_error=reason,
                clear_next_refresh=True,
                event="health_changed",
                detail=reason,
            )
        )
        log.warning(
            "installation is now %s: %s",
            status.value,
            reason,
            extra={"account": current.account, "event": "health_changed"},
        )
        held.announce(_health(updated, current.status, reason))
        return updated

    def _uninstalled(self, held: Held, current: Installation, reason: str) -> None:
        """Gorgias no longer knows the grant: drop the dead tokens, announce the uninstall."""
        updated = held.row.apply(
            InstallUpdate(
                status=InstallStatus.UNINSTALLED,
                clear_tokens=True,
                clear_next_refresh=True,
                refresh_failures=0,
                last_error=reason,
                event="uninstall_inferred",
                detail=reason,
            )
        )
        log.warning(
            "the app was removed in Gorgias: %s",
            reason,
            extra={"account": current.account, "event": "uninstall_inferred"},
        )
        held.announce(_health(updated, current.status, reason))
        held.announce(LifecycleEvent(HookEvent.UNINSTALLED, updated, current.status.value, reason))

    # -- what the API tells us -------------------------------------------------------------
    def mark_uninstalled(self, account: Account, reason: str) -> None:
        """Record that the API refused a freshly refreshed token (a silent uninstall)."""
        finish_detached(
            lambda: self._mark_needs_reauth(account, reason),
            key=(id(self), "needs_reauth", account),
            clock=self.clock,
            what=f"recording that {account} lost access",
        )

    def _mark_needs_reauth(self, account: Account, reason: str) -> None:
        with self.lock.hold(account) as held:
            current = held.row.current
            if current is not None and current.status.usable:
                self._uninstalled(held, current, reason)


def _tokens(installation: Installation) -> TokenSet:
    tokens = installation.tokens
    if tokens is None:  # _usable() rules this out; never hand out a missing token
        raise InstallationUnavailable(installation.account, installation.status.value)
    return tokens


def _health(installation: Installation, previous: InstallStatus, reason: str) -> LifecycleEvent:
    return LifecycleEvent(HookEvent.HEALTH_CHANGED, installation, previous.value, reason)


def _report(account: Account, outcome: RefreshOutcome, reason: str) -> RefreshReport:
    return RefreshReport(account=account, outcome=outcome, reason=str(reason))


def _error_code(exc: Exception) -> str:
    if isinstance(exc, TokenEndpointError) and exc.status_code is not None:
        return f"{exc.error}_{exc.status_code}"
    return exc.error if isinstance(exc, OAuthError) else type(exc).__name__
