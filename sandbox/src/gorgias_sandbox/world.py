"""All sandbox state, in memory, behind one ``threading.RLock``.

The :class:`World` owns the current config (and the start-up one ``reset`` returns to), the
accounts and their seeded resources, the registered OAuth clients, the code/grant/token store,
the request counters, the fault rules, the per-account rate-limit buckets and the HTTP
integration deliveries (``deliveries.py``, with its worker pool). Request handlers take
``world.lock`` around every read-modify-write, so the threaded server stays consistent.
"""

from __future__ import annotations

import secrets
import threading
from collections import Counter
from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from .config import ACCOUNT_RE, SandboxConfig
from .deliveries import Deliveries
from .faults import FaultRule
from .grants import GrantStore
from .ratelimit import LeakyBucket
from .seed import seed_account


@dataclass(frozen=True)
class Client:
    """A registered OAuth client (an App Store app)."""

    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...]
    name: str


class AccountData:
    """One Gorgias account ("tenant") and its resources."""

    def __init__(self, seed: dict[str, Any]) -> None:
        self.record: dict[str, Any] = seed["record"]
        self.users: list[dict[str, Any]] = seed["users"]
        self.customers: list[dict[str, Any]] = seed["customers"]
        self.tickets: list[dict[str, Any]] = seed["tickets"]
        self.messages: dict[int, list[dict[str, Any]]] = seed["messages"]
        self.integrations: dict[int, dict[str, Any]] = {}
        self.widgets: dict[int, dict[str, Any]] = {}
        self._next_ids: dict[str, int] = dict(seed["next_ids"])

    @property
    def domain(self) -> str:
        return str(self.record["domain"])

    def new_id(self, kind: str) -> int:
        """Allocate the next integer id for ``kind`` (ticket, message, integration, widget)."""
        self._next_ids[kind] += 1
        return self._next_ids[kind]

    def user(self, user_id: int) -> dict[str, Any] | None:
        return next((u for u in self.users if u["id"] == user_id), None)

    def owner(self) -> dict[str, Any]:
        """The account's first admin: who "installs" the app when consent is automatic."""
        return next((u for u in self.users if u["role"]["name"] == "admin"), self.users[0])

    def ticket(self, ticket_id: int) -> dict[str, Any] | None:
        return next((t for t in self.tickets if t["id"] == ticket_id), None)


class AccountRegistry(MutableMapping[str, AccountData]):
    """Accounts by domain, each seeded on first access (most runs touch only one or two)."""

    def __init__(self, domains: tuple[str, ...]) -> None:
        self._names: dict[str, str | None] = dict.fromkeys(domains)
        self._data: dict[str, AccountData] = {}

    def add(self, domain: str, name: str | None) -> AccountData:
        self._names[domain] = name
        return self[domain]

    def __getitem__(self, domain: str) -> AccountData:
        if domain not in self._data:
            if domain not in self._names:
                raise KeyError(domain)
            self._data[domain] = AccountData(seed_account(domain, self._names[domain]))
        return self._data[domain]

    def __setitem__(self, domain: str, account: AccountData) -> None:
        self._names[domain] = account.record["name"]
        self._data[domain] = account

    def __delitem__(self, domain: str) -> None:
        del self._names[domain]
        self._data.pop(domain, None)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._names))

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, domain: object) -> bool:
        return domain in self._names


