"""Flask glue: the ``GorgiasKit`` extension and the install/callback/disconnect blueprint."""

from __future__ import annotations

from .deadline import busy_page
from .extension import GorgiasKit
from .extension import get_kit
from .proxy import trust_proxies
from .security import csrf_exempt
from .security import csrf_token
from .sessions import viewable_accounts

__all__ = [
    "GorgiasKit",
    "busy_page",
    "csrf_exempt",
    "csrf_token",
    "get_kit",
    "trust_proxies",
    "viewable_accounts",
]
