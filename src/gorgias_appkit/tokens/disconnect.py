"""Disconnect and upstream revocation (RFC 7009, REL-10), with a retry queue for transient failures.

``disconnect`` takes the same locks as a refresh (:meth:`TokenManager.guard`), so an in-flight
refresh finishes first and cannot bring tokens back. In that one transaction it makes the tokens
unusable (status ``uninstalled``, tokens cleared, version bumped) and queues the refresh token for
revocation; only then does it call ``{base}/oauth/revoke``, once. A 200 (also for an unknown or
already-revoked token) removes the queue entry; a 5xx/429/connection error leaves it queued with
capped backoff for :meth:`Revoker.retry_pending` (run by ``gorgias-appkit refresh-due``); any
other answer is recorded and dropped. Nothing here sleeps on the request path.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from ..core.clock import Clock
from ..core.events import HookEvent
from ..core.events import LifecycleEvent
from ..core.records import Installation
from ..core.records import InstallStatus
from ..core.records import InstallUpdate
from ..core.retry import Backoff
from ..core.secret import Secret
from ..errors import InstallationNotFound
from ..errors import OAuthError
from ..errors import TokenEndpointError
from ..oauth.client import OAuthClient
from ..store.sql.installations import SQLInstallationStore
from ..store.sql.revocations import PendingRevocation
from ..store.sql.revocations import SQLRevocationQueue

if TYPE_CHECKING:
    from .manager import TokenManager

log = logging.getLogger("gorgias_appkit.revocations")


@dataclass(frozen=True, slots=True, kw_only=True)
class RevocationReport:
    """What one pass over the revocation queue did."""

    revoked: int = 0
    retrying: int = 0
    abandoned: int = 0


class Revoker:
    """Disconnects installations and drives the revocation queue."""

    def __init__(
        self,
        *,
        store: SQLInstallationStore,
        oauth: OAuthClient,
        tokens: TokenManager,
        clock: Clock,
        backoff: Backoff | None = None,
        max_attempts: int = 20,
    ) -> None:
        self.store = store
        self.queue = SQLRevocationQueue(store.engine, keyring=store.keyring, clock=clock)
        self.oauth = oauth
        self.tokens = tokens
        self.clock = clock
        self.backoff = backoff or Backoff(base=60.0, cap=6 * 3600.0)
        self.max_attempts = max_attempts

    def disconnect(self, account: str) -> Installation:
        """Make ``account``'s tokens unusable now, then revoke the refresh token upstream."""
        with self.tokens.guard(account) as (lock, pending):
            current = lock.current
            if current is None:
                raise InstallationNotFound(f"no installation for {account!r}")
            tokens = current.tokens
            token = (tokens.refresh_token or tokens.access_token) if tokens else None
            hint = "refresh_token" if tokens and tokens.refresh_token else "access_token"
            updated = lock.apply(
                InstallUpdate(
                    status=InstallStatus.UNINSTALLED,
                    clear_tokens=True,
                    clear_next_refresh=True,
                    refresh_failures=0,
                    event="disconnected",
                    detail="disconnected by the app",
                )
            )
            queued = lock.queue_revocation(token) if token is not None else None
            if current.status is not InstallStatus.UNINSTALLED:
                previous = current.status.value
                pending.events += [
                    LifecycleEvent(HookEvent.HEALTH_CHANGED, updated, previous, "disconnected"),
                    LifecycleEvent(HookEvent.DISCONNECTED, updated, previous),
                ]
        if queued is not None and token is not None:
            entry = PendingRevocation(
                id=queued,
                account=account,
                token=token,
                attempts=0,
                next_attempt_at=self.clock.now(),
                created_at=self.clock.now(),
            )
            self._attempt(entry, hint=hint)
        return updated

    def retry_pending(self) -> RevocationReport:
        """Retry every queued revocation that is due; return what happened."""
        counts = {"revoked": 0, "retrying": 0, "abandoned": 0}
        for entry in self.queue.due(self.clock.now()):
            counts[self._attempt(entry, hint=None)] += 1
        return RevocationReport(**counts)

    def _attempt(self, entry: PendingRevocation, *, hint: str | None) -> str:
        attempts = entry.attempts + 1
        try:
            self.oauth.revoke(entry.account, token=entry.token, hint=hint)
        except TokenEndpointError as exc:
            if exc.transient and attempts < self.max_attempts:
                return self._reschedule(entry, attempts, exc)
            return self._abandon(entry, exc.error)
        except OAuthError as exc:  # e.g. invalid_client: retrying cannot help
            return self._abandon(entry, exc.error)
        self.queue.finish(entry.id)
        self._note(entry.account, "revoked", f"token {_fp(entry.token)} revoked upstream")
        return "revoked"

    def _reschedule(self, entry: PendingRevocation, attempts: int, exc: TokenEndpointError) -> str:
        wait = self.backoff.delay(attempts, retry_after=exc.retry_after)
        next_at = self.clock.now() + timedelta(seconds=wait)
        reason = f"{exc.status_code or 'unreachable'}"
        self.queue.reschedule(entry.id, attempts=attempts, next_attempt_at=next_at, error=reason)
        self._note(
            entry.account,
            "revoke_queued",
            f"revocation answered {reason}; attempt {attempts}, next {next_at:%Y-%m-%dT%H:%M:%SZ}",
        )
        return "retrying"

    def _abandon(self, entry: PendingRevocation, error: str) -> str:
        self.queue.finish(entry.id)
        self._note(entry.account, "revoke_failed", f"revocation gave up: {error}")
        return "abandoned"

    def _note(self, account: str, event: str, detail: str) -> None:
        log.info("%s: %s", event, detail, extra={"account": account, "event": event})
        with self.store.locked(account) as lock:
            if lock.current is not None:
                lock.apply(InstallUpdate(event=event, detail=detail))


def _fp(token: Secret) -> str:
    return token.fingerprint()
