"""Secret hygiene: a masked value type and a logging filter that scrubs token-shaped text.

A :class:`Secret` never shows its value through ``repr``, ``str``, ``format`` or JSON (pass
:func:`json_default` as ``json.dumps(..., default=json_default)``; the Flask glue installs it in
the app's JSON provider); code that needs the value calls :meth:`Secret.reveal` at the one place
it is sent (SEC-13). Stdlib only.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import threading
from urllib.parse import unquote_plus

MASK = "***"


class Secret:
    """A string that must never be printed: tokens, codes, client secrets."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError("Secret wraps a str")
        self._value = value

    def reveal(self) -> str:
        """Return the plaintext; call it only where the value is sent or encrypted."""
        return self._value

    def fingerprint(self) -> str:
        """Return the first 8 hex chars of SHA-256: safe to log, stable for correlation."""
        return fingerprint(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Secret):
            return _consteq(self._value, other._value)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __repr__(self) -> str:
        return f"Secret({MASK})"

    def __str__(self) -> str:
        return MASK

    def __format__(self, spec: str) -> str:
        return MASK

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a Secret is not picklable")

    def to_json(self) -> str:
        """Return the masked JSON form."""
        return MASK


def _consteq(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def json_default(value: object) -> object:
    """``default=`` hook for :func:`json.dumps`: a :class:`Secret` becomes the mask (SEC-13)."""
    if isinstance(value, Secret):
        return value.to_json()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def fingerprint(value: str) -> str:
    """Return the first 8 hex chars of SHA-256 of ``value`` (SEC-13)."""
    return hashlib.sha256(value.encode()).hexdigest()[:8]


# Token-shaped text: bearer headers, JWTs, and OAuth parameters that carry secrets.
_PATTERNS = (
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(r"(?i)(basic\s+)[A-Za-z0-9+/=]+"),
    re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),
    re.compile(
        r"(?i)((?:access_token|refresh_token|id_token|code|code_verifier|client_secret|token|"
        r"state|nonce)[\"']?\s*[=:]\s*[\"']?)[^\s&\"',}]+"
    ),
)


# Query parameters whose value is a secret, matched on the decoded name (``%63ode`` is ``code``):
# access logs print request lines such as ``GET /oauth/callback?code=…&state=… HTTP/1.1``.
_SECRET_PARAMS = frozenset(
    {
        "code",
        "state",
        "nonce",
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "code_verifier",
        "client_secret",
    }
)
_QUERY_PAIR = re.compile(r"([?&;])([^=&;\s#\"']+)=([^&;\s#\"']*)")


def _mask_query_values(text: str) -> str:
    def mask(match: re.Match[str]) -> str:
        name = unquote_plus(match.group(2)).strip().lower().removesuffix("[]")
        if name in _SECRET_PARAMS:
            return f"{match.group(1)}{match.group(2)}={MASK}"
        return match.group(0)

    return _QUERY_PAIR.sub(mask, text)


class SecretScrubber(logging.Filter):
    """A logging filter that masks token-shaped text and every registered secret value.

    Install it on handlers (``install_log_scrubber``) so records from any library are cleaned.
    """

    def __init__(self) -> None:
        super().__init__()
        self._known: set[str] = set()
        self._lock = threading.Lock()

    def register(self, value: str) -> None:
        """Mask this exact value wherever it appears (e.g. the client secret)."""
        if value and len(value) >= 4:
            with self._lock:
                self._known.add(value)

    def scrub(self, text: str) -> str:
        """Return ``text`` with every secret masked."""
        with self._lock:
            known = sorted(self._known, key=len, reverse=True)
        for value in known:
            text = text.replace(value, MASK)
        text = _mask_query_values(text)
        for pattern in _PATTERNS:
            text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + MASK, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        """Render the record's message once, scrubbed, and drop its arguments."""
        message = self.scrub(record.getMessage())
        record.msg = message
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = self.scrub(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


SCRUBBER = SecretScrubber()


def install_log_scrubber(logger: logging.Logger | None = None) -> SecretScrubber:
    """Attach the process-wide scrubber to every handler of ``logger`` (default: root)."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if SCRUBBER not in handler.filters:
            handler.addFilter(SCRUBBER)
    if SCRUBBER not in target.filters:
        target.addFilter(SCRUBBER)
    return SCRUBBER
