"""The store contract (``gorgias_appkit.testing.store_contract``) against the SQL backends."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gorgias_appkit.core.secret import Secret
from gorgias_appkit.store.crypto import Keyring
from gorgias_appkit.store.crypto import generate_key
from gorgias_appkit.store.engine import make_engine
from gorgias_appkit.store.engine import upgrade
from gorgias_appkit.store.sql.installations import SQLInstallationStore
from gorgias_appkit.store.sql.states import SQLStateStore
from gorgias_appkit.testing import FakeClock
from gorgias_appkit.testing.store_contract import InstallationStoreContract
from gorgias_appkit.testing.store_contract import StateStoreContract


@pytest.fixture
def engine(database_url: str) -> Iterator[object]:
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def keyring() -> Keyring:
    return Keyring([Secret(generate_key())])


class TestSQLInstallationStore(InstallationStoreContract):
    @pytest.fixture
    def store(self, engine, keyring: Keyring, clock: FakeClock) -> SQLInstallationStore:
        return SQLInstallationStore(engine, keyring=keyring, clock=clock)


class TestSQLStateStore(StateStoreContract):
    @pytest.fixture
    def states(self, engine, keyring: Keyring, clock: FakeClock) -> SQLStateStore:
        return SQLStateStore(engine, keyring=keyring, clock=clock)
