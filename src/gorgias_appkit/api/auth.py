"""How an API request is authorised: ``httpx.Auth`` flows, the place httpx gives this rule.

- :class:`AccountAuth`: a bearer token from the :class:`TokenSource` (the token manager); on a
  401 one forced refresh and one retry, never a loop; a 401 on the fresh token too means the
  merchant removed the app, and the installation is marked ``uninstalled`` (REL-07).
- :class:`StaticBearer`: one fixed token (the account confirmation right after the code
  exchange, before anything is stored).
- :class:`Metered`: wraps either, so that every request it lets out first takes a slot from the
  account's shared rate budget and every answer is counted and calibrates it.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Generator
from typing import Protocol

import httpx

from ..core.account import Account
from ..core.secret import Secret


class TokenSource(Protocol):
    """What the API needs from the token manager."""

    def access_token_for(self, account: Account, *, stale: Secret | None = None) -> Secret:
        """A valid token; with ``stale``, a refreshed one unless it changed meanwhile."""
        ...

    def mark_uninstalled(self, account: Account, reason: str) -> None:
        """Record that Gorgias refused a freshly refreshed token: the app was removed."""
        ...


def _bearer(request: httpx.Request, token: Secret) -> None:
    request.headers["Authorization"] = f"Bearer {token.reveal()}"


class AccountAuth(httpx.Auth):
    """Bearer auth for one installed account, with one forced refresh on a 401."""

    def __init__(self, account: Account, tokens: TokenSource) -> None:
        self.account = account
        self.tokens = tokens

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self.tokens.access_token_for(self.account)
        _bearer(request, token)
        response = yield request
        if response.status_code != 401:
            return
        _bearer(request, self.tokens.access_token_for(self.account, stale=token))
        response = yield request
        if response.status_code == 401:
            self.tokens.mark_uninstalled(
                self.account, "API refused a fresh token: removed in Gorgias"
            )


class StaticBearer(httpx.Auth):
    """One fixed bearer token, no refresh."""

    def __init__(self, token: Secret) -> None:
        self.token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        _bearer(request, self.token)
        yield request


class Metered(httpx.Auth):
    """Run ``take`` before every request ``inner`` lets out, and ``seen`` on every answer."""

    def __init__(
        self,
        inner: httpx.Auth,
        *,
        take: Callable[[], None],
        seen: Callable[[httpx.Response, float], None],
        now: Callable[[], float],
    ) -> None:
        self.inner = inner
        self.take = take
        self.seen = seen
        self.now = now

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        inner = self.inner
        # httpx's sync_auth_flow only adds body reading, which neither of our flows asks for:
        # calling auth_flow directly saves a generator layer on every request.
        reads = inner.requires_request_body or inner.requires_response_body
        flow = inner.sync_auth_flow(request) if reads else inner.auth_flow(request)
        request = next(flow)
        while True:
            self.take()
            sent_at = self.now()
            response = yield request
            self.seen(response, sent_at)
            try:
                request = flow.send(response)
            except StopIteration:
                return
