"""The public API: a tested ``__all__``, and a package import that loads nothing heavy."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import gorgias_appkit

HEAVY = ("flask", "sqlalchemy", "alembic", "jwt", "cryptography", "httpx", "werkzeug")


def test_all_is_sorted_and_every_name_resolves() -> None:
    """``__all__`` is sorted (httpx's habit) and each name is importable from the package."""
    names = gorgias_appkit.__all__
    assert names == sorted(names)
    for name in names:
        assert getattr(gorgias_appkit, name) is not None
    assert set(names) <= set(dir(gorgias_appkit))


def test_an_unknown_name_is_an_attribute_error() -> None:
    """A typo fails like any module attribute."""
    with pytest.raises(AttributeError):
        gorgias_appkit.NotAThing  # noqa: B018


def test_importing_the_package_loads_no_heavy_dependency() -> None:
    """``import gorgias_appkit`` costs the standard library only (PEP 562 lazy names)."""
    code = (
        "import json, sys, gorgias_appkit; "
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    command = [sys.executable, "-c", code]
    out = subprocess.run(command, capture_output=True, text=True, check=True)  # noqa: S603 - our own interpreter
    assert json.loads(out.stdout) == []


def test_the_version_matches_the_distribution() -> None:
    """``gorgias_appkit.__version__`` is the installed distribution's version."""
    from importlib.metadata import version

    assert gorgias_appkit.__version__ == version("gorgias-appkit")
