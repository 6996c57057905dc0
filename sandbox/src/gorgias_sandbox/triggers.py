"""HTTP-integration trigger names: validation, spelling and matching of ``http.triggers``.

Gorgias' triggers are ``ticket-created``, ``ticket-updated``, ``ticket-message-created``,
``ticket-self-unsnoozed`` and ``ticket-message-failed``; older docs spell them with underscores
(``ticket_created``), so both spellings are accepted on input. ``ticket-assignment-updated`` and
``ticket-status-updated`` cannot be enabled together with any of the five (they may be enabled
together). Config ``integration_trigger_spelling`` decides how the API stores and returns the
keys: ``hyphen`` (default) and ``underscore`` rewrite every key in that spelling, ``both``
keeps each key as it was sent. Internally, events always use the hyphenated name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

CLASSIC = (
    "ticket-created",
    "ticket-updated",
    "ticket-message-created",
    "ticket-self-unsnoozed",
    "ticket-message-failed",
)
EXCLUSIVE = ("ticket-assignment-updated", "ticket-status-updated")
TRIGGERS = CLASSIC + EXCLUSIVE
DEFAULT_ENABLED = ("ticket-created", "ticket-updated")


def canonical(name: str) -> str | None:
    """The hyphenated trigger name for either spelling, or None if unknown."""
    name = name.replace("_", "-")
    return name if name in TRIGGERS else None


def spelled(name: str, spelling: str) -> str:
    """``name`` (hyphenated) in the configured spelling (``both`` keeps hyphens)."""
    return name.replace("-", "_") if spelling == "underscore" else name


def default_triggers(spelling: str) -> dict[str, bool]:
    """The triggers of an integration created without any: created and updated."""
    return {spelled(name, spelling): name in DEFAULT_ENABLED for name in CLASSIC[:3]}


def normalise(raw: Any, spelling: str) -> tuple[dict[str, bool], list[str]]:
    """Validate ``http.triggers``; return it as it will be stored, and every problem."""
    if not isinstance(raw, Mapping):
        return {}, ["triggers: must be an object mapping trigger names to booleans."]
    stored: dict[str, bool] = {}
    seen: dict[str, bool] = {}
    problems: list[str] = []
    for key, value in raw.items():
        name = canonical(key) if isinstance(key, str) else None
        if name is None:
            problems.append(f"triggers: unknown trigger {key!r} (known: {', '.join(TRIGGERS)}).")
            continue
        if not isinstance(value, bool):
            problems.append(f"triggers.{key}: must be a boolean.")
            continue
        if name in seen and seen[name] != value:
            problems.append(f"triggers: {name} is given twice with different values.")
        seen[name] = value
        stored[key if spelling == "both" else spelled(name, spelling)] = value
    on = {name for name, value in seen.items() if value}
    if on & set(EXCLUSIVE) and on & set(CLASSIC):
        problems.append(
            "triggers: ticket-assignment-updated and ticket-status-updated cannot be combined "
            f"with {', '.join(CLASSIC)}."
        )
    return stored, problems


def enabled(triggers: Any) -> set[str]:
    """The hyphenated names of the triggers switched on in a stored ``http.triggers``."""
    if not isinstance(triggers, Mapping):
        return set()
    return {
        name
        for key, value in triggers.items()
        if value is True and isinstance(key, str) and (name := canonical(key)) is not None
    }
