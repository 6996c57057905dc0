"""The battery of tests every storage backend passes (the ports of ``gorgias_appkit.store.ports``).

Subclass the contract in your test suite and provide the fixtures it asks for::

    class TestMyStore(InstallationStoreContract):
        @pytest.fixture
        def store(self, clock): return MyInstallationStore(..., clock=clock)

``clock`` is a :class:`~gorgias_appkit.testing.FakeClock` the contract provides; the SQL
backends of the kit run this very battery against SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from ..core.account import Account
from ..core.records import InstallStatus
from ..core.records import InstallUpdate
from ..core.records import PendingInstall
from ..core.records import TokenSet
from ..core.secret import Secret
from ..errors import InvalidState
from ..store.ports import InstallationStore
from ..store.ports import StateStore
from . import FakeClock

__all__ = ["InstallationStoreContract", "StateStoreContract"]

ACME = Account("acme")
GLOBEX = Account("globex")


def tokens(clock: FakeClock, name: str = "1", *, hours: float = 24) -> TokenSet:
    """A token set expiring ``hours`` from the clock's now."""
    return TokenSet(
        access_token=Secret(f"access-{name}"),
        refresh_token=Secret(f"refresh-{name}"),
        expires_at=clock.now() + timedelta(hours=hours),
        scopes=("offline", "tickets:read"),
    )


class InstallationStoreContract:
    """What an :class:`~gorgias_appkit.store.ports.InstallationStore` promises."""

    @pytest.fixture
    def clock(self) -> FakeClock:
        return FakeClock()

    def test_find_of_an_unknown_account_is_none(self, store: InstallationStore) -> None:
        """``find`` answers ``None``, never raises, for an account never installed."""
        assert store.find(ACME) is None

    def test_install_stores_tokens_and_says_it_is_new(
        self, store: InstallationStore, clock: FakeClock
    ) -> None:
        """A first install is new, active, version 1, and its tokens come back equal."""
        installed, is_new = store.save_install(
            ACME, tokens=tokens(clock), user_id="42", user_email="a@example.com"
        )
        assert is_new and installed.status is InstallStatus.ACTIVE and installed.version == 1
        found = store.find(ACME)
        assert found is not None and found.tokens == installed.tokens
        assert found.user_id == "42" and found.account == "acme"

    def test_reinstall_replaces_tokens_and_is_not_new(
        self, store: InstallationStore, clock: FakeClock
    ) -> None:
        """Installing again replaces the tokens of that account only."""
        store.save_install(ACME, tokens=tokens(clock, "a1"), user_id=None, user_email=None)
        store.save_install(GLOBEX, tokens=tokens(clock, "g1"), user_id=None, user_email=None)
        again, is_new = store.save_install(
            ACME, tokens=tokens(clock, "a2"), user_id=None, user_email=None
        )
        assert not is_new and again.version == 2
        assert store.find(ACME).tokens == tokens(clock, "a2")  # type: ignore[union-attr]
        assert store.find(GLOBEX).tokens == tokens(clock, "g1")  # type: ignore[union-attr]

    def test_install_after_uninstall_is_new_again(
        self, store: InstallationStore, clock: FakeClock
    ) -> None:
        """After a disconnect, installing is a new install (the hooks run again)."""
        store.save_install(ACME, tokens=tokens(clock), user_id=None, user_email=None)
        with store.locked(ACME) as row:
            row.apply(InstallUpdate(status=InstallStatus.UNINSTALLED, clear_tokens=True))
        assert store.find(ACME).tokens is None  # type: ignore[union-attr]
        _, is_new = store.save_install(ACME, tokens=tokens(clock), user_id=None, user_email=None)
        assert is_new

    def test_apply_under_the_lock_bumps_the_version_and_records_history(
        self, store: InstallationStore, clock: FakeClock
    ) -> None:
        """A locked change is written with the next version and one history line."""
        store.save_install(ACME, tokens=tokens(clock), user_id=None, user_email=None)
        with store.locked(ACME) as row:
            assert row.current is not None and row.current.version == 1
            updated = row.apply(
                InstallUpdate(
                    status=InstallStatus.REFRESH_FAILING,
                    refresh_failures=1,
                    last_error="boom",
                    event="health_changed",
                    detail="boom",
                )
            )
        assert updated.version == 2 and updated.status is InstallStatus.REFRESH_FAILING
        assert store.find(ACME) == updated
        newest = store.history(ACME)[0]
        assert (newest.event, newest.from_status, newest.to_status) == (
            "health_changed",
            "active",
            "refresh_failing",
        )

    def test_find_never_writes(self, store: InstallationStore, clock: FakeClock) -> None:
        """Reading leaves the version and the history as they are."""
        store.save_install(ACME, tokens=tokens(clock), user_id=None, user_email=None)
        before, history = store.find(ACME), store.history(ACME)
        for _ in range(3):
            store.find(ACME)
            list(store.all())
        assert store.find(ACME) == before and store.history(ACME) == history

    def test_accounts_due_lists_usable_expiring_accounts_soonest_first(
        self, store: InstallationStore, clock: FakeClock
    ) -> None:
        """Only usable installations expiring before the cut-off, soonest first."""
        store.save_install(ACME, tokens=tokens(clock, hours=2), user_id=None, user_email=None)
        store.save_install(GLOBEX, tokens=tokens(clock, hours=1), user_id=None, user_email=None)
        later = Account("initech")
        store.save_install(later, tokens=tokens(clock, hours=30), user_id=None, user_email=None)
        assert store.accounts_due(clock.now() + timedelta(hours=3)) == ["globex", "acme"]
        with store.locked(GLOBEX) as row:
            row.apply(InstallUpdate(status=InstallStatus.NEEDS_REAUTH))
        assert store.accounts_due(clock.now() + timedelta(hours=3)) == ["acme"]

    def test_all_and_count_by_status(self, store: InstallationStore, clock: FakeClock) -> None:
        """``all`` is ordered by account; the counts cover every health state."""
        for name in ("initech", "acme", "globex"):
            store.save_install(Account(name), tokens=tokens(clock), user_id=None, user_email=None)
        assert [i.account for i in store.all()] == ["acme", "globex", "initech"]
        counts = store.count_by_status()
        assert counts["active"] == 3 and counts["needs_reauth"] == 0

    def test_delete_forgets_the_installation_and_its_history(
        self, store: InstallationStore, clock: FakeClock
    ) -> None:
        """``delete`` says whether something was there, and then nothing is."""
        store.save_install(ACME, tokens=tokens(clock), user_id=None, user_email=None)
        assert store.delete(ACME) is True
        assert store.find(ACME) is None and store.history(ACME) == []
        assert store.delete(ACME) is False

    def test_queue_revocation_inside_the_lock(
        self, store: InstallationStore, clock: FakeClock
    ) -> None:
        """A token can be queued for revocation in the same transaction as a change."""
        store.save_install(ACME, tokens=tokens(clock), user_id=None, user_email=None)
        with store.locked(ACME) as row:
            queued = row.queue_revocation(Secret("refresh-1"))
        assert isinstance(queued, int)


