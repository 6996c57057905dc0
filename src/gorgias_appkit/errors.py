"""The single exception tree of gorgias-appkit.

No message in this tree ever contains a token, a code or a secret: callers pass
account names, RFC error codes and short descriptions only.

    GorgiasAppError
    ├── ConfigError                 every missing/invalid setting, listed in one message
    ├── InvalidAccount              subdomain failed validation
    ├── OAuthError                  .error (RFC 6749 code), .description
    │   ├── InvalidState            missing / unknown / expired / replayed / foreign-browser state
    │   ├── AccessDenied            merchant declined consent
    │   ├── InvalidGrant            code or refresh token rejected → installation needs re-auth
    │   ├── InvalidTokenResponse    token endpoint answered 200 with something unusable
    │   ├── IdTokenError            id_token failed validation (OIDC Core §3.1.3.7)
    │   ├── AccountMismatch         tokens belong to another account than the flow started for
    │   └── TokenEndpointError      non-OAuth failure (5xx, 429, redirect, transport, non-JSON body)
    │       ├── ExchangeOutcomeUnknown  the code may have been consumed: restart the install
    │       └── RefreshOutcomeUnknown   the refresh token may have been spent: never resent
    ├── StoreError
    │   ├── InstallationNotFound
    │   ├── ConcurrentUpdate        lost the compare-and-swap; caller re-reads
    │   ├── DecryptionError         ciphertext does not open with any key (or was moved)
    │   └── TokensUnreadable        an installation's tokens do not open: a configuration problem
    ├── InstallationUnavailable     .status: needs_reauth / uninstalled; no call is made
    ├── GorgiasBusy                 the browser request's deadline passed; .retry_after
    └── ApiError                    .status_code, .account
        ├── BadRequest · Unauthorized · Forbidden · NotFound · Conflict · PayloadTooLarge
        ├── RateLimited             .retry_after
        ├── ServerError
        ├── OutcomeUnknown          a POST whose result is unknown (never retried blindly)
        ├── GorgiasUnreachable      transport failure after retries
        └── CleanupIncomplete       disconnect stopped removing the app's objects; .remaining
"""

from __future__ import annotations


class GorgiasAppError(Exception):
    """Base class of every error this package raises on purpose."""


class ConfigError(GorgiasAppError):
    """The configuration is invalid; ``problems`` lists every problem found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("invalid configuration:\n  - " + "\n  - ".join(self.problems))


class InvalidAccount(GorgiasAppError):
    """The account is not a valid Gorgias subdomain (SEC-01)."""


class OAuthError(GorgiasAppError):
    """An OAuth 2.0 failure; ``error`` is the RFC 6749 code."""

    error = "server_error"

    def __init__(self, description: str = "", *, error: str | None = None) -> None:
        if error is not None:
            self.error = error
        self.description = description
        super().__init__(f"{self.error}: {description}" if description else self.error)


class InvalidState(OAuthError):
    """The callback's state is missing, unknown, replayed, expired or from another browser."""

    error = "invalid_state"


class AccessDenied(OAuthError):
    """The merchant declined the consent screen."""

    error = "access_denied"


class InvalidGrant(OAuthError):
    """The code or refresh token was rejected by the authorization server."""

    error = "invalid_grant"


class InvalidTokenResponse(OAuthError):
    """The token endpoint answered with a body the kit cannot use (SEC-15)."""

    error = "invalid_token_response"


class IdTokenError(OAuthError):
    """The id_token failed validation; ``reason`` is a short machine code."""

    error = "invalid_id_token"

    def __init__(self, reason: str, description: str = "") -> None:
        self.reason = reason
        super().__init__(description or reason)


class AccountMismatch(OAuthError):
    """The tokens do not belong to the account the install started for (SEC-18)."""

    error = "account_mismatch"


