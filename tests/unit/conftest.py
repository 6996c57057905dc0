"""Unit-tier fixtures: a scripted Gorgias behind ``httpx.MockTransport`` and a :class:`FakeClock`.

No socket and no real sleep: every answer (or transport failure) is scripted per test, every
request is recorded, and waits only move the fake clock. Stores are SQLite files in the test's
temporary folder (there is no in-memory backend to keep honest).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from gorgias_appkit import Account
from gorgias_appkit import Kit
from gorgias_appkit import KitSettings
from gorgias_appkit import Secret
from gorgias_appkit import TokenSet
from gorgias_appkit.store.crypto import generate_key
from gorgias_appkit.testing import FakeClock

ACME = Account("acme")

CLIENT_ID = "unit-client"
CLIENT_SECRET = "s3cr+t/with:odd%chars"
BASE = "https://acme.gorgias.com"
Answer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


def token_body(name: str = "1", *, expires_in: int = 86400, **extra: Any) -> dict[str, Any]:
    """A token response with opaque tokens named after ``name``."""
    return {
        "access_token": f"at-{name}",
        "refresh_token": f"rt-{name}",
        "token_type": "Bearer",
        "expires_in": expires_in,
        "scope": "offline tickets:read",
        **extra,
    }


class FakeGorgias:
    """Scripted answers per ``(method, path)``; the last answer of a script repeats."""

    def __init__(self) -> None:
        self.scripts: dict[tuple[str, str], list[Answer]] = defaultdict(list)
        self.requests: list[httpx.Request] = []

    def on(self, method: str, path: str, *answers: Answer) -> None:
        """Answer ``method path`` with ``answers`` in order, then keep giving the last one."""
        self.scripts[(method, path)] = list(answers)

    def calls(self, method: str, path: str) -> list[httpx.Request]:
        """The recorded requests to ``method path``."""
        return [r for r in self.requests if (r.method, r.url.path) == (method, path)]

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        script = self.scripts.get((request.method, request.url.path))
        if not script:
            return httpx.Response(404, json={"error": "not scripted"})
        answer = script.pop(0) if len(script) > 1 else script[0]
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, httpx.Response):
            return answer
        return answer(request)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def gorgias() -> FakeGorgias:
    fake = FakeGorgias()
    fake.on("GET", "/api/account", httpx.Response(200, json={"domain": "acme"}))
    fake.on("POST", "/oauth/revoke", httpx.Response(200, json={}))
    return fake


@pytest.fixture
def settings_values(tmp_path: Path) -> dict[str, str]:
    return {
        "GORGIAS_CLIENT_ID": CLIENT_ID,
        "GORGIAS_CLIENT_SECRET": CLIENT_SECRET,
        "GORGIAS_APP_URL": "https://app.example.com",
        "GORGIAS_DATABASE_URL": f"sqlite:///{tmp_path / 'unit.sqlite3'}",
        "GORGIAS_ENCRYPTION_KEYS": generate_key(),
        "GORGIAS_SECRET_KEY": "x" * 40,
        "GORGIAS_SCOPES": "offline tickets:read",
        "GORGIAS_ID_TOKEN_JWKS": "off",
    }


@pytest.fixture
def kit(settings_values: dict[str, str], gorgias: FakeGorgias, clock: FakeClock) -> Iterator[Kit]:
    http = httpx.Client(transport=httpx.MockTransport(gorgias.handle))
    kit = Kit(KitSettings.from_mapping(settings_values), http=http, clock=clock)
    yield kit
    kit.close()


def install(kit: Kit, clock: FakeClock, *, hours: float = 24) -> None:
    """Store an installation of acme whose token expires in ``hours`` (no request made)."""
    kit.store.save_install(
        ACME,
        tokens=TokenSet(
            access_token=Secret("at-0"),
            refresh_token=Secret("rt-0"),
            expires_at=clock.now() + timedelta(hours=hours),
            scopes=("offline",),
        ),
        user_id="42",
        user_email=None,
    )
