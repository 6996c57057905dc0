"""``python -m gorgias_appkit``: the same command as ``gorgias-appkit``."""

from __future__ import annotations

from .cli import main

if __name__ == "__main__":  # pragma: no cover - exercised through a subprocess
    main(prog_name="gorgias-appkit")
