"""Aggregate reads for metrics and operators: counts only, so no token is ever decrypted.

Only SQLAlchemy and the stdlib.
"""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy import func
from sqlalchemy import select

from ...core.records import InstallStatus
from ..schema import installations


def installations_by_status(engine: Engine) -> dict[str, int]:
    """Return the number of installations in every health state (zeros included)."""
    counts = {status.value: 0 for status in InstallStatus}
    query = select(installations.c.status, func.count()).group_by(installations.c.status)
    with engine.connect() as conn:
        for status, number in conn.execute(query).all():
            counts[str(status)] = int(number)
    return counts
