"""One line of help for every :class:`~gorgias_sandbox.config.SandboxConfig` field.

Shown by ``gorgias-sandbox --help`` (as ``SANDBOX_<FIELD>`` environment variables) and kept in
step with the README's table; a test checks that every field has an entry.
"""

from __future__ import annotations

FIELD_HELP: dict[str, str] = {
    "client_id": "OAuth client id of the built-in app (a well-known fake).",
    "client_secret": "OAuth client secret of the built-in app (a well-known fake).",
    "redirect_uris": "Comma-separated callback URLs registered for the built-in app.",
    "redirect_uri_match": (
        "loopback: registered URIs plus any http://127.0.0.1|localhost|[::1]:PORT/PATH; "
        "exact: registered URIs only; prefix: anything starting with a registered URI."
    ),
    "app_name": "App name shown on the consent page.",
    "accounts": "Comma-separated Gorgias accounts (subdomains) that exist at start-up.",
    "auto_approve": "Skip the consent page: approve at once as the account's first admin.",
    "send_iss": "Add the RFC 9207 iss parameter to authorization redirects.",
    "require_pkce": "Refuse authorization requests without an S256 code_challenge.",
    "code_ttl": "Seconds an authorization code stays valid.",
    "allow_client_secret_post": "Also accept client credentials in the token request body.",
    "rotate_refresh_tokens": "Issue a new refresh token on every refresh (the old one dies).",
    "reuse_detection": "Presenting a superseded refresh token revokes the whole grant.",
    "reuse_grace_seconds": "Seconds a just-superseded refresh token still works (0: none).",
    "id_token_on_refresh": "Also return an id_token from refresh_token grants.",
    "id_token_azp": "Put an azp claim in id_tokens.",
    "id_token_tamper": (
        "Break id_tokens on purpose (bad_iss, alg_none, expired, ...; none: honest)."
    ),
    "expires_in_mode": "Token expires_in: zero (Gorgias' quirk), positive (the TTL) or absent.",
    "access_token_format": "jwt (RS256, like Gorgias) or opaque access tokens.",
    "access_token_ttl": "Seconds an access token is accepted by the API.",
    "id_token_ttl": "Seconds until an id_token's exp.",
    "revoke_access_tokens_on_revoke": "Revoking a refresh token also kills its access tokens.",
    "publish_jwks": "Serve /.well-known/openid-configuration and jwks.json (Gorgias has none).",
    "discovery_issuer": "Non-empty: the discovery document names this issuer (a mismatch).",
    "signing_key_generation": "> 0: id_tokens are signed by a rotated key (the JWKS lists all).",
    "token_leeway": "Seconds of clock leeway when the API checks an access token's exp.",
    "rate_limit_enabled": "Enforce the per-account leaky-bucket API rate limit.",
    "rate_limit": "API requests an account's bucket holds.",
    "rate_window": "Seconds the bucket takes to drain completely.",
    "always_send_retry_after": "Send Retry-after: 0 on every API answer, not only on 429.",
    "error_body_shape": 'API error body: object ({"error": {"msg"}}) or string ({"error": "..."}).',
    "cursor_ttl": "Seconds a pagination cursor stays valid.",
    "integration_timeout": "Seconds the sandbox waits for an app's answer to an HTTP integration.",
    "integration_failure_limit": "Failed calls in a row after which an integration is deactivated.",
    "integration_trigger_spelling": (
        "How http.triggers keys are returned: hyphen (ticket-created), underscore, or both "
        "(as sent). Either spelling is accepted."
    ),
    "integration_delete_with_widgets": "Allow deleting an integration a widget still uses.",
    "integration_call_on_view": (
        "Also call the integrations the account's widgets show when a ticket page is opened "
        "(recorded with trigger 'ticket-viewed'); Gorgias documents calls on ticket events only."
    ),
}
