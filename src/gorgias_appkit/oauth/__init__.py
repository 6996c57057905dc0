"""OAuth 2.0 / OIDC client side: sans-IO protocol, HTTP client, id_token checks, install flow."""
