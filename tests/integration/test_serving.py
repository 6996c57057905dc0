"""Issue 9, items 7, 10 and 12: the real ``serve`` (gunicorn) and werkzeug servers.

- item 7: no access log the project configures, nor the werkzeug log of an app using
  ``GorgiasKit``, shows a callback's ``code`` or ``state`` (or anything token-shaped);
- item 10: threaded workers: clients trickling partial headers and installs waiting on a slow
  Gorgias do not stop ``/healthz`` from answering; the shipped gunicorn config loads;
- item 12: ``/metrics`` counters are summed over every worker: each scrape is the total.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from gorgias_appkit.testing.sandbox import InstallDriver
from gorgias_sandbox import SandboxControl

from ..conftest import free_port
from ..conftest import kit_env
from .serve_support import EXE
from .serve_support import running
from .serve_support import serve
from .serve_support import serve_env
from .test_lifecycle_hooks import readme_example

pytestmark = pytest.mark.slow

SECRETS = ("SECRETCODE", "SECRETSTATE", "eyJhbGciOiJSUzI1NiJ9")
# Callbacks whose code and state (or a token-shaped value) must never reach a log.
HOSTILE_CALLBACKS = (
    "code=SECRETCODE1&state=SECRETSTATE1",
    "state=SECRETSTATE2&%63ode=SECRETCODE2",  # a percent-encoded name is still `code`
    "CODE=SECRETCODE3&State=SECRETSTATE3",
    "error=x&state=SECRETSTATE4&code=SECRETCODE4%20tail",
    "foo=eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl",
)
METRICS_TOKEN = "m" * 32


def with_sandbox(tmp_path: Path, sandbox: SandboxControl, **extra: str) -> dict[str, str]:
    """``serve``'s environment pointed at the sandbox (the suite's client, production mode)."""
    database = f"sqlite:///{tmp_path / 'app.sqlite3'}"
    return serve_env(tmp_path, **kit_env(sandbox.base_url, database), **extra)


def hit_callbacks(base_url: str) -> None:
    for query in HOSTILE_CALLBACKS:
        answer = httpx.get(f"{base_url}/oauth/callback?{query}", timeout=10)
        assert answer.status_code in (400, 403)  # no state of ours: refused, nothing consumed


def assert_masked(output: str) -> None:
    assert "/oauth/callback?" in output, "the request was not logged at all"
    for secret in SECRETS:
        assert secret not in output, f"{secret} reached the log"
    assert "code=***" in output and "state=***" in output


# -- item 7: access logs ---------------------------------------------------------------------
def test_item7_serve_access_log_masks_code_and_state(tmp_path: Path) -> None:
    """gunicorn's access (and error) log shows the callback with its code and state masked."""
    with serve(tmp_path, serve_env(tmp_path)) as server:
        hit_callbacks(server.url)
    assert_masked(server.output())


def test_item7_flask_run_of_the_readme_app_masks_code_and_state(
    tmp_path: Path, sandbox: SandboxControl
) -> None:
    """`flask run` around the README's own-app snippet: werkzeug's request log is masked."""
    (tmp_path / "myapp.py").write_text(readme_example())
    flask = str(Path(sys.executable).with_name("flask"))
    env = with_sandbox(tmp_path, sandbox)
    args = [flask, "--app", "myapp", "run", "--port", "{port}"]
    with running(args, env=env, cwd=tmp_path, ready="/oauth/install") as server:
        hit_callbacks(server.url)
    assert_masked(server.output())


def test_item7_demo_server_log_masks_code_and_state(tmp_path: Path) -> None:
    """The demo's werkzeug servers log the callback with its code and state masked."""
    env = serve_env(tmp_path)
    env = {k: v for k, v in env.items() if not k.startswith("GORGIAS_")}
    args = [EXE, "demo", "--port", "{port}", "--sandbox-port", str(free_port())]
    with running(args, env=env, cwd=tmp_path, stop=signal.SIGINT) as server:
        hit_callbacks(server.url)
    assert_masked(server.output())


# -- item 10: threaded workers -------------------------------------------------------------
def test_item10_the_shipped_gunicorn_config_loads(tmp_path: Path) -> None:
    """gunicorn.conf.py: gthread workers, WEB_CONCURRENCY and GORGIAS_THREADS honoured."""
    code = (
        "import json\n"
        "from gunicorn.app.base import Application\n"
        "from gorgias_appkit.cli.serving import CONFIG_FILE\n"
        "class Probe(Application):\n"
        "    def load_config(self):\n"
        "        self.load_config_from_file(str(CONFIG_FILE))\n"
        "    def load(self):\n"
        "        return None\n"
        "cfg = Probe().cfg\n"
        "print(json.dumps({\n"
        "    'worker_class': cfg.worker_class_str, 'workers': cfg.workers,\n"
        "    'threads': cfg.threads, 'timeout': cfg.timeout,\n"
        "    'graceful_timeout': cfg.graceful_timeout, 'accesslog': cfg.accesslog,\n"
        "    'logger': cfg.logger_class.__name__, 'app': cfg.wsgi_app,\n"
        "    'hooks': [cfg.child_exit.__name__, cfg.on_exit.__name__],\n"
        "}))\n"
    )
    env = serve_env(tmp_path, WEB_CONCURRENCY="3", GORGIAS_THREADS="6")
    env["GORGIAS_REQUEST_DEADLINE"] = "20"
    result = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    config = json.loads(result.stdout)
    assert config["worker_class"] == "gthread"
    assert (config["workers"], config["threads"]) == (3, 6)
    assert config["timeout"] >= 2 * 20  # the worker timeout stays well above the deadline
    assert config["graceful_timeout"] >= 25  # a refresh in flight may finish
    assert config["accesslog"] == "-" and config["logger"] == "ScrubbedLogger"
    assert config["hooks"] == ["child_exit", "on_exit"]
    assert config["app"] == "gorgias_appkit.starter:create_app()"


