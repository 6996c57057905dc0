"""Development defaults: fill in what development mode may generate, in the instance folder.

Only entry points call this (the starter app, the CLI, ``Kit.from_env``). In production mode it
changes nothing, so a missing key still fails start-up with the usual :class:`ConfigError`.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from .crypto import generate_key

log = logging.getLogger("gorgias_appkit.config")

DEFAULT_DB_NAME = "gorgias-appkit.sqlite3"


def instance_folder(environ: Mapping[str, str]) -> Path:
    """The instance folder: ``GORGIAS_INSTANCE_PATH``, else ``./instance``."""
    return Path(environ.get("GORGIAS_INSTANCE_PATH") or "instance").resolve()


def database_url(environ: Mapping[str, str], *, instance_path: Path) -> str:
    """``GORGIAS_DATABASE_URL``, else the SQLite file in the instance folder."""
    given = (environ.get("GORGIAS_DATABASE_URL") or "").strip()
    return given or f"sqlite:///{instance_path / DEFAULT_DB_NAME}"


def with_defaults(environ: Mapping[str, str], *, instance_path: Path) -> dict[str, str]:
    """Return ``environ``'s ``GORGIAS_*`` values plus the defaults that depend on the folder."""
    values = {k: v for k, v in environ.items() if k.startswith("GORGIAS_")}
    values["GORGIAS_DATABASE_URL"] = database_url(environ, instance_path=instance_path)
    if values.get("GORGIAS_MODE", "production").strip().lower() != "development":
        return values
    for name, make in (
        ("GORGIAS_ENCRYPTION_KEYS", generate_key),
        ("GORGIAS_SECRET_KEY", lambda: secrets.token_urlsafe(48)),
    ):
        if not values.get(name):
            values[name] = _kept(instance_path / f"dev-{name.lower()}.txt", make, name)
    return values


def _kept(path: Path, make: object, name: str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        value = make()  # type: ignore[operator]
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(value)
        log.warning("development mode: generated %s in %s; set it in production", name, path)
    return path.read_text().strip()
