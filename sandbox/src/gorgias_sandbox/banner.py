"""The start-up banner: everything a developer needs to point an app at a running sandbox."""

from __future__ import annotations

from .config import SandboxConfig
from .redirects import LOOPBACK_HOSTS


def display_url(host: str, port: int) -> str:
    """The root URL to show for a server bound to ``host:port`` (wildcards become loopback)."""
    if host in ("", "0.0.0.0"):  # noqa: S104 - naming the wildcard, not binding to it
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def banner(config: SandboxConfig, url: str) -> str:
    """The lines printed when the sandbox starts serving at root ``url``."""
    first = config.accounts[0] if config.accounts else "acme"
    uris = list(config.redirect_uris)
    if config.redirect_uri_match == "loopback":
        hosts = "|".join(LOOPBACK_HOSTS)
        uris.append(f"+ any loopback callback: http://{hosts}:<port>/<path>")
    elif config.redirect_uri_match == "prefix":
        uris.append("+ anything starting with one of these")
    pad = "\n" + " " * 17
    lines = [
        "Gorgias sandbox (a local fake Gorgias for app development)",
        f"  Base URL:      {url}/{{account}}   e.g. {url}/{first}",
        f"  Accounts:      {', '.join(config.accounts)}",
        f"  OAuth:         {url}/{{account}}/oauth/authorize and /oauth/token",
        f"  REST API:      {url}/{{account}}/api/",
        f"  Client id:     {config.client_id}",
        f"  Client secret: {config.client_secret}   (well-known fakes: never real secrets)",
        f"  Redirect URIs: {pad.join(uris)}",
        f"  Control API:   {url}/_sandbox/   (e.g. {url}/_sandbox/stats)",
        f"  Ticket pages:  {url}/{{account}}/tickets   e.g. {url}/{first}/tickets",
        "Press Ctrl+C to stop.",
    ]
    return "\n".join(lines)
