"""Map API responses to typed errors, parsing both error body shapes Gorgias has used.

Gorgias has answered ``{"error": "text"}`` and ``{"error": {"msg": "text", "data": {...}}}``
(gorgias-platform.md §4.5). Messages are cut short and never include request headers.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import ApiError
from ..errors import BadRequest
from ..errors import Conflict
from ..errors import Forbidden
from ..errors import NotFound
from ..errors import PayloadTooLarge
from ..errors import ServerError
from ..errors import Unauthorized

_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
}


def parse_error_body(body: object) -> tuple[str, object]:
    """Return ``(message, data)`` from either error shape; unknown shapes give a generic text."""
    if isinstance(body, Mapping):
        error = body.get("error")
        if isinstance(error, str):
            return error[:300], None
        if isinstance(error, Mapping):
            msg = error.get("msg") or error.get("message") or "error"
            return str(msg)[:300], error.get("data")
        message = body.get("message")
        if isinstance(message, str):
            return message[:300], None
    return "request failed", None


def error_for(status: int, body: object, *, account: str) -> ApiError:
    """Build the typed error for an HTTP status."""
    message, data = parse_error_body(body)
    if status >= 500:
        return ServerError(message, account=account, status_code=status, data=data)
    cls = _BY_STATUS.get(status, ApiError)
    return cls(message, account=account, status_code=status, data=data)
