"""Checks that refuse before anything is written: one SQLite tier, one shared app, fresh browsers.

These fixtures replace the per-test app of ``tests/conftest.py`` with the session-wide
``shared_app`` of ``tests/security/conftest.py``, which keeps this folder fast.
"""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ...conftest import InstallActions


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """One database tier is enough: nothing is written."""
    return sqlite_url


@pytest.fixture
def installer(shared_installer: InstallActions) -> InstallActions:
    """A fresh browser on the shared kit-only app."""
    return shared_installer


@pytest.fixture
def client(installer: InstallActions) -> FlaskClient:
    return installer.client


@pytest.fixture
def app(shared_app: Flask) -> Flask:
    return shared_app
