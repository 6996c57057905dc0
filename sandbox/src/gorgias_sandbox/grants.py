"""Authorization codes, grants and the tokens issued from them (plain in-memory records).

A *grant* is one completed authorization (one code exchange). It owns every access token and
refresh token issued from that code, the status of each refresh token (``current``,
``superseded``, ``revoked``) and a log of every refresh-token presentation with its result, so
tests can assert e.g. "no second refresh was attempted with a superseded token". The store does
no locking: :class:`~gorgias_sandbox.world.World` guards it with its lock.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class AuthCode:
    """An issued authorization code and everything it is bound to."""

    code: str
    account: str
    client_id: str
    redirect_uri: str | None
    scope: str
    user_id: int
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    issued_at: float
    expires_at: float
    used_at: float | None = None
    grant_id: str | None = None


@dataclass
class AccessTokenRecord:
    """One issued access token (JWT or opaque)."""

    token: str
    jti: str
    grant_id: str
    scope: str
    issued_at: float
    expires_at: float
    revoked: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "jti": self.jti,
            "token": self.token,
            "scope": self.scope,
            "issued_at": self.issued_at,
            "expires_at": self.expires_at,
            "revoked": self.revoked,
        }


@dataclass
class RefreshTokenRecord:
    """One issued refresh token; ``status`` is ``current``, ``superseded`` or ``revoked``."""

    token: str
    rt_id: str
    grant_id: str
    issued_at: float
    status: str = "current"
    superseded_at: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.rt_id,
            "token": self.token,
            "status": self.status,
            "issued_at": self.issued_at,
            "superseded_at": self.superseded_at,
        }


@dataclass
class Grant:
    """One authorization: who granted what to which client, and what was issued from it."""

    grant_id: str
    account: str
    client_id: str
    user_id: int
    scope: str
    nonce: str | None
    created_at: float
    status: str = "active"
    revoked_at: float | None = None
    revoked_reason: str | None = None
    refresh_tokens: list[RefreshTokenRecord] = field(default_factory=list)
    access_tokens: list[AccessTokenRecord] = field(default_factory=list)
    refresh_log: list[dict[str, Any]] = field(default_factory=list)

    @property
    def current_refresh_token(self) -> RefreshTokenRecord | None:
        return next((rt for rt in self.refresh_tokens if rt.status == "current"), None)

    def to_dict(self) -> dict[str, Any]:
        """JSON form, as listed by ``GET /_sandbox/grants``."""
        current = self.current_refresh_token
        return {
            "id": self.grant_id,
            "account": self.account,
            "client_id": self.client_id,
            "user_id": self.user_id,
            "scope": self.scope,
            "status": self.status,
            "created_at": self.created_at,
            "revoked_at": self.revoked_at,
            "revoked_reason": self.revoked_reason,
            "current_refresh_token": current.token if current else None,
            "refresh_tokens": [rt.to_dict() for rt in self.refresh_tokens],
            "access_tokens": [at.to_dict() for at in self.access_tokens],
            "refresh_log": list(self.refresh_log),
        }


class GrantStore:
    """Index of codes, grants, refresh tokens and access tokens."""

    def __init__(self) -> None:
        self.codes: dict[str, AuthCode] = {}
        self.grants: dict[str, Grant] = {}
        self.refresh: dict[str, RefreshTokenRecord] = {}
        self.access: dict[str, AccessTokenRecord] = {}
        self.by_jti: dict[str, AccessTokenRecord] = {}
        self._seq = 0

    def _next(self, prefix: str) -> str:
        self._seq += 1
        return f"{prefix}{self._seq}"

    def add_code(self, code: AuthCode) -> None:
        self.codes[code.code] = code

    def new_grant(self, code: AuthCode) -> Grant:
        """Open a grant for a code being exchanged."""
        grant = Grant(
            grant_id=self._next("grant-"),
            account=code.account,
            client_id=code.client_id,
            user_id=code.user_id,
            scope=code.scope,
            nonce=code.nonce,
            created_at=time.time(),
        )
        self.grants[grant.grant_id] = grant
        code.grant_id = grant.grant_id
        return grant

    def add_access_token(self, grant: Grant, token: str, jti: str, scope: str, ttl: int) -> None:
        now = time.time()
        record = AccessTokenRecord(
            token=token,
            jti=jti,
            grant_id=grant.grant_id,
            scope=scope,
            issued_at=now,
            expires_at=now + ttl,
        )
        grant.access_tokens.append(record)
        self.access[token] = record
        self.by_jti[jti] = record

    def add_refresh_token(self, grant: Grant, token: str) -> RefreshTokenRecord:
        record = RefreshTokenRecord(
            token=token, rt_id=self._next("rt-"), grant_id=grant.grant_id, issued_at=time.time()
        )
        grant.refresh_tokens.append(record)
        self.refresh[token] = record
        return record

    def grant_of(self, record: RefreshTokenRecord | AccessTokenRecord) -> Grant:
        return self.grants[record.grant_id]

    def supersede(self, record: RefreshTokenRecord) -> None:
        if record.status == "current":
            record.status, record.superseded_at = "superseded", time.time()

    def revoke_grant(self, grant: Grant, reason: str, access_tokens: bool) -> None:
        """Revoke every refresh token of ``grant`` and, if asked, every access token."""
        if grant.status == "active":
            grant.status, grant.revoked_at, grant.revoked_reason = "revoked", time.time(), reason
        for rt in grant.refresh_tokens:
            if rt.status == "current":
                rt.status = "revoked"
        if access_tokens:
            for at in grant.access_tokens:
                at.revoked = True

    def log_refresh(self, grant: Grant, record: RefreshTokenRecord, result: str) -> None:
        grant.refresh_log.append(
            {
                "at": time.time(),
                "refresh_token_id": record.rt_id,
                "refresh_token": record.token,
                "status_before": record.status,
                "result": result,
            }
        )

    def for_account(self, account: str | None) -> list[Grant]:
        return [g for g in self.grants.values() if account is None or g.account == account]
