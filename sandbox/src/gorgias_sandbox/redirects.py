"""Which ``redirect_uri`` values a client may use: config ``redirect_uri_match``.

* ``loopback`` (default): a registered URI, exactly, or any *loopback callback*: ``http`` (not
  https), host exactly ``127.0.0.1``, ``localhost`` or ``[::1]``, any port (or none), a path
  starting with ``/``, an optional query, and no userinfo, fragment, backslash, whitespace or
  control character. ``https://127.0.0.1/...`` is refused unless registered: a local app
  under development speaks plain http (RFC 8252 §7.3), and a strict sandbox catches an app
  that builds its callback URL from the wrong setting;
* ``exact``: only the registered URIs, character for character;
* ``prefix``: any URI starting with a registered one (e.g. one with an added query string).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
_NETLOC = re.compile(r"^(127\.0\.0\.1|localhost|\[::1\])(?::([0-9]{1,5}))?$")
_FORBIDDEN = re.compile(r"[\\\s\x00-\x1f\x7f]")


def is_loopback_callback(uri: str) -> bool:
    """True when ``uri`` is a plain-http callback on this machine's loopback interface."""
    if _FORBIDDEN.search(uri) or not uri.startswith("http://"):
        return False
    try:
        parts = urlsplit(uri)
    except ValueError:
        return False
    match = _NETLOC.match(parts.netloc)
    if match is None or "#" in uri or not parts.path.startswith("/"):
        return False
    port = match.group(2)
    return port is None or 1 <= int(port) <= 65535


def redirect_uri_allowed(uri: str, registered: tuple[str, ...], mode: str) -> bool:
    """Whether a client registered with ``registered`` may use ``uri`` under ``mode``."""
    if uri in registered:
        return True
    if mode == "prefix":
        return any(uri.startswith(prefix) for prefix in registered)
    return mode == "loopback" and is_loopback_callback(uri)
