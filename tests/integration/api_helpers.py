"""Helpers for the API client tests: a Kit installed into a sandbox account, without Flask."""

from __future__ import annotations

import os
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import httpx

from gorgias_appkit import Kit
from gorgias_appkit import KitSettings
from gorgias_sandbox import SandboxControl

from ..conftest import tier_unavailable

BROWSER = "api-test-browser"


def make_kit(env: dict[str, str]) -> Kit:
    """A kit from ``GORGIAS_*`` settings (each process builds its own on the same database)."""
    return Kit(KitSettings.from_mapping(env))


def install(kit: Kit, sandbox: SandboxControl, account: str = "acme") -> None:
    """Install the app into ``account`` through the sandbox's automatic consent."""
    sandbox.configure(auto_approve=True)
    authorize = kit.begin_install(account, browser_id=BROWSER)
    with httpx.Client(follow_redirects=False, timeout=10) as http:
        answer = http.get(authorize)
    assert answer.status_code in (302, 303), answer.text
    query = {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["Location"]).query).items()}
    kit.complete_install(query, browser_id=BROWSER)


def redis_url() -> str:
    """``TEST_REDIS_URL`` with the kit's buckets and throttle counters emptied, or skip/fail."""
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        tier_unavailable("redis", "TEST_REDIS_URL is not set")
    import redis

    client = redis.Redis.from_url(url)  # type: ignore[arg-type]
    try:
        # Rate buckets and throttle counters left by earlier runs (a login throttle counts
        # failures per user name for an hour: a stale count would refuse this run's logins).
        keys = list(client.scan_iter(match="gorgias_appkit:rate:*"))
        keys += list(client.scan_iter(match="gorgias_appkit:throttle:*"))
        if keys:
            client.delete(*keys)
    except redis.RedisError as exc:
        tier_unavailable("redis", f"cannot connect: {type(exc).__name__}")
    finally:
        client.close()
    return url  # type: ignore[return-value]
