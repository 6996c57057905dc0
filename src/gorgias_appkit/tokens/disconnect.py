"""Disconnect and upstream revocation (RFC 7009, REL-10), with a retry queue for transient failures.

``disconnect`` takes the same :class:`~.lock.InstallationLock` as a refresh, so an in-flight
refresh finishes first and cannot bring tokens back. In that one transaction it makes the tokens
unusable (status ``uninstalled``, tokens cleared, version bumped) and queues the refresh token for
revocation; only then does it call ``{base}/oauth/revoke``, once. A 200 (also for an unknown or
already-revoked token) removes the queue entry; a 5xx/429/connection error leaves it queued with
capped backoff for :meth:`Revoker.retry_pending` (run by ``gorgias-appkit refresh-due``); any
other answer is recorded and dropped. Nothing here sleeps on the request path.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from ..core.account import Account
from ..core.clock import Clock
from ..core.events import HookEvent
from ..core.events import LifecycleEvent
from ..core.records import Installation
from ..core.records import InstallStatus
from ..core.records import InstallUpdate
from ..core.records import PendingRevocation
from ..core.records import TokenSet
from ..core.retry import RetryPolicy
from ..core.secret import Secret
from ..errors import InstallationNotFound
from ..errors import OAuthError
from ..errors import TokenEndpointError
from ..oauth.client import OAuthClient
from ..store.ports import RevocationQueue
from .lock import InstallationLock
from .lock import tokens_unreadable

log = logging.getLogger("gorgias_appkit.revocations")


Revocation = Literal["revoked", "queued", "failed", "nothing_to_revoke"]
_REVOCATION: dict[str, Revocation] = {"revoked": "revoked", "retrying": "queued"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Disconnected:
    """What a disconnect did: the installation now, and what became of its upstream grant.

    ``revocation``: ``revoked`` (Gorgias confirmed), ``queued`` (Gorgias did not answer; the
    worker retries), ``failed`` (Gorgias refused; nothing more will be tried) or
    ``nothing_to_revoke`` (the tokens were already gone).
    """

    installation: Installation
    revocation: Revocation


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
        lock: InstallationLock,
        queue: RevocationQueue,
        oauth: OAuthClient,
        clock: Clock,
        policy: RetryPolicy | None = None,
        max_attempts: int = 20,
    ) -> None:
        self.lock = lock
        self.queue = queue
        self.oauth = oauth
        self.clock = clock
        self.policy = policy or RetryPolicy(base=60.0, cap=6 * 3600.0)
        self.max_attempts = max_attempts

    def disconnect(
        self,
        account: Account,
        *,
        cleanup: Callable[[Account], object] | None = None,
        objects_left: Callable[[Account], int] | None = None,
    ) -> Disconnected:
        """Run ``cleanup`` while the token still works, then drop the tokens and revoke them.

        An installation that already lost access cannot clean up: what ``objects_left`` counts
        stays in the account (and recorded, for a reinstall), and the tokens are dropped. One
        whose tokens the configured keys cannot open is refused (:class:`TokensUnreadable`):
        dropping them would leave a live grant nobody can revoke.
        """
        installation = self.lock.store.find(account)
        if installation is None:
            raise InstallationNotFound(f"no installation for {account!r}")
        if installation.unreadable is not None:
            raise tokens_unreadable(installation)
        token = installation.tokens.access_token.fingerprint() if installation.tokens else None
        if installation.status.usable and cleanup is not None:
            cleanup(account)
        elif objects_left is not None and (left := objects_left(account)):
            log.warning(
                "%d object(s) left in the account: access was lost before clean-up",
                left,
                extra={"account": account, "event": "cleanup_skipped"},
            )
        updated, revocation = self._drop(account)
        log.info(
            "disconnected", extra={"account": account, "event": "disconnected", "token_fp": token}
        )
        return Disconnected(installation=updated, revocation=revocation)

    def _drop(self, account: Account) -> tuple[Installation, Revocation]:
        """Make ``account``'s tokens unusable now, then revoke the refresh token upstream."""
        with self.lock.hold(account) as held:
            current = held.row.current
            if current is None:
                raise InstallationNotFound(f"no installation for {account!r}")
            if current.unreadable is not None:
                raise tokens_unreadable(current)
            tokens = current.tokens
            token = (tokens.refresh_token or tokens.access_token) if tokens else None
            hint = "refresh_token" if tokens and tokens.refresh_token else "access_token"
            updated = held.row.apply(
                InstallUpdate(
                    status=InstallStatus.UNINSTALLED,
                    clear_tokens=True,
                    clear_next_refresh=True,
                    refresh_failures=0,
                    clear_last_error=True,  # a disconnect is not a failure: nothing to show
                    event="disconnected",
                    detail="disconnected by the app",
                )
            )
            queued = held.row.queue_revocation(token) if token is not None else None
            if current.status is not InstallStatus.UNINSTALLED:
                previous = current.status.value
                held.announce(
                    LifecycleEvent(HookEvent.HEALTH_CHANGED, updated, previous, "disconnected")
                )
                held.announce(LifecycleEvent(HookEvent.DISCONNECTED, updated, previous))
        if queued is None or token is None:
            return updated, "nothing_to_revoke"
        entry = PendingRevocation(
            id=queued,
            account=account,
            token=token,
            attempts=0,
            next_attempt_at=self.clock.now(),
            created_at=self.clock.now(),
        )
        outcome = self._attempt(entry, hint=hint)
        return updated, _REVOCATION.get(outcome, "failed")

    def discard(self, account: Account, tokens: TokenSet) -> None:
        """Revoke the tokens of an install abandoned after its code exchange (or queue them).

        Each token is queued first and revoked at once, so a crash in between still leaves it
        in the queue; a transient failure leaves it there for :meth:`retry_pending`.
        """
        for token, hint in (
            (tokens.refresh_token, "refresh_token"),
            (tokens.access_token, "access_token"),
        ):
            if token is None:
                continue
            now = self.clock.now()
            entry = PendingRevocation(
                id=self.queue.add(account, token),
                account=account,
                token=token,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
            log.info(
                "revoking the tokens of an abandoned install",
                extra={
                    "account": account,
                    "event": "install_abandoned",
                    "token_fp": token.fingerprint(),
                },
            )
            self._attempt(entry, hint=hint)

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
        wait = self.policy.delay(attempts, retry_after=exc.retry_after)
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

    def _note(self, account: Account, event: str, detail: str) -> None:
        log.info("%s: %s", event, detail, extra={"account": account, "event": event})
        with self.lock.hold(account) as held:
            if held.row.current is not None:
                held.row.apply(InstallUpdate(event=event, detail=detail))


def _fp(token: Secret) -> str:
    return token.fingerprint()