class World:
    """The whole sandbox state. Use ``with world.lock:`` around compound operations."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.lock = threading.RLock()
        self.initial_config = config or SandboxConfig()
        self.deliveries = Deliveries(self)
        self.csrf_token = secrets.token_urlsafe(32)  # ticket pages' forms; stable across resets
        self.reset()

    def reset(self) -> None:
        """Return to start-up state: config, accounts (reseeded), clients, grants, deliveries."""
        with self.lock:
            self.config = self.initial_config
            self.accounts = AccountRegistry(self.config.accounts)
            self.clients: dict[str, Client] = {}
            self.store = GrantStore()
            self.counters: dict[str, Counter[str]] = {}
            self.faults: list[FaultRule] = []
            self._fault_seq = 0
            self.buckets: dict[str, LeakyBucket] = {}
            self.deliveries.reset()

    # -- config -------------------------------------------------------------------------
    def configure(self, changes: Mapping[str, Any]) -> SandboxConfig:
        """Apply run-time switches; raise ``ValueError`` (nothing applied) on any bad key/value."""
        with self.lock:
            self.config = self.config.with_changes(changes)
            for bucket in self.buckets.values():
                bucket.reconfigure(self.config.rate_limit, self.config.rate_window)
            return self.config

    # -- accounts and clients -------------------------------------------------------------
    def account(self, domain: str) -> AccountData | None:
        with self.lock:
            return self.accounts.get(domain)

    def create_account(self, domain: str, name: str | None = None) -> AccountData:
        """Create and seed an account; ``ValueError`` if invalid, ``KeyError`` if it exists."""
        if not isinstance(domain, str) or not ACCOUNT_RE.match(domain):
            raise ValueError("domain must be a subdomain like 'acme' ([a-z0-9-])")
        with self.lock:
            if domain in self.accounts:
                raise KeyError(domain)
            return self.accounts.add(domain, name)

    def client(self, client_id: str) -> Client | None:
        """Look up a client; the config's client always exists and follows config changes."""
        with self.lock:
            cfg = self.config
            if client_id == cfg.client_id:
                return Client(cfg.client_id, cfg.client_secret, cfg.redirect_uris, cfg.app_name)
            return self.clients.get(client_id)

    def register_client(
        self,
        client_id: str,
        client_secret: str,
        redirect_uris: tuple[str, ...],
        name: str | None = None,
    ) -> Client:
        client = Client(client_id, client_secret, tuple(redirect_uris), name or client_id)
        with self.lock:
            self.clients[client_id] = client
        return client

    # -- counters -------------------------------------------------------------------------
    def count(self, account: str, name: str) -> None:
        with self.lock:
            self.counters.setdefault(account, Counter())[name] += 1

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {"counters": {acc: dict(c) for acc, c in self.counters.items()}}

    # -- faults ---------------------------------------------------------------------------
    def add_fault(self, data: Mapping[str, Any]) -> FaultRule:
        with self.lock:
            rule = FaultRule.from_dict(self._fault_seq + 1, data)
            self._fault_seq += 1
            self.faults.append(rule)
            return rule

    def clear_faults(self) -> int:
        with self.lock:
            cleared = len(self.faults)
            self.faults = []
            return cleared

    def take_fault(
        self, account: str, path: str, method: str, grant_type: str | None
    ) -> FaultRule | None:
        """Return (and use up once) the first rule matching this request, if any."""
        with self.lock:
            for rule in self.faults:
                if rule.matches(account, path, method, grant_type):
                    rule.consume()
                    return rule
            return None

    # -- rate limits ----------------------------------------------------------------------
    def bucket(self, account: str) -> LeakyBucket:
        with self.lock:
            if account not in self.buckets:
                self.buckets[account] = LeakyBucket(self.config.rate_limit, self.config.rate_window)
            return self.buckets[account]

    # -- grants ---------------------------------------------------------------------------
    def grants(self, account: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [g.to_dict() for g in self.store.for_account(account)]

    def revoke_account(self, account: str, reason: str = "uninstalled") -> int:
        """Revoke every active grant of ``account`` (the merchant uninstalled the app)."""
        with self.lock:
            active = [g for g in self.store.for_account(account) if g.status == "active"]
            for grant in active:
                self.store.revoke_grant(
                    grant, reason, access_tokens=self.config.revoke_access_tokens_on_revoke
                )
            return len(active)

    def objects(self, account: AccountData) -> dict[str, Any]:
        """Integrations and widgets that exist right now (for leak checks)."""
        with self.lock:
            return {
                "integrations": list(account.integrations.values()),
                "widgets": list(account.widgets.values()),
            }
