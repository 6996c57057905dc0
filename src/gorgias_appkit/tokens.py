"""TokenManager: valid access tokens for any account, refreshed once across every process.

``access_token_for`` reads the row without a lock and returns the stored token while it is
outside the refresh leeway (the fast path). Otherwise it takes an in-process lock, then the
database lock on the row (``SELECT … FOR UPDATE`` / ``BEGIN IMMEDIATE``), re-reads, and refreshes
only if no sibling already did; the new tokens are written in the same locked transaction with a
version check (REL-01, REL-02). Health transitions (active → refresh_failing → needs_reauth →
uninstalled) are recorded in the install history and announced through :mod:`hooks`.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from .backoff import Backoff
from .clock import Clock
from .errors import IdTokenError
from .errors import InstallationNotFound
from .errors import InstallationUnavailable
from .errors import InvalidGrant
from .errors import OAuthError
from .errors import TokenEndpointError
from .hooks import HookEvent
from .hooks import Hooks
from .hooks import LifecycleEvent
from .oauth.client import OAuthClient
from .oauth.protocol import TokenResponse
from .oauth.protocol import unverified_claims
from .redact import Secret
from .store.base import Installation
from .store.base import InstallStatus
from .store.base import InstallUpdate
from .store.sql import SQLInstallationStore

log = logging.getLogger("gorgias_appkit.tokens")


class TokenManager:
    """Hands out access tokens and owns every token state change."""

    def __init__(
        self,
        *,
        store: SQLInstallationStore,
        oauth: OAuthClient,
        clock: Clock,
        hooks: Hooks,
        leeway: float = 300.0,
        failure_backoff: Backoff | None = None,
    ) -> None:
        self.store = store
        self.oauth = oauth
        self.clock = clock
        self.hooks = hooks
        self.leeway = leeway
        self.failure_backoff = failure_backoff or Backoff(base=30.0, cap=3600.0)
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def _local_lock(self, account: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(account, threading.Lock())

    def access_token_for(self, account: str, *, stale: Secret | None = None) -> Secret:
        """Return a valid access token for ``account``, refreshing it when due.

        ``stale`` forces a refresh unless the stored token already differs from it (the API
        client passes the token a 401 was answered for: one forced refresh, never a loop).
        """
        installation = self._usable(self.store.find(account), account)
        if stale is None and not self._due(installation):
            assert installation.tokens is not None
            return installation.tokens.access_token
        with self._local_lock(account), self.store.locked(account) as lock:
            current = self._usable(lock.current, account)
            tokens = current.tokens
            assert tokens is not None
            if stale is not None and tokens.access_token != stale:
                return tokens.access_token  # a sibling refreshed after the 401
            if stale is None and not self._due(current):
                return tokens.access_token  # a sibling refreshed while we waited
            return self._refresh_locked(lock, current, forced=stale is not None)

    def _due(self, installation: Installation) -> bool:
        tokens = installation.tokens
        assert tokens is not None
        return tokens.expires_within(self.leeway, now=self.clock.now())

    @staticmethod
    def _usable(installation: Installation | None, account: str) -> Installation:
        if installation is None:
            raise InstallationNotFound(f"no installation for {account!r}")
        if not installation.status.usable or installation.tokens is None:
            raise InstallationUnavailable(account, installation.status.value)
        return installation

    def _refresh_locked(self, lock: object, current: Installation, *, forced: bool) -> Secret:
        tokens = current.tokens
        assert tokens is not None
        now = self.clock.now()
        still_valid = tokens.expires_at > now
        if tokens.refresh_token is None:
            if still_valid and not forced:
                return tokens.access_token
            self._transition(lock, current, InstallStatus.NEEDS_REAUTH, "no refresh token")
            raise InstallationUnavailable(current.account, InstallStatus.NEEDS_REAUTH.value)
        waiting = current.next_refresh_at is not None and current.next_refresh_at > now
        if waiting and still_valid and not forced:
            return tokens.access_token  # back off after failures while the token still works
        try:
            result = self.oauth.refresh(current.account, refresh_token=tokens.refresh_token)
            self._check_refreshed_id_token(current, result)
        except InvalidGrant:
            # REL-05: terminal. Gorgias sends no uninstall notice, so this is how we learn it.
            self._transition(lock, current, InstallStatus.NEEDS_REAUTH, "refresh token rejected")
            raise InstallationUnavailable(current.account, InstallStatus.NEEDS_REAUTH.value) from None
        except (TokenEndpointError, OAuthError) as exc:
            self._record_failure(lock, current, exc)
            if still_valid and not forced:
                return tokens.access_token
            raise
        return self._store_refresh(lock, current, result)

    def _check_refreshed_id_token(self, current: Installation, result: TokenResponse) -> None:
        # REL-08 (OIDC Core §12.2): a refreshed id_token must name the same subject.
        if result.id_token is None:
            return
        claims = unverified_claims(result.id_token)
        if current.user_id is not None and str(claims.get("sub")) != current.user_id:
            raise IdTokenError("refresh_sub_changed", "the refreshed id_token names another user")
        if claims.get("aud") != self.oauth.client_id and self.oauth.client_id not in (
            claims.get("aud") or []
        ):
            raise IdTokenError("refresh_bad_aud", "the refreshed id_token is for another client")

    def _store_refresh(self, lock: object, current: Installation, result: TokenResponse) -> Secret:
        now = self.clock.now()
        status_changed = current.status is not InstallStatus.ACTIVE
        updated = lock.apply(  # type: ignore[attr-defined]
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
            extra={"account": current.account, "event": "refreshed",
                   "token": result.tokens.access_token.fingerprint(), "rotated": result.rotated},
        )
        if status_changed:
            self._announce(updated, current.status, "refresh succeeded")
        return result.tokens.access_token

    def _record_failure(self, lock: object, current: Installation, exc: OAuthError) -> None:
        failures = current.refresh_failures + 1
        retry_at = self.clock.now() + timedelta(seconds=self.failure_backoff.delay(failures))
        updated = lock.apply(  # type: ignore[attr-defined]
            InstallUpdate(
                status=InstallStatus.REFRESH_FAILING,
                refresh_failures=failures,
                next_refresh_at=retry_at,
                last_error=f"{exc.error}: {exc.description}"[:300],
                event="health_changed" if current.status is InstallStatus.ACTIVE else None,
                detail=exc.error,
            )
        )
        log.warning(
            "token refresh failed (%s), attempt %d", exc.error, failures,
            extra={"account": current.account, "event": "refresh_failed"},
        )
        if current.status is InstallStatus.ACTIVE:
            self._announce(updated, current.status, exc.error)

    def _transition(
        self, lock: object, current: Installation, status: InstallStatus, reason: str
    ) -> Installation:
        updated: Installation = lock.apply(  # type: ignore[attr-defined]
            InstallUpdate(status=status, last_error=reason, event="health_changed", detail=reason)
        )
        log.warning(
            "installation is now %s: %s", status.value, reason,
            extra={"account": current.account, "event": "health_changed"},
        )
        self._announce(updated, current.status, reason)
        return updated

    def _announce(self, installation: Installation, previous: InstallStatus, reason: str) -> None:
        self.hooks.emit(
            LifecycleEvent(HookEvent.HEALTH_CHANGED, installation, previous.value, reason)
        )

    def mark_needs_reauth(self, account: str, reason: str) -> None:
        """Record that the API refused a freshly refreshed token (a silent uninstall)."""
        with self.store.locked(account) as lock:
            if lock.current is not None and lock.current.status.usable:
                self._transition(lock, lock.current, InstallStatus.NEEDS_REAUTH, reason)

    def disconnect(self, account: str) -> Installation:
        """Make the tokens unusable at once, then revoke the refresh token upstream (REL-10).

        The row lock is the one refresh takes, so an in-flight refresh cannot bring tokens back.
        """
        with self._local_lock(account), self.store.locked(account) as lock:
            current = lock.current
            if current is None:
                raise InstallationNotFound(f"no installation for {account!r}")
            refresh = current.tokens.refresh_token if current.tokens else None
            updated = lock.apply(
                InstallUpdate(status=InstallStatus.UNINSTALLED, clear_tokens=True,
                              event="disconnected", detail="disconnected by the app")
            )
        if refresh is not None:
            self._revoke(account, refresh)
        self.hooks.emit(LifecycleEvent(HookEvent.DISCONNECTED, updated, current.status.value))
        return updated

    def _revoke(self, account: str, token: Secret) -> None:
        backoff = self.oauth.backoff
        for attempt in range(1, backoff.max_attempts + 1):
            try:
                self.oauth.revoke(account, token=token)
                return
            except TokenEndpointError as exc:
                if not exc.transient or attempt == backoff.max_attempts:
                    self._note(account, "revoke_failed", exc.error)
                    return
                self.clock.sleep(backoff.delay(attempt, retry_after=exc.retry_after))

    def _note(self, account: str, event: str, detail: str) -> None:
        log.warning("%s: %s", event, detail, extra={"account": account, "event": event})
        with self.store.locked(account) as lock:
            if lock.current is not None:
                lock.apply(InstallUpdate(event=event, detail=detail))
