"""gorgias-appkit: build a Gorgias App Store app that is safe by default and survives production.

The public API is what ``__all__`` lists; everything else may change without notice.
"""

from __future__ import annotations

from .api.client import GorgiasClient
from .core.account import UrlTemplate
from .core.account import parse_account
from .core.events import HookEvent
from .core.events import LifecycleEvent
from .core.records import Installation
from .core.records import InstallStatus
from .core.records import TokenSet
from .core.secret import Secret
from .core.settings import KitSettings
from .errors import AccessDenied
from .errors import ApiError
from .errors import ConfigError
from .errors import GorgiasAppError
from .errors import InstallationNotFound
from .errors import InstallationUnavailable
from .errors import InvalidAccount
from .errors import InvalidGrant
from .errors import InvalidState
from .errors import OAuthError
from .errors import RateLimited
from .kit import Kit

__version__ = "0.1.0"

__all__ = [
    "AccessDenied",
    "ApiError",
    "ConfigError",
    "GorgiasAppError",
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
    "RateLimited",
    "Secret",
    "TokenSet",
    "UrlTemplate",
    "parse_account",
]
