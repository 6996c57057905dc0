"""The doctor's network probes: the app's public URL, and an account's authorize endpoint.

``probe_account`` sends one GET to ``{base}/oauth/authorize`` with the app's client id, redirect
URI and scopes (and a throwaway state and PKCE challenge), exactly as an install would start,
and judges the answer: reachable, client and redirect URI accepted, and the clock (``Date``).
:class:`Finding`, the record every doctor check returns, lives here too.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Literal
from urllib.parse import urlencode
from urllib.parse import urlsplit

import httpx

from ..core.account import parse_account
from ..core.clock import Clock
from ..core.settings import KitSettings
from ..errors import GorgiasAppError

Level = Literal["ok", "warn", "fail", "skip"]
CLOCK_WARN, CLOCK_FAIL = 5.0, 60.0


@dataclass(frozen=True, slots=True)
class Finding:
    """One line of the doctor's report."""

    check: str
    level: Level
    message: str


def probe_app_url(http: httpx.Client, settings: KitSettings) -> Finding:
    """Fetch ``{GORGIAS_APP_URL}/healthz`` through the public URL."""
    url = f"{settings.app_url}/healthz"
    try:
        answer = http.get(url)
    except httpx.HTTPError as exc:
        return Finding(
            "public URL",
            "fail",
            f"{url} cannot be reached ({type(exc).__name__}): check DNS, TLS and the proxy.",
        )
    if answer.status_code != 200:
        return Finding(
            "public URL",
            "fail",
            f"{url} answered {answer.status_code}: the "
            "public URL does not reach this app (proxy or routing).",
        )
    return Finding("public URL", "ok", f"{url} reaches the app.")


def probe_account(
    http: httpx.Client, settings: KitSettings, account: str | None, *, clock: Clock
) -> Iterator[Finding]:
    """Probe the account's authorize endpoint: reachability, client, and the clock."""
    if account is None:
        yield Finding(
            "account",
            "skip",
            "pass --account SUBDOMAIN to check that Gorgias is "
            "reachable, accepts the client id and redirect URI, and agrees on the "
            "time.",
        )
        return
    try:
        name = parse_account(account)
        url = settings.url_template.endpoint(name, "/oauth/authorize")
    except GorgiasAppError as exc:
        yield Finding("account", "fail", str(exc))
        return
    try:
        answer = http.get(f"{url}?{urlencode(_authorize_query(settings))}")
    except httpx.HTTPError as exc:
        yield Finding(
            "reachability",
            "fail",
            f"{url} cannot be reached "
            f"({type(exc).__name__}): check GORGIAS_URL_TEMPLATE, DNS and the "
            "outbound firewall.",
        )
        return
    yield _judge_authorize(answer, url, settings)
    yield _clock(answer, url, clock)


def _clock(answer: httpx.Response, url: str, clock: Clock) -> Finding:
    try:
        theirs = parsedate_to_datetime(answer.headers["date"])
    except (KeyError, TypeError, ValueError):
        return Finding("clock", "skip", f"{url} sent no usable Date header.")
    skew = (clock.now() - theirs).total_seconds()
    words = f"this machine is {abs(skew):.0f} s {'ahead of' if skew > 0 else 'behind'} Gorgias"
    if abs(skew) > CLOCK_FAIL:
        return Finding(
            "clock",
            "fail",
            f"{words}: token expiry and id_token checks break. Sync the clock (NTP).",
        )
    if abs(skew) > CLOCK_WARN:
        return Finding("clock", "warn", f"{words}; sync the clock (NTP).")
    return Finding("clock", "ok", "in step with Gorgias (within 5 s).")


def _judge_authorize(answer: httpx.Response, url: str, settings: KitSettings) -> Finding:
    status = answer.status_code
    location = answer.headers.get("location", "")
    if status >= 500:
        return Finding(
            "reachability",
            "fail",
            f"{url} answered {status}: Gorgias is failing "
            "or GORGIAS_URL_TEMPLATE points at the wrong server.",
        )
    if status == 404:
        return Finding(
            "reachability",
            "fail",
            f"{url} answered 404: the account does not exist or GORGIAS_URL_TEMPLATE is wrong.",
        )
    if 300 <= status < 400 and location.startswith(settings.redirect_uri) and "error=" in location:
        return Finding(
            "reachability",
            "fail",
            "Gorgias refused the authorize request "
            f"({_query_value(location, 'error')}): check GORGIAS_SCOPES.",
        )
    if status >= 400:
        return Finding(
            "reachability",
            "fail",
            f"{url} refused the client (HTTP {status}): check "
            f"GORGIAS_CLIENT_ID and that {settings.redirect_uri} is registered exactly.",
        )
    return Finding(
        "reachability", "ok", f"{url} answers and accepts the client id and redirect URI."
    )


def _authorize_query(settings: KitSettings) -> dict[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return {
        "response_type": "code",
        "client_id": settings.client_id,
        "redirect_uri": settings.redirect_uri,
        "scope": " ".join(settings.scopes),
        "state": "doctor-" + secrets.token_urlsafe(8),
        "code_challenge": challenge.decode().rstrip("="),
        "code_challenge_method": "S256",
    }


def _query_value(url: str, name: str) -> str:
    for pair in urlsplit(url).query.split("&"):
        key, _, value = pair.partition("=")
        if key == name:
            return value
    return "?"
