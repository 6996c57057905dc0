"""Sandbox settings: the frozen :class:`SandboxConfig`, its validation and its parsing.

Owns every switch the sandbox has (Gorgias quirks are the defaults; ``config_help.FIELD_HELP``
describes each one), the check that rejects bad values with one ``ValueError`` listing every
problem, parsing from ``SANDBOX_*`` environment variables (:meth:`SandboxConfig.from_env`) and
from JSON patches sent to ``/_sandbox/config`` (:meth:`SandboxConfig.with_changes`).
"""

from __future__ import annotations

import dataclasses
import os
import re
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ACCOUNT_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")

TAMPER_MODES = (
    "none",
    "bad_iss",
    "bad_aud",
    "missing_sub",
    "missing_iat",
    "bad_nonce",
    "bad_signature",
    "alg_none",
    "hs256_with_client_secret",
    "expired",
    "iat_future",
    "wrong_key",
    "bad_azp",
    "extra_aud",
    "no_kid",
    "embedded_jwk",
)

CHOICES: dict[str, tuple[str, ...]] = {
    "redirect_uri_match": ("loopback", "exact", "prefix"),
    "expires_in_mode": ("zero", "positive", "absent"),
    "access_token_format": ("jwt", "opaque"),
    "id_token_tamper": TAMPER_MODES,
    "error_body_shape": ("object", "string"),
    "integration_trigger_spelling": ("hyphen", "underscore", "both"),
}

_POSITIVE = (
    "code_ttl",
    "access_token_ttl",
    "id_token_ttl",
    "rate_limit",
    "rate_window",
    "cursor_ttl",
    "integration_timeout",
    "integration_failure_limit",
)
_NON_NEGATIVE = ("reuse_grace_seconds", "token_leeway", "signing_key_generation")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class SandboxConfig:
    """Every run-time switch of the sandbox. Defaults reproduce Gorgias as documented."""

    # Registered OAuth client (more can be added through POST /_sandbox/clients).
    client_id: str = "sandbox-client-id"
    client_secret: str = "sandbox-client-secret"  # noqa: S105 - a well-known fake
    redirect_uris: tuple[str, ...] = ("http://127.0.0.1:8000/oauth/callback",)
    redirect_uri_match: str = "loopback"
    app_name: str = "Sandbox App"
    accounts: tuple[str, ...] = ("acme", "globex", "initech")
    # Authorization endpoint.
    auto_approve: bool = False
    send_iss: bool = False
    require_pkce: bool = False
    code_ttl: int = 600
    # Token endpoint.
    allow_client_secret_post: bool = False
    rotate_refresh_tokens: bool = False
    reuse_detection: bool = True
    reuse_grace_seconds: float = 0.0
    id_token_on_refresh: bool = False
    id_token_azp: bool = False
    id_token_tamper: str = "none"  # noqa: S105 - a mode name
    expires_in_mode: str = "zero"
    access_token_format: str = "jwt"  # noqa: S105 - a format name
    access_token_ttl: int = 86400
    id_token_ttl: int = 3600
    revoke_access_tokens_on_revoke: bool = False
    publish_jwks: bool = False
    discovery_issuer: str = ""  # non-empty: the discovery doc names this issuer (a mismatch)
    signing_key_generation: int = 0  # > 0: id_tokens signed by a rotated key (JWKS lists all)
    # REST API.
    token_leeway: int = 15
    rate_limit_enabled: bool = True
    rate_limit: int = 80
    rate_window: float = 20.0
    always_send_retry_after: bool = False
    error_body_shape: str = "object"
    cursor_ttl: int = 3600
    # HTTP integrations (Gorgias calling the app) and widgets.
    integration_timeout: float = 10.0
    integration_failure_limit: int = 100
    integration_trigger_spelling: str = "hyphen"
    integration_delete_with_widgets: bool = False
    integration_call_on_view: bool = False

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise ValueError("invalid sandbox config: " + "; ".join(problems))

    def problems(self) -> list[str]:
        """Return a human-readable list of everything wrong with this config."""
        out: list[str] = []
        for name, allowed in CHOICES.items():
            value = getattr(self, name)
            if value not in allowed:
                out.append(f"{name}={value!r} is not one of {', '.join(allowed)}")
        for name in _POSITIVE:
            if getattr(self, name) <= 0:
                out.append(f"{name} must be > 0")
        for name in _NON_NEGATIVE:
            if getattr(self, name) < 0:
                out.append(f"{name} must be >= 0")
        if not self.client_id or not self.client_secret:
            out.append("client_id and client_secret must not be empty")
        if not self.redirect_uris:
            out.append("redirect_uris must list at least one URI")
        for domain in self.accounts:
            if not ACCOUNT_RE.match(domain) or domain.startswith("_"):
                out.append(f"account {domain!r} is not a valid subdomain")
        return out

    @classmethod
    def field_types(cls) -> dict[str, Any]:
        """Map each field name to its Python type."""
        hints = typing.get_type_hints(cls)
        return {f.name: hints[f.name] for f in dataclasses.fields(cls)}

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SandboxConfig:
        """Build a config from ``SANDBOX_<FIELD>`` variables (``os.environ`` by default)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        problems: list[str] = []
        for name, typ in cls.field_types().items():
            key = "SANDBOX_" + name.upper()
            if key in env:
                try:
                    values[name] = _parse(typ, env[key])
                except ValueError as exc:
                    problems.append(f"{key}: {exc}")
        return cls._build(values, problems)

    def with_changes(self, changes: Mapping[str, Any]) -> SandboxConfig:
        """Return a copy with ``changes`` (JSON values or strings) applied; else ValueError."""
        types = self.field_types()
        values = self.to_dict()
        problems: list[str] = []
        for name, raw in changes.items():
            if name not in types:
                problems.append(f"unknown setting {name!r}")
                continue
            try:
                values[name] = _coerce(types[name], raw)
            except ValueError as exc:
                problems.append(f"{name}: {exc}")
        return self._build(values, problems)

    @classmethod
    def _build(cls, values: dict[str, Any], problems: list[str]) -> SandboxConfig:
        if not problems:
            try:
                return cls(**values)
            except ValueError as exc:
                raise ValueError(str(exc)) from None
        # Report type errors together with whatever the remaining values get wrong.
        try:
            cls(**values)
        except ValueError as exc:
            problems.append(str(exc).removeprefix("invalid sandbox config: "))
        raise ValueError("invalid sandbox config: " + "; ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        """Return the config as a JSON-friendly dict (tuples become lists when serialised)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


def _parse(typ: Any, text: str) -> Any:
    """Parse an environment-variable string into ``typ``."""
    text = text.strip()
    if typ is bool:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ValueError(f"{text!r} is not a boolean (use true/false, 1/0, yes/no, on/off)")
    if typ is int:
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"{text!r} is not an integer") from None
    if typ is float:
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a number") from None
    if typ is str:
        return text
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _coerce(typ: Any, raw: Any) -> Any:
    """Coerce a JSON value (or a string, parsed like an env var) into ``typ``."""
    if isinstance(raw, str) and typ is not str:
        return _parse(typ, raw)
    if typ is bool and isinstance(raw, bool):
        return raw
    if typ is int and isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if typ is float and isinstance(raw, int | float) and not isinstance(raw, bool):
        return float(raw)
    if typ is str and isinstance(raw, str):
        return raw
    is_tuple = typ not in (bool, int, float, str)
    if is_tuple and isinstance(raw, list | tuple) and all(isinstance(i, str) for i in raw):
        return tuple(raw)
    raise ValueError(f"{raw!r} has the wrong type")