def test_item10_clients_trickling_partial_headers_do_not_block_healthz(tmp_path: Path) -> None:
    """Two sockets sending partial headers, a byte at a time: /healthz still answers 200."""
    with serve(tmp_path, serve_env(tmp_path), "--workers", "2") as server:
        port = urlsplit(server.url).port
        slow = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
        try:
            for sock in slow:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            answers = []
            for byte in b"abc":
                for sock in slow:
                    sock.sendall(bytes([byte]))
                answers.append(httpx.get(f"{server.url}/healthz", timeout=10).status_code)
        finally:
            for sock in slow:
                sock.close()
    assert answers == [200, 200, 200]


def test_item10_installs_waiting_on_a_slow_gorgias_do_not_block_healthz(
    tmp_path: Path, sandbox: SandboxControl
) -> None:
    """Two callbacks held 6 s by a slow token endpoint: /healthz answers while they wait."""
    env = with_sandbox(tmp_path, sandbox)
    results: dict[str, int] = {}
    with serve(tmp_path, env, "--workers", "2") as server:
        browsers = [httpx.Client(base_url=server.url, timeout=30) for _ in range(2)]
        drivers = [InstallDriver(browser) for browser in browsers]
        pending = {
            account: (driver, driver.consent(driver.start(account)))
            for account, driver in zip(("acme", "globex"), drivers, strict=True)
        }
        sandbox.add_fault(
            path="/oauth/token",
            grant_type="authorization_code",
            mode="delay",
            delay_ms=6000,
            count=2,
        )

        def finish(account: str) -> None:
            driver, callback = pending[account]
            results[account] = driver.finish(callback).status_code

        threads = [threading.Thread(target=finish, args=(a,)) for a in pending]
        for thread in threads:
            thread.start()
        for _ in range(100):  # both code exchanges are now held at the token endpoint
            counts = [sandbox.count(a, "oauth.token.authorization_code") for a in pending]
            if counts == [1, 1]:
                break
            time.sleep(0.05)
        health = httpx.get(f"{server.url}/healthz", timeout=10)
        still_waiting = [thread.is_alive() for thread in threads]
        for thread in threads:
            thread.join(timeout=30)
        for driver, browser in zip(drivers, browsers, strict=True):
            driver.close()
            browser.close()
    assert health.status_code == 200
    assert still_waiting == [True, True], "/healthz waited for the installs"
    assert results == {"acme": 303, "globex": 303}


# -- item 12: metrics across workers ---------------------------------------------------------
def test_item12_every_scrape_sums_every_worker(tmp_path: Path, sandbox: SandboxControl) -> None:
    """Three workers, many dashboard views, a scrape after each batch: the counter is the total."""
    env = with_sandbox(tmp_path, sandbox, GORGIAS_METRICS_TOKEN=METRICS_TOKEN)
    scraped: list[float] = []
    expected: list[float] = []
    with serve(tmp_path, env, "--workers", "3", "--threads", "2") as server:
        with httpx.Client(base_url=server.url, timeout=30) as browser:
            driver = InstallDriver(browser)
            assert driver.install("acme").status_code == 303
            driver.close()
            cookies = dict(browser.cookies)
        for round_ in range(8):
            if round_ == 4:  # a worker dies: its counts must stay in the sum
                replace_a_worker(server.proc.pid)
            for _ in range(4):  # a new connection each time: any worker may take it
                page = httpx.get(f"{server.url}/accounts/acme", cookies=cookies, timeout=30)
                assert page.status_code == 200
            scraped.append(scrape(server.url))
            expected.append(float(gets_answered(sandbox)))
    assert scraped == expected  # every scrape equals what the sandbox answered: the total
    assert scraped == sorted(scraped) and len(set(scraped)) == len(scraped)


def workers_of(master: int) -> set[int]:
    """The pids whose parent is ``master`` (Linux /proc)."""
    children = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended while we looked
            continue
        if int(fields[1]) == master:
            children.add(int(stat.parent.name))
    return children


def replace_a_worker(master: int) -> None:
    """Kill one gunicorn worker of ``master`` and wait (bounded) for its replacement."""
    before = workers_of(master)
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    for _ in range(200):
        now = workers_of(master)
        if victim not in now and len(now) == len(before):
            return
        time.sleep(0.05)
    raise AssertionError("gunicorn did not replace the worker")


def scrape(base_url: str) -> float:
    answer = httpx.get(
        f"{base_url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10
    )
    assert answer.status_code == 200
    for line in answer.text.splitlines():
        if line.startswith('gorgias_api_calls_total{account="acme",status="200"}'):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError("no API call counter in the scrape")


def gets_answered(sandbox: SandboxControl) -> int:
    """The API GETs the sandbox answered for acme (each one answered 200)."""
    counters = sandbox.stats()["counters"].get("acme", {})
    return sum(n for name, n in counters.items() if name.startswith("api.GET "))
