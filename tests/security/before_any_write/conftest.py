"""Checks that refuse before anything is written: one SQLite tier, one shared app, fresh browsers.

These fixtures replace the per-test app of ``tests/conftest.py`` with the session-wide
``shared_app`` of ``tests/security/conftest.py``, which keeps this folder fast.
"""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from gorgias_appkit.testing.sandbox import InstallDriver


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """One database tier is enough: nothing is written."""
    return sqlite_url


@pytest.fixture
def installer(shared_installer: InstallDriver) -> InstallDriver:
    """A fresh browser on the shared kit-only app."""
    return shared_installer


@pytest.fixture
def client(installer: InstallDriver) -> FlaskClient:
    return installer.app


@pytest.fixture
def app(shared_app: Flask) -> Flask:
    return shared_app
