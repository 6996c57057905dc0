"""``gorgias-sandbox`` / ``python -m gorgias_sandbox``: serve the sandbox until interrupted."""

from __future__ import annotations

import os

from .config import SandboxConfig
from .server import serve_sandbox


def main() -> None:
    """Serve the sandbox on 127.0.0.1:8800, configured by ``SANDBOX_*`` variables."""
    serve_sandbox(SandboxConfig.from_env(os.environ))


if __name__ == "__main__":
    main()
