"""A local emulation of Gorgias' per-account OAuth2/OIDC server and REST API.

It lets the kit run and be tested with no Gorgias account. It imports nothing from
``gorgias_appkit`` outside this package, so it cannot silently agree with a client bug.
Every account lives under a path prefix (``{root}/{account}/oauth/...``,
``{root}/{account}/api/...``, ticket pages at ``{root}/{account}/tickets``); the control API is
``{root}/_sandbox/...``. Ticket events fire the account's HTTP integrations; the command line
is ``gorgias_sandbox.cli`` (``command`` can be mounted in another click group).

Public names: :func:`create_sandbox`, :class:`SandboxConfig`, :class:`World`,
:func:`serve_sandbox`, :class:`SandboxServer`, :class:`SandboxControl`, :func:`world_of`.
"""

from __future__ import annotations

from .app import create_sandbox, world_of
from .config import SandboxConfig
from .control_client import SandboxControl, SandboxControlError
from .server import SandboxServer, serve_sandbox
from .world import World

__all__ = [
    "SandboxConfig",
    "SandboxControl",
    "SandboxControlError",
    "SandboxServer",
    "World",
    "create_sandbox",
    "serve_sandbox",
    "world_of",
]