class TokenEndpointError(OAuthError):
    """The token or revocation endpoint failed outside the OAuth error protocol."""

    error = "token_endpoint_error"

    def __init__(
        self,
        description: str = "",
        *,
        status_code: int | None = None,
        retry_after: float | None = None,
        transient: bool = True,
    ) -> None:
        self.status_code = status_code
        self.retry_after = retry_after
        self.transient = transient
        super().__init__(description)


class ExchangeOutcomeUnknown(TokenEndpointError):
    """The code exchange may have reached the server; the code must not be sent again (REL-06)."""

    error = "exchange_outcome_unknown"


class RefreshOutcomeUnknown(TokenEndpointError):
    """The refresh may have reached the server; the refresh token is not sent again (REL-03)."""

    error = "refresh_outcome_unknown"


class StoreError(GorgiasAppError):
    """A storage failure."""


class InstallationNotFound(StoreError):
    """No installation is stored for this account."""


class ConcurrentUpdate(StoreError):
    """Another writer changed the installation first; re-read and decide again."""


class DecryptionError(StoreError):
    """A stored ciphertext does not decrypt with any configured key for its row (SEC-14)."""


class TokensUnreadable(StoreError):
    """The configured keys cannot open an installation's tokens (SEC-14).

    A configuration problem, not an uninstall: nothing is changed, and the installation works
    again once ``GORGIAS_ENCRYPTION_KEYS`` holds the key that sealed it. ``reason`` names the
    key id or the failure, never a value.
    """

    def __init__(self, account: str, reason: str) -> None:
        self.account = account
        self.reason = reason
        super().__init__(
            f"the stored tokens of {account!r} cannot be opened ({reason}); "
            "check GORGIAS_ENCRYPTION_KEYS"
        )


class InstallationUnavailable(GorgiasAppError):
    """The installation cannot be used until the merchant reconnects."""

    def __init__(self, account: str, status: str) -> None:
        self.account = account
        self.status = status
        super().__init__(f"installation {account!r} is {status}; the merchant must reconnect")


class GorgiasBusy(GorgiasAppError):
    """The browser request's deadline passed before the work it waited on finished.

    Raised while answering a request only (``GORGIAS_REQUEST_DEADLINE``): a token refresh it
    started goes on in the background and is stored; the page asks to try again.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class ApiError(GorgiasAppError):
    """A Gorgias REST API call failed."""

    def __init__(
        self,
        message: str,
        *,
        account: str,
        status_code: int | None = None,
        data: object = None,
    ) -> None:
        self.account = account
        self.status_code = status_code
        self.data = data
        prefix = f"{status_code} " if status_code else ""
        super().__init__(f"{prefix}{message} (account {account!r})")


class BadRequest(ApiError):
    """400: missing, invalid or unknown parameters."""


class Unauthorized(ApiError):
    """401: the token was refused even after one forced refresh."""


class Forbidden(ApiError):
    """403: the user role or the granted scopes do not allow this."""


class NotFound(ApiError):
    """404: the resource does not exist (often deleted)."""


class Conflict(ApiError):
    """409: conflicts with existing data."""


class PayloadTooLarge(ApiError):
    """413: the payload is too large."""


class RateLimited(ApiError):
    """429 after retries, or the caller's deadline ran out while waiting for budget."""

    def __init__(self, message: str, *, account: str, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message, account=account, status_code=429)


class ServerError(ApiError):
    """5xx after retries."""


class OutcomeUnknown(ApiError):
    """A non-idempotent request was sent but its result is unknown; it was not retried."""


class GorgiasUnreachable(ApiError):
    """The API could not be reached (connect errors, timeouts) within the retry budget."""


class CleanupIncomplete(ApiError):
    """Disconnect could not remove every object the app created; the install is unchanged.

    ``remaining`` objects stay in the ledger, so the next disconnect resumes where this one
    stopped. The cause (an :class:`ApiError`) is chained as ``__cause__``.
    """

    def __init__(self, account: str, *, remaining: int, status_code: int | None = None) -> None:
        self.remaining = remaining
        super().__init__(
            f"clean-up stopped with {remaining} object(s) left; disconnect again to resume",
            account=account,
            status_code=status_code,
        )
