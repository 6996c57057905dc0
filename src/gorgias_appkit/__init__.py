"""gorgias-appkit: build a Gorgias App Store app that is safe by default and survives production.

The public API is what ``__all__`` lists; everything else may change without notice. Names are
imported on first use (PEP 562), so ``import gorgias_appkit`` loads neither Flask, SQLAlchemy,
Alembic nor the JOSE stack; ``from gorgias_appkit import Kit`` loads what a kit needs.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING
from typing import Any

from .errors import AccessDenied
from .errors import ApiError
from .errors import CleanupIncomplete
from .errors import ConfigError
from .errors import ExchangeOutcomeUnknown
from .errors import GorgiasAppError
from .errors import GorgiasBusy
from .errors import InstallationNotFound
from .errors import InstallationUnavailable
from .errors import InvalidAccount
from .errors import InvalidGrant
from .errors import InvalidState
from .errors import OAuthError
from .errors import OutcomeUnknown
from .errors import RateLimited
from .errors import RefreshOutcomeUnknown
from .errors import TokenEndpointError
from .errors import TokensUnreadable

if TYPE_CHECKING:
    from .api.client import GorgiasClient
    from .core.account import Account
    from .core.account import UrlTemplate
    from .core.account import parse_account
    from .core.events import HookEvent
    from .core.events import LifecycleEvent
    from .core.records import Installation
    from .core.records import InstallStatus
    from .core.records import TokenSet
    from .core.retry import RetryPolicy
    from .core.secret import Secret
    from .core.settings import KitSettings
    from .kit import Kit

__version__ = "0.2.0"

# Public name -> the module that defines it, imported when the name is first used.
_LAZY = {
    "Account": "core.account",
    "GorgiasClient": "api.client",
    "HookEvent": "core.events",
    "InstallStatus": "core.records",
    "Installation": "core.records",
    "Kit": "kit",
    "KitSettings": "core.settings",
    "LifecycleEvent": "core.events",
    "RetryPolicy": "core.retry",
    "Secret": "core.secret",
    "TokenSet": "core.records",
    "UrlTemplate": "core.account",
    "parse_account": "core.account",
}

__all__ = [
    "AccessDenied",
    "Account",
    "ApiError",
    "CleanupIncomplete",
    "ConfigError",
    "ExchangeOutcomeUnknown",
    "GorgiasAppError",
    "GorgiasBusy",
    "GorgiasClient",
    "HookEvent",
    "InstallStatus",
    "Installation",
    "InstallationNotFound",
    "InstallationUnavailable",
    "InvalidAccount",
    "InvalidGrant",
    "InvalidState",
    "Kit",
    "KitSettings",
    "LifecycleEvent",
    "OAuthError",
    "OutcomeUnknown",
    "RateLimited",
    "RefreshOutcomeUnknown",
    "RetryPolicy",
    "Secret",
    "TokenEndpointError",
    "TokenSet",
    "TokensUnreadable",
    "UrlTemplate",
    "__version__",
    "parse_account",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'gorgias_appkit' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
