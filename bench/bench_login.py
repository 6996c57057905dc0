"""Admin login under a brute-force loop: logins checked per minute per address, /healthz meanwhile.

The reference app runs on a real loopback socket (werkzeug threads, SQLite) with an admin whose
hash is werkzeug's default scrypt. Figures, for the default settings and with the login
throttle lifted (every attempt reaches the password check, as before issue 9 item 4):

1. One address posting wrong passwords back to back for 60 s (20 s when lifted, whose rate is
   steady): attempts whose password was checked (401), refused (429/503), and that per minute.
2. Four addresses (127.0.0.2-5) doing the same for 10 s while a fifth client asks ``/healthz``
   every 0.2 s: the health check's median and p95 seconds, and the answers the four got.

Run it against an older tree with ``PYTHONPATH=<old>/src python -m bench bench_login``: settings
that tree does not know are ignored, so "defaults" is then the old behaviour.
"""

from __future__ import annotations

import logging
import re
import statistics
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from werkzeug.security import generate_password_hash

from gorgias_appkit.cli.servers import ThreadedServer
from gorgias_appkit.starter import create_app
from gorgias_appkit.store.crypto import generate_key

PASSWORD = "correct horse battery staple"  # noqa: S105 - the bench's own admin
LIFTED = {"GORGIAS_LOGIN_RATE": "1000000 per minute", "GORGIAS_LOGIN_USER_RATE": "1000000/minute"}


def run() -> None:
    """Print every figure; called by ``python -m bench``."""
    for name in ("gorgias_appkit", "werkzeug", "httpx"):
        logging.getLogger(name).setLevel(logging.ERROR)
    for label, extra, seconds in (("defaults", {}, 60.0), ("throttle lifted", LIFTED, 20.0)):
        with tempfile.TemporaryDirectory() as folder:
            app = create_app(_config(Path(folder), extra))
            server = ThreadedServer(app).start()
            try:
                single = _brute_force(server.url, "127.0.0.1", seconds)
                checked = single["401"]
                print(
                    f"   {label:16} one address, {seconds:.0f} s: checked {checked} "
                    f"({checked * 60 / seconds:.1f}/min), refused {_refused(single)}, "
                    f"answers {dict(single)}"
                )
                health, crowd = _crowd(server.url)
                print(
                    f"   {label:16} four addresses, 10 s: /healthz median "
                    f"{statistics.median(health):.3f} s, p95 {_p95(health):.3f} s; "
                    f"answers {dict(crowd)}"
                )
            finally:
                server.stop()
                app.extensions["gorgias_appkit"].close()


def _config(folder: Path, extra: dict[str, str]) -> dict[str, Any]:
    return {
        "GORGIAS_CLIENT_ID": "bench-client",
        "GORGIAS_CLIENT_SECRET": "bench-secret",
        "GORGIAS_APP_URL": "http://127.0.0.1:8000",
        "GORGIAS_URL_TEMPLATE": "http://127.0.0.1:9/{account}",
        "GORGIAS_DATABASE_URL": f"sqlite:///{folder / 'bench.sqlite3'}",
        "GORGIAS_ENCRYPTION_KEYS": generate_key(),
        "GORGIAS_SECRET_KEY": "b" * 40,
        "GORGIAS_ADMIN_USER": "ops",
        "GORGIAS_ADMIN_PASSWORD_HASH": generate_password_hash(PASSWORD),
        **extra,
    }


def _brute_force(url: str, address: str, seconds: float) -> Counter[str]:
    transport = httpx.HTTPTransport(local_address=address)
    answers: Counter[str] = Counter()
    with httpx.Client(base_url=url, transport=transport, timeout=30) as client:
        page = client.get("/admin/login").text
        match = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert match, page
        form = {"csrf_token": match.group(1), "username": "ops", "password": "wrong guess"}
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            answers[str(client.post("/admin/login", data=form).status_code)] += 1
    return answers


def _crowd(url: str) -> tuple[list[float], Counter[str]]:
    answers: Counter[str] = Counter()
    lock = threading.Lock()

    def attacker(address: str) -> None:
        got = _brute_force(url, address, 10.0)
        with lock:
            answers.update(got)

    threads = [threading.Thread(target=attacker, args=(f"127.0.0.{n}",)) for n in range(2, 6)]
    for thread in threads:
        thread.start()
    health = []
    with httpx.Client(base_url=url, timeout=30) as client:
        while any(t.is_alive() for t in threads):
            started = time.perf_counter()
            client.get("/healthz")
            health.append(time.perf_counter() - started)
            time.sleep(0.2)
    for thread in threads:
        thread.join()
    return health, answers


def _refused(answers: Counter[str]) -> int:
    return answers["429"] + answers["503"]


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
