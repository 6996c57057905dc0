"""gorgias-appkit: build a Gorgias App Store app that is safe by default and survives production.

The public API is what ``__all__`` lists; everything else may change without notice.
"""

from __future__ import annotations

from .accounts import UrlTemplate
from .accounts import parse_account
from .api.client import GorgiasClient
from .config import KitSettings
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
from .hooks import HookEvent
from .hooks import LifecycleEvent
from .kit import Kit
from .redact import Secret
from .store.base import Installation
from .store.base import InstallStatus
from .store.base import TokenSet

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
