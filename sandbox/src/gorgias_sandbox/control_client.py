"""A tiny Python client for the control API (``/_sandbox/*``), for tests and the CLI.

Works over real HTTP or any ``httpx.Client`` you pass (e.g. one on a ``WSGITransport``).
Any non-2xx answer raises :class:`SandboxControlError`.
"""

from __future__ import annotations

from typing import Any

import httpx


class SandboxControlError(RuntimeError):
    """The control API refused a request."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"sandbox control API answered {status}: {body}")
        self.status, self.body = status, body


class SandboxControl:
    """Drive a running sandbox: counters, config, faults, grants, accounts, integrations."""

    def __init__(self, base_url: str, http: httpx.Client | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._own = http is None
        self._http = http or httpx.Client(timeout=10.0)

    def close(self) -> None:
        if self._own:
            self._http.close()

    def __enter__(self) -> SandboxControl:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._http.request(method, f"{self.base_url}/_sandbox{path}", **kwargs)
        body = response.json() if response.content else None
        if response.status_code >= 300:
            raise SandboxControlError(response.status_code, body)
        return body

    def health(self) -> bool:
        return bool(self._call("GET", "/health")["ok"])

    def stats(self) -> dict[str, Any]:
        """``{"counters": {account: {endpoint: n}}}``."""
        result: dict[str, Any] = self._call("GET", "/stats")
        return result

    def count(self, account: str, endpoint: str) -> int:
        """How many requests ``account`` got on ``endpoint`` (e.g. ``oauth.token``)."""
        return int(self.stats()["counters"].get(account, {}).get(endpoint, 0))

    def reset(self) -> None:
        self._call("POST", "/reset")

    def config(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/config")
        return result

    def configure(self, **switches: Any) -> dict[str, Any]:
        """Change config switches at run time; returns the whole new config."""
        result: dict[str, Any] = self._call("PATCH", "/config", json=switches)
        return result

    def add_fault(self, **rule: Any) -> dict[str, Any]:
        """Add a fault rule (fields: see ``faults.py``); returns it with its ``id``."""
        result: dict[str, Any] = self._call("POST", "/faults", json=rule)
        return result

    def faults(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/faults")["faults"])

    def clear_faults(self) -> int:
        return int(self._call("DELETE", "/faults")["cleared"])

    def grants(self, account: str | None = None) -> list[dict[str, Any]]:
        params = {"account": account} if account else None
        return list(self._call("GET", "/grants", params=params)["grants"])

    def revoke_account(self, account: str) -> int:
        """Revoke every grant of ``account`` (the merchant uninstalled the app)."""
        return int(self._call("POST", f"/accounts/{account}/revoke")["revoked"])

    def drain(self, account: str, requests: int) -> dict[str, Any]:
        """Fill ``account``'s rate-limit bucket by ``requests``, as another app would."""
        result: dict[str, Any] = self._call(
            "POST", f"/accounts/{account}/drain", json={"requests": requests}
        )
        return result

    def objects(self, account: str) -> dict[str, Any]:
        """``{"integrations": [...], "widgets": [...]}`` existing in ``account`` now."""
        result: dict[str, Any] = self._call("GET", f"/accounts/{account}/objects")
        return result

    # -- HTTP integrations (Gorgias calling the app) ------------------------------------
    def deliveries(self, account: str) -> list[dict[str, Any]]:
        """Every integration call attempt in ``account``, oldest first (header values masked)."""
        return list(self._call("GET", f"/accounts/{account}/deliveries")["deliveries"])

    def integration_states(self, account: str) -> list[dict[str, Any]]:
        """Per integration: ``consecutive_failures``, ``active``, ``deactivated_datetime``."""
        return list(self._call("GET", f"/accounts/{account}/integrations")["integrations"])

    def answers(self, account: str, ticket_id: int | None = None) -> list[dict[str, Any]]:
        """The last JSON answer per (ticket, integration), optionally for one ticket."""
        params = {"ticket_id": ticket_id} if ticket_id is not None else None
        return list(self._call("GET", f"/accounts/{account}/answers", params=params)["answers"])

    def wait_for_deliveries(self, timeout: float = 5.0) -> None:
        """Return once no integration call is queued or running; raise if ``timeout`` passes."""
        self._call("POST", "/deliveries/wait", json={"timeout": timeout}, timeout=timeout + 10)

    def fire_event(self, account: str, ticket_id: int, trigger: str) -> dict[str, Any]:
        """Fire ``trigger`` on a ticket as Gorgias would; returns the integration ids called."""
        result: dict[str, Any] = self._call(
            "POST", f"/accounts/{account}/tickets/{ticket_id}/events", json={"trigger": trigger}
        )
        return result

    def create_account(self, domain: str, name: str | None = None) -> dict[str, Any]:
        body = {"domain": domain, **({"name": name} if name else {})}
        result: dict[str, Any] = self._call("POST", "/accounts", json=body)
        return result

    def register_client(
        self, client_id: str, client_secret: str, redirect_uris: list[str], name: str | None = None
    ) -> dict[str, Any]:
        body = {
            "client_id": client_id,
            "client_secret": client_secret,
            "redirect_uris": redirect_uris,
            **({"name": name} if name else {}),
        }
        result: dict[str, Any] = self._call("POST", "/clients", json=body)
        return result
