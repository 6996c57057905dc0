"""Throttles on what a stranger can make expensive: the admin login and ``/oauth/install``.

Counting is `limits`' fixed-window strategy over the kit's throttle storage (Redis when
``GORGIAS_REDIS_URL`` is set, else the app's database), so every worker and instance shares one
count:

- **login, per client address** (``GORGIAS_LOGIN_RATE``, 10 per 15 minutes): every attempt
  counts, and is refused with 429 before any password hash is computed;
- **login, per user name** (``GORGIAS_LOGIN_USER_RATE``, 30 per hour): failed attempts count,
  whatever the address; the name is hashed before it becomes a key;
- **password-hash checks at once, per process** (``GORGIAS_LOGIN_CONCURRENCY``, 2): one more is
  answered 503 with ``Retry-After`` at once, not queued, so scrypt cannot starve the workers;
- **install starts, per client address** (``GORGIAS_INSTALL_RATE``, 20 per minute): each one
  may cost a stored state and a discovery fetch.

The client address is ``request.remote_addr`` (the proxy's view once ``GORGIAS_PROXY_FIX``
trusts ``for``); IPv6 addresses count per /64, the block one host usually holds. A throttle
store that does not answer refuses the request (503): failing open would lift the limits.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app
from flask import request
from limits import RateLimitItem
from limits import RateLimitItemPerSecond
from limits.errors import StorageError
from limits.storage import Storage
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import ServiceUnavailable
from werkzeug.exceptions import TooManyRequests

from ..core.clock import Clock
from ..core.web_settings import Rate
from ..core.web_settings import WebSettings

EXTENSION_KEY = "gorgias_appkit.throttle"


class Throttled(TooManyRequests):
    """Too many attempts from this address (or at this user name); ``Retry-After`` says when."""

    description = "Too many attempts. Wait a moment and try again."


class Busy(ServiceUnavailable):
    """The per-process cap on password checks (or the throttle store) refused the request."""

    description = "The server is busy. Try again in a moment."


def _item(rate: Rate, name: str) -> RateLimitItem:
    return RateLimitItemPerSecond(rate.amount, rate.seconds, namespace=f"gorgias-{name}")


def _digest(value: str) -> str:
    return hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]


class Throttle:
    """The app's throttles over one ``limits`` storage."""

    def __init__(self, storage: Storage, *, web: WebSettings, clock: Clock) -> None:
        self.limiter = FixedWindowRateLimiter(storage)
        self.clock = clock
        self.login_by_address = _item(web.login_rate, "login-address")
        self.login_by_user = _item(web.login_user_rate, "login-user")
        self.install_by_address = _item(web.install_rate, "install-address")
        self._hash_slots = threading.BoundedSemaphore(web.login_concurrency)

    def login_attempt(self, address: str, user: str) -> None:
        """Count a login attempt; raise :class:`Throttled` if the address or the name is over."""
        with _store_errors():
            self._hit(self.login_by_address, address)
            if not self.limiter.test(self.login_by_user, _digest(user)):
                raise self._throttled(self.login_by_user, _digest(user))

    def login_failed(self, user: str) -> None:
        """Count a wrong password against the user name."""
        with _store_errors():
            self.limiter.hit(self.login_by_user, _digest(user))

    def install_started(self, address: str) -> None:
        """Count an install start; raise :class:`Throttled` past the address's limit."""
        with _store_errors():
            self._hit(self.install_by_address, address)

    @contextmanager
    def hash_check(self) -> Iterator[None]:
        """Hold one of this process's password-check slots; :class:`Busy` if none is free."""
        if not self._hash_slots.acquire(blocking=False):
            raise Busy(retry_after=1)
        try:
            yield
        finally:
            self._hash_slots.release()

    def _hit(self, item: RateLimitItem, key: str) -> None:
        if not self.limiter.hit(item, key):
            raise self._throttled(item, key)

    def _throttled(self, item: RateLimitItem, key: str) -> Throttled:
        reset = self.limiter.get_window_stats(item, key).reset_time
        wait = math.ceil(reset - self.clock.now().timestamp())
        return Throttled(retry_after=min(max(wait, 1), item.get_expiry()))


@contextmanager
def _store_errors() -> Iterator[None]:
    try:
        yield
    except StorageError as exc:
        raise Busy(retry_after=5) from exc


def client_address() -> str:
    """The address the throttles count against: IPv4 as it is, IPv6 per /64."""
    raw = request.remote_addr or ""
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def get_throttle() -> Throttle:
    """The current app's throttles (set up by ``GorgiasKit.init_app``)."""
    throttle = current_app.extensions[EXTENSION_KEY]
    if not isinstance(throttle, Throttle):
        raise RuntimeError("GorgiasKit.init_app was not called on this app")
    return throttle
