"""The two distributions built as wheels, installed in clean virtualenvs, used from elsewhere.

This is what a partner does: ``pip install gorgias-appkit`` for their app (no sandbox in it), or
with the ``testing`` extra for the sandbox and ``demo``. Slow (two virtualenvs), so marked.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def run(
    *args: str | Path, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own build and interpreter
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("dist")
    for project in (ROOT, ROOT / "sandbox"):
        built = run(
            sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", out, project, cwd=out
        )
        assert built.returncode == 0, built.stderr
    return {
        "kit": next(out.glob("gorgias_appkit-*.whl")),
        "sandbox": next(out.glob("gorgias_sandbox-*.whl")),
    }


def venv(folder: Path, *requirements: str, find_links: Path) -> Path:
    """A fresh virtualenv with ``requirements`` installed from the wheels (deps from PyPI)."""
    made = run(sys.executable, "-m", "venv", folder, cwd=folder.parent)
    assert made.returncode == 0, made.stderr
    python = folder / "bin" / "python"
    installed = run(
        python,
        "-m",
        "pip",
        "install",
        "-q",
        "--find-links",
        find_links,
        *requirements,
        cwd=folder.parent,
    )
    assert installed.returncode == 0, installed.stderr
    return folder / "bin"


def settings(folder: Path) -> dict[str, str]:
    """A production configuration in ``folder`` (its own SQLite file and keys)."""
    from gorgias_appkit.store.crypto import generate_key

    return {
        "PATH": os.environ["PATH"],
        "HOME": str(folder),
        "GORGIAS_CLIENT_ID": "wheel-test",
        "GORGIAS_CLIENT_SECRET": "wheel-test-secret",
        "GORGIAS_APP_URL": "http://127.0.0.1:8000",
        "GORGIAS_DATABASE_URL": f"sqlite:///{folder / 'app.sqlite3'}",
        "GORGIAS_ENCRYPTION_KEYS": generate_key(),
        "GORGIAS_SECRET_KEY": "w" * 40,
    }


@contextmanager
def serving(
    command: list[str], url: str, *, cwd: Path, env: dict[str, str]
) -> Iterator[httpx.Response]:
    """Start ``command``, yield the first answer of ``url``, stop it."""
    proc = subprocess.Popen(  # noqa: S603 - our own installed command
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                answer = httpx.get(url, timeout=2)
            except httpx.TransportError:
                time.sleep(0.3)
                continue
            yield answer
            return
        raise AssertionError(f"{url} never answered")
    finally:
        proc.terminate()
        proc.wait(10)


def test_the_kit_wheel_holds_no_sandbox_and_carries_its_license(wheels: dict[str, Path]) -> None:
    """No ``gorgias_sandbox`` in the kit's wheel; METADATA has license, classifiers, URLs."""
    with zipfile.ZipFile(wheels["kit"]) as wheel:
        names = wheel.namelist()
        metadata = wheel.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert not [n for n in names if n.startswith("gorgias_sandbox")]
    assert "gorgias_appkit/py.typed" in names
    assert any(n.startswith("gorgias_appkit/store/migrations/versions/") for n in names)
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    for field in ("License-Expression: MIT", "Classifier: ", "Project-URL: ", "Author: "):
        assert field in metadata, field
    assert "Provides-Extra: testing" in metadata and "Provides-Extra: postgres" in metadata


def test_only_the_kit_imports_and_serves(wheels: dict[str, Path], tmp_path: Path) -> None:
    """The kit alone: it imports, ``--version`` and ``serve`` work; ``demo`` says what it lacks."""
    bin_ = venv(tmp_path / "venv", str(wheels["kit"]), find_links=wheels["kit"].parent)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = settings(elsewhere)
    imported = run(
        bin_ / "python",
        "-c",
        "import gorgias_appkit.web, gorgias_appkit.starter",
        cwd=elsewhere,
        env=env,
    )
    assert imported.returncode == 0, imported.stderr
    assert (
        run(bin_ / "gorgias-appkit", "--version", cwd=elsewhere, env=env)
        .stdout.strip()
        .endswith(__import__("gorgias_appkit").__version__)
    )
    port = free_port()
    with serving(
        [str(bin_ / "gorgias-appkit"), "serve", "--port", str(port)],
        f"http://127.0.0.1:{port}/healthz",
        cwd=elsewhere,
        env=env,
    ) as answer:
        assert answer.status_code == 200
    demo = run(bin_ / "gorgias-appkit", "demo", cwd=elsewhere, env=env)
    assert demo.returncode == 1 and "gorgias-sandbox" in demo.stderr + demo.stdout
    assert "Traceback" not in demo.stderr


def test_kit_with_extras_and_sandbox_run_demo_sandbox_doctor(
    wheels: dict[str, Path], tmp_path: Path
) -> None:
    """``[postgres,redis,testing]`` from wheels: demo, sandbox, doctor, --version from elsewhere."""
    bin_ = venv(
        tmp_path / "venv",
        f"gorgias-appkit[postgres,redis,testing] @ {wheels['kit'].as_uri()}",
        str(wheels["sandbox"]),
        find_links=wheels["kit"].parent,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {"PATH": os.environ["PATH"], "HOME": str(elsewhere)}
    version = run(bin_ / "python", "-m", "gorgias_appkit", "--version", cwd=elsewhere, env=env)
    assert version.returncode == 0 and "gorgias-appkit" in version.stdout
    doctor = run(
        bin_ / "gorgias-appkit", "doctor", cwd=elsewhere, env={**env, **settings(elsewhere)}
    )
    assert doctor.returncode in (0, 1) and "Traceback" not in doctor.stderr
    assert "secret key" in doctor.stdout
    port = free_port()
    with serving(
        [str(bin_ / "gorgias-appkit"), "sandbox", "--port", str(port)],
        f"http://127.0.0.1:{port}/_sandbox/health",
        cwd=elsewhere,
        env=env,
    ) as answer:
        assert answer.status_code == 200
    app_port, sandbox_port = free_port(), free_port()
    with serving(
        [
            str(bin_ / "gorgias-appkit"),
            "demo",
            "--port",
            str(app_port),
            "--sandbox-port",
            str(sandbox_port),
        ],
        f"http://127.0.0.1:{app_port}/",
        cwd=elsewhere,
        env=env,
    ) as answer:
        assert answer.status_code == 200
    assert (elsewhere / "instance").is_dir()  # the demo's SQLite and keys live where it runs
