"""A fast local Gorgias stand-in for overhead figures: HTTP/1.1 keep-alive, a small JSON body.

The sandbox is a full Flask application that closes every connection and takes about 2 ms per
call, which hides the kit's own cost in the noise. This server answers every ``GET`` with the
same small JSON object (and the call-limit header Gorgias sends) in a few hundred microseconds,
keeping the connection open, so a per-call overhead ratio measures the kit, not the server.
Run it in its own process (:func:`serve`), so its work does not share our interpreter.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from multiprocessing.connection import Connection
from typing import Any

BODY = json.dumps({"id": 1, "domain": "acme", "name": "Acme"}).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: one connection serves every call
    disable_nagle_algorithm = True  # headers and body leave at once (no 40 ms delayed ACK)

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        # Gorgias sends the header on every answer. "acme" has a limit too large to ever wait
        # for (what is measured is bookkeeping); other accounts have Gorgias' own 80.
        limit = "1000000" if self.path.startswith("/acme/") else "80"
        self.send_header("X-Gorgias-Account-Api-Call-Limit", f"1/{limit}")
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, format: str, *args: Any) -> None:
        return


def serve(conn: Connection) -> None:
    """Serve on an ephemeral loopback port; send the base URL on ``conn``; stop when told."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    host, port = server.server_address[:2]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    conn.send(f"http://{host!s}:{port}")
    conn.recv()
    server.shutdown()
