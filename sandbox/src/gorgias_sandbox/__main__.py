"""``gorgias-sandbox`` / ``python -m gorgias_sandbox``: serve the sandbox until interrupted."""

from __future__ import annotations

from .cli import main

if __name__ == "__main__":
    main()
