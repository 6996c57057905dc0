"""Per-issuer OpenID discovery documents and key sets, cached with a TTL and a size bound.

Discovery: ``{issuer}/.well-known/openid-configuration`` is read per issuer and kept for an
hour. Its ``issuer`` must equal the expected issuer exactly and its ``jwks_uri`` must live under
the issuer's own URL, or the install aborts before the merchant is redirected (OIDC Discovery
§4.3, SEC-08). A 404, a redirect (never followed) or a page that is not JSON means "no
document"; a 5xx or 429 fails the login closed (REL-13) rather than falling back. Keys are
cached per issuer and never shared across accounts; an unknown ``kid`` refetches the issuer's
JWKS once (at most once a minute per kid), so a rotated key is picked up and a stream of bogus
kids cannot hammer the account's server.

No lock of the whole cache is held across a fetch: each issuer has its own (single flight: the
installs of one account wait for one fetch), so a slow or hanging account server delays only
installs into that account.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit
from weakref import WeakValueDictionary

from cachetools import TTLCache
from jwt import PyJWKSet
from jwt.exceptions import PyJWKSetError
from jwt.exceptions import PyJWTError

from ..errors import IdTokenError
from ..errors import TokenEndpointError
from .client import OAuthClient

log = logging.getLogger("gorgias_appkit.oauth")

ALLOWED_ALGORITHMS = ("RS256",)  # V-07: Gorgias signs with RS256 (gorgias-platform.md §1.6)
_JWKS_TTL = 3600.0
MAX_ISSUERS = 1024
_KID_RETRY = 60.0


@dataclass(frozen=True, slots=True)
class ProviderMetadata:
    """What an issuer's discovery document says that the kit relies on."""

    issuer: str
    jwks: PyJWKSet
    iss_parameter_supported: bool


class JwksCache:
    """Discovery documents and keys, one entry per issuer (never shared across accounts).

    Bounded in size and age (:data:`MAX_ISSUERS` entries for :data:`_JWKS_TTL` seconds), so a
    stream of installs into made-up accounts cannot grow it without end.
    """

    def __init__(self, oauth: OAuthClient, *, enabled: bool = True) -> None:
        self.oauth = oauth
        self.enabled = enabled
        self._entries: TTLCache[str, ProviderMetadata | None] = TTLCache(MAX_ISSUERS, _JWKS_TTL)
        self._kid_tries: TTLCache[tuple[str, str], bool] = TTLCache(4 * MAX_ISSUERS, _KID_RETRY)
        self._lock = threading.Lock()  # the dictionaries only; never held across a fetch
        self._fetching: WeakValueDictionary[str, threading.Lock] = WeakValueDictionary()

    def metadata(self, issuer: str, *, refresh: bool = False) -> ProviderMetadata | None:
        """Return the issuer's metadata, ``None`` when it publishes none; fail closed on errors."""
        if not self.enabled:
            return None
        if not refresh and (hit := self._cached(issuer)):
            return hit[0]
        with self._issuer_lock(issuer):
            if not refresh and (hit := self._cached(issuer)):
                return hit[0]  # a sibling fetched it while we waited
            metadata = self._fetch(issuer)
            with self._lock:
                self._entries[issuer] = metadata
            return metadata

    def _cached(self, issuer: str) -> tuple[ProviderMetadata | None] | None:
        """``(metadata,)`` when the issuer is cached (its metadata may be ``None``), else None."""
        with self._lock:
            try:
                return (self._entries[issuer],)
            except KeyError:  # never fetched, or expired
                return None

    def _issuer_lock(self, issuer: str) -> threading.Lock:
        with self._lock:
            lock = self._fetching.get(issuer)
            if lock is None:
                lock = self._fetching[issuer] = threading.Lock()
            return lock

    def forget(self, issuer: str | None = None) -> None:
        """Drop what is cached for ``issuer`` (all issuers by default); the next use refetches."""
        with self._lock:
            if issuer is None:
                self._entries.clear()
                self._kid_tries.clear()
            else:
                self._entries.pop(issuer, None)
                for key in [k for k in self._kid_tries if k[0] == issuer]:
                    self._kid_tries.pop(key, None)

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, issuer: str) -> PyJWKSet | None:
        """Return the issuer's keys, ``None`` when it publishes none."""
        metadata = self.metadata(issuer)
        return metadata.jwks if metadata else None

    def refetch_for(self, issuer: str, kid: str) -> PyJWKSet | None:
        """Refetch the issuer's keys for an unknown ``kid``, at most once a minute per kid."""
        with self._lock:
            if (issuer, kid) in self._kid_tries:
                return None
            self._kid_tries[(issuer, kid)] = True
        metadata = self.metadata(issuer, refresh=True)
        return metadata.jwks if metadata else None

    def _fetch(self, issuer: str) -> ProviderMetadata | None:
        status, doc = self.oauth.get_json(issuer + "/.well-known/openid-configuration")
        if status == 429 or status >= 500:  # the server is there but failing: fail closed
            raise TokenEndpointError(f"discovery answered {status}", status_code=status)
        if status != 200 or not isinstance(doc, Mapping):
            # 404, a login redirect (never followed), an HTML page: no discovery document.
            log.info(
                "no discovery document (status %d): id_token signatures cannot be checked",
                status,
                extra={"event": "no_discovery"},
            )
            return None
        if doc.get("issuer") != issuer:
            raise IdTokenError("discovery_issuer_mismatch", "discovery names another issuer")
        jwks_uri = doc.get("jwks_uri")
        if not isinstance(jwks_uri, str) or not _under(jwks_uri, issuer):
            raise IdTokenError("bad_jwks_uri", "jwks_uri is not on the issuer's own URL")
        status, keys = self.oauth.get_json(jwks_uri)
        if status != 200 or not isinstance(keys, Mapping):
            raise TokenEndpointError(f"JWKS answered {status}", status_code=status)
        return ProviderMetadata(
            issuer=issuer,
            jwks=_key_set(keys),
            iss_parameter_supported=doc.get("authorization_response_iss_parameter_supported")
            is True,
        )


def _key_set(document: Mapping[str, object]) -> PyJWKSet:
    """Keep the RSA signing keys of a JWKS document; refuse a set with none."""
    raw = document.get("keys")
    usable = [
        k
        for k in (raw if isinstance(raw, list) else [])
        if isinstance(k, dict)
        and k.get("kty") == "RSA"
        and k.get("use") in (None, "sig")
        and k.get("alg") in (None, *ALLOWED_ALGORITHMS)
    ]
    try:
        return PyJWKSet(usable)
    except (PyJWKSetError, PyJWTError) as exc:
        raise IdTokenError("bad_jwks", "the JWKS has no usable key") from exc


def _under(url: str, issuer: str) -> bool:
    a, b = urlsplit(url), urlsplit(issuer)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc) and a.path.startswith(
        b.path.rstrip("/") + "/"
    )
