"""The settings of the inbound half (Gorgias calling the app), one frozen record. Stdlib only.

Parsed with every other ``GORGIAS_*`` variable by :class:`~.settings.KitSettings`; defaults here
are the documented defaults (README, "Configuration").
"""

from __future__ import annotations

from dataclasses import dataclass

QUEUE_SCHEMES = ("sqlite:///", "redis://", "rediss://", "postgresql://", "memory://")


@dataclass(frozen=True, slots=True, kw_only=True)
class InboundSettings:
    """Deadlines, key rotation, the at-risk threshold and the event queue."""

    # A data handler answers within this many seconds, below Gorgias' own (undocumented)
    # timeout, so a slow handler costs one failed answer instead of a timeout and a retry.
    deadline: float = 8.0
    # After a key rotation the previous key is still accepted for this many seconds.
    key_grace: float = 3600.0
    # Consecutive failed answers after which an integration shows as "at risk" (Gorgias
    # deactivates it at 100).
    at_risk: int = 10
    # Where the event queue lives; empty: next to the database (see inbound/queue.py).
    queue_url: str = ""
    # Event handlers: attempts before the dead-letter list, and the backoff between them.
    max_attempts: int = 8
    retry_base: float = 10.0
    retry_cap: float = 3600.0
    # How long a worker's claim on an event lasts, and how long an event may wait unclaimed
    # before the periodic sweep enqueues it again.
    lease: float = 300.0
    sweep_after: float = 60.0
