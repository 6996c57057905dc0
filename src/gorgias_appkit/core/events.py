"""Lifecycle hooks partner code subscribes to: install, reinstall, health, disconnect, uninstall.

A hook runs after the change is committed. A failing hook is logged and never undoes the
change or breaks the caller: the merchant's install must not fail because of app code.
Stdlib only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from .records import Installation

log = logging.getLogger("gorgias_appkit.hooks")


class HookEvent(StrEnum):
    """What happened to an installation."""

    INSTALLED = "installed"
    REINSTALLED = "reinstalled"
    HEALTH_CHANGED = "health_changed"
    DISCONNECTED = "disconnected"
    # Gorgias no longer accepts the grant (invalid_grant on refresh, or 401 on a fresh token):
    # the merchant removed the app in Gorgias. What the app created there stays behind.
    UNINSTALLED = "uninstalled"


@dataclass(frozen=True, slots=True)
class LifecycleEvent:
    """Passed to every hook."""

    event: HookEvent
    installation: Installation
    previous_status: str | None = None
    reason: str | None = None


Hook = Callable[[LifecycleEvent], None]


class Hooks:
    """A registry of callables per :class:`HookEvent`."""

    def __init__(self) -> None:
        self._hooks: dict[HookEvent, list[Hook]] = {e: [] for e in HookEvent}

    def on(self, event: HookEvent | str, hook: Hook | None = None) -> Callable[[Hook], Hook] | Hook:
        """Register ``hook`` for ``event``; also a decorator: ``@kit.hooks.on("installed")``."""
        key = HookEvent(event)

        def register(fn: Hook) -> Hook:
            self._hooks[key].append(fn)
            return fn

        return register(hook) if hook is not None else register

    def emit(self, payload: LifecycleEvent) -> None:
        """Call every hook for ``payload.event``; log (never raise) a hook's failure."""
        for hook in list(self._hooks[payload.event]):
            try:
                hook(payload)
            except Exception:  # a hook is partner code: contain it here, at the boundary
                log.exception(
                    "lifecycle hook failed",
                    extra={"account": payload.installation.account, "event": payload.event.value},
                )
