"""Key rotation: re-encrypt every sealed value under the newest key, in batches, resumably.

Sealed values (SEC-14) live in three tables, each bound to its row by the associated data:

- ``gorgias_installations.access_token`` / ``refresh_token`` (``installation:{account}:…``),
  resealed under the installation's own lock with a version bump, exactly like a refresh, so a
  refresh running at the same time either finishes first (and is resealed) or writes with the
  newest key itself;
- ``gorgias_install_states.code_verifier`` and ``gorgias_pending_revocations.token``, resealed
  with a compare-and-swap on the old ciphertext (a row consumed meanwhile is simply gone).

Rows whose ciphertexts already name the newest key id are skipped (a SQL ``LIKE`` on the
``v1.<kid>.`` prefix), so an interrupted run resumes where it stopped and a second run is a
no-op. A ciphertext that opens with no configured key is counted as failed and left as it is
(the store flags such an installation ``needs_reauth`` when it reads it). Nothing here logs or
returns a plaintext.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field

from sqlalchemy import ColumnElement
from sqlalchemy import Engine
from sqlalchemy import Table
from sqlalchemy import Update
from sqlalchemy import and_
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update

from ..core.account import Account
from ..core.records import InstallUpdate
from ..errors import DecryptionError
from ..errors import StoreError
from .crypto import Keyring
from .schema import install_states
from .schema import installations
from .schema import pending_revocations
from .sql.installations import SQLInstallationStore
from .sql.revocations import _context as revocation_context

T, S, R = installations.c, install_states.c, pending_revocations.c
Progress = Callable[[int], None]


@dataclass
class RotationReport:
    """What a rotation did; ``failed`` names rows (never values) that could not be resealed."""

    current_kid: str
    total: int = 0
    rotated: int = 0
    already_current: int = 0
    failed: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class RotationPlan:
    """How many sealed rows exist and how many still name an older key."""

    current_kid: str
    total: int
    pending: int


class KeyRotation:
    """Reseal every row of one database under ``keyring``'s newest key."""

    def __init__(self, store: SQLInstallationStore, *, batch_size: int = 100) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.store = store
        self.engine: Engine = store.engine
        self.keyring: Keyring = store.keyring
        self.batch_size = batch_size

    def _old(self, *columns: ColumnElement[str | None]) -> ColumnElement[bool]:
        prefix = self.keyring.current_prefix() + "%"
        return or_(*(and_(c.is_not(None), c.not_like(prefix)) for c in columns))

    def _conditions(self) -> list[tuple[Table, ColumnElement[bool]]]:
        return [
            (installations, self._old(T.access_token, T.refresh_token)),
            (install_states, self._old(S.code_verifier)),
            (pending_revocations, self._old(R.token)),
        ]

    def plan(self) -> RotationPlan:
        """Count the sealed rows, and those still under an older key."""
        sealed: list[tuple[Table, ColumnElement[bool]]] = [
            (installations, or_(T.access_token.is_not(None), T.refresh_token.is_not(None))),
            (install_states, S.code_verifier.is_not(None)),
            (pending_revocations, R.token.is_not(None)),
        ]
        with self.engine.connect() as conn:
            total, pending = (
                sum(
                    int(conn.execute(select(func.count()).select_from(t).where(w)).scalar_one())
                    for t, w in which
                )
                for which in (sealed, self._conditions())
            )
        return RotationPlan(self.keyring.current_kid, total, pending)

    def run(self, progress: Progress | None = None) -> RotationReport:
        """Reseal every pending row; ``progress(1)`` is called once per row handled."""
        step = progress or (lambda _n: None)
        plan = self.plan()
        report = RotationReport(plan.current_kid, total=plan.total)
        report.already_current = plan.total - plan.pending
        self._installations(report, step)
        self._states(report, step)
        self._revocations(report, step)
        return report

    # -- installations: under the row lock, like a refresh ---------------------------------
    def _installations(self, report: RotationReport, step: Progress) -> None:
        last = ""
        while True:
            query = (
                select(T.account)
                .where(T.account > last, self._old(T.access_token, T.refresh_token))
                .order_by(T.account)
                .limit(self.batch_size)
            )
            with self.engine.connect() as conn:
                batch = list(conn.execute(query).scalars())
            if not batch:
                return
            for account in batch:
                self._reseal_installation(account, report)
                step(1)
            last = batch[-1]

    def _reseal_installation(self, account: str, report: RotationReport) -> None:
        try:
            with self.store.locked(Account(account)) as lock:
                current = lock.current
                if current is None:  # deleted meanwhile: nothing left to protect
                    return
                if current.tokens is None:  # sealed values that do not open here
                    report.failed.append(f"installation:{account}")
                    return
                lock.apply(InstallUpdate(tokens=current.tokens))
        except DecryptionError:
            report.failed.append(f"installation:{account}")
            return
        report.rotated += 1

    # -- short-lived rows: compare-and-swap on the ciphertext ------------------------------
    def _states(self, report: RotationReport, step: Progress) -> None:
        last = ""
        while True:
            query = (
                select(S.state_hash, S.code_verifier)
                .where(S.state_hash > last, self._old(S.code_verifier))
                .order_by(S.state_hash)
                .limit(self.batch_size)
            )
            with self.engine.connect() as conn:
                batch = conn.execute(query).all()
            if not batch:
                return
            for state_hash, sealed in batch:
                context = f"state:{state_hash}:code_verifier"
                self._swap(
                    report,
                    f"install_state:{state_hash[:8]}",
                    sealed,
                    context,
                    update(install_states).where(
                        S.state_hash == state_hash, S.code_verifier == sealed
                    ),
                    "code_verifier",
                )
                step(1)
            last = batch[-1][0]

    def _revocations(self, report: RotationReport, step: Progress) -> None:
        last = 0
        while True:
            query = (
                select(R.id, R.account, R.token)
                .where(R.id > last, self._old(R.token))
                .order_by(R.id)
                .limit(self.batch_size)
            )
            with self.engine.connect() as conn:
                batch = conn.execute(query).all()
            if not batch:
                return
            for row_id, account, sealed in batch:
                self._swap(
                    report,
                    f"pending_revocation:{row_id}",
                    sealed,
                    revocation_context(account),
                    update(pending_revocations).where(R.id == row_id, R.token == sealed),
                    "token",
                )
                step(1)
            last = batch[-1][0]

    def _swap(
        self,
        report: RotationReport,
        label: str,
        sealed: str,
        context: str,
        statement: Update,
        column: str,
    ) -> None:
        try:
            resealed = self.keyring.reseal(sealed, context=context)
        except DecryptionError:
            report.failed.append(label)
            return
        with self.engine.begin() as conn:
            done = conn.execute(statement.values({column: resealed})).rowcount
        if done == 1:
            report.rotated += 1
        elif done > 1:  # pragma: no cover - the key columns are unique
            raise StoreError(f"{label} matched {done} rows")
