"""Token encryption at rest: a keyring of AES-256-GCM keys with key ids and row binding.

Keys are configured as ``Fernet.generate_key()`` prints them (32 random bytes, urlsafe
base64), newest first. Each is stretched with HKDF-SHA256 into an AES-256-GCM key; its id is
a short hash, stored in the ciphertext so any configured key can decrypt and the newest
encrypts. The associated data names the row and column (``installation:acme:refresh``)
so a ciphertext copied into another account's row fails to open (SEC-14).

Format: ``v1.<kid>.<base64url(nonce || ciphertext+tag)>``. Anything else, a key id that is not
configured, or a tag that does not verify is a :class:`DecryptionError` (never another
exception), whose message names the context and the key id only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ..core.secret import Secret
from ..errors import DecryptionError

_VERSION = "v1"
_HKDF_INFO = b"gorgias-appkit token encryption v1"
_NONCE = 12
_TAG = 16
_KID = re.compile(r"[0-9a-f]{8}")


@dataclass(frozen=True, slots=True)
class _Key:
    kid: str
    aead: AESGCM

    def __repr__(self) -> str:
        return f"_Key(kid={self.kid!r})"


def _derive(material: bytes) -> _Key:
    kid = hashlib.sha256(b"kid:" + material).hexdigest()[:8]
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO)
    return _Key(kid=kid, aead=AESGCM(hkdf.derive(material)))


def generate_key() -> str:
    """Return a new key in the configured format (32 random bytes, urlsafe base64)."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


class Keyring:
    """Encrypt with the newest key, decrypt with whichever key a ciphertext names."""

    def __init__(self, keys: tuple[Secret, ...] | list[Secret]) -> None:
        if not keys:
            raise ValueError("a keyring needs at least one key")
        self._keys = [_derive(base64.urlsafe_b64decode(k.reveal().encode())) for k in keys]
        self._by_kid = {k.kid: k for k in self._keys}

    def __repr__(self) -> str:
        return f"Keyring(kids={self.kids!r})"

    @property
    def kids(self) -> list[str]:
        """Key ids, newest first."""
        return [k.kid for k in self._keys]

    @property
    def current_kid(self) -> str:
        """The id of the key that encrypts."""
        return self._keys[0].kid

    def encrypt(self, plaintext: str, *, context: str) -> str:
        """Encrypt ``plaintext`` bound to ``context`` (e.g. ``installation:acme:access``)."""
        key = self._keys[0]
        nonce = os.urandom(_NONCE)
        sealed = key.aead.encrypt(nonce, plaintext.encode(), context.encode())
        body = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
        return f"{_VERSION}.{key.kid}.{body}"

    def decrypt(self, token: str, *, context: str) -> str:
        """Decrypt a value sealed for ``context``; raise :class:`DecryptionError` otherwise."""
        parts = token.split(".", 2) if isinstance(token, str) else []
        if len(parts) != 3 or parts[0] != _VERSION or not _KID.fullmatch(parts[1]):
            raise DecryptionError(f"malformed ciphertext for {context}")
        kid, body = parts[1], parts[2]
        key = self._by_kid.get(kid)
        if key is None:
            raise DecryptionError(f"no configured key {kid!r} for {context}")
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except (binascii.Error, ValueError):
            raise DecryptionError(f"malformed ciphertext for {context}") from None
        if len(raw) < _NONCE + _TAG:
            raise DecryptionError(f"malformed ciphertext for {context}")
        try:
            return key.aead.decrypt(raw[:_NONCE], raw[_NONCE:], context.encode()).decode()
        except (InvalidTag, UnicodeDecodeError):
            raise DecryptionError(f"ciphertext does not belong to {context}") from None

    def reseal(self, token: str, *, context: str) -> str:
        """Return ``token`` sealed under the newest key (unchanged if it already is)."""
        if not self.needs_rotation(token):
            return token
        return self.encrypt(self.decrypt(token, context=context), context=context)

    def kid_of(self, token: str) -> str:
        """Return the key id a ciphertext was sealed with."""
        return token.split(".", 2)[1] if token.count(".") >= 2 else ""

    def needs_rotation(self, token: str) -> bool:
        """Tell whether a ciphertext was sealed with an older key."""
        return self.kid_of(token) != self.current_kid

    def current_prefix(self) -> str:
        """The prefix every ciphertext sealed by the newest key starts with (for SQL ``LIKE``)."""
        return f"{_VERSION}.{self.current_kid}."