class StateStoreContract:
    """What a :class:`~gorgias_appkit.store.ports.StateStore` promises (SEC-03)."""

    @pytest.fixture
    def clock(self) -> FakeClock:
        return FakeClock()

    @staticmethod
    def pending(clock: FakeClock, *, ttl: float = 600) -> PendingInstall:
        return PendingInstall(
            account=ACME,
            issuer="https://acme.gorgias.com",
            nonce="nonce",
            code_verifier=Secret("v" * 64),
            browser_hash="b" * 64,
            created_at=clock.now(),
            expires_at=clock.now() + timedelta(seconds=ttl),
        )

    def test_a_state_is_consumed_once(self, states: StateStore, clock: FakeClock) -> None:
        """The first consume returns the record; the second raises :class:`InvalidState`."""
        states.issue("state-1", self.pending(clock))
        assert states.consume("state-1") == self.pending(clock)
        with pytest.raises(InvalidState):
            states.consume("state-1")

    def test_an_unknown_state_is_invalid(self, states: StateStore) -> None:
        """``consume`` never returns ``None``: an unknown state raises."""
        with pytest.raises(InvalidState):
            states.consume("never-issued")

    def test_purge_expired_deletes_only_expired_states(
        self, states: StateStore, clock: FakeClock
    ) -> None:
        """Expired states go, live ones stay."""
        states.issue("old", self.pending(clock, ttl=10))
        states.issue("new", self.pending(clock, ttl=900))
        clock.advance(60)
        assert states.purge_expired() == 1
        with pytest.raises(InvalidState):
            states.consume("old")
        assert states.consume("new").account == "acme"
