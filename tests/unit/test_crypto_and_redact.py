"""SEC-13 and SEC-14: masked secrets, log scrubbing, and encryption bound to its row."""

from __future__ import annotations

import json
import logging

import pytest

from gorgias_appkit import Secret
from gorgias_appkit.core.secret import SCRUBBER
from gorgias_appkit.core.secret import SecretScrubber
from gorgias_appkit.errors import DecryptionError
from gorgias_appkit.store.crypto import Keyring
from gorgias_appkit.store.crypto import generate_key


def test_secret_never_prints_its_value() -> None:
    """repr, str, format and f-strings all mask; reveal is the only way out."""
    s = Secret("tok-123456")
    # The str.format and %-format paths are what is under test here, hence the noqa.
    for text in (repr(s), str(s), f"{s}", "{}".format(s), "%s" % s):  # noqa: UP031, UP032
        assert "tok-123456" not in text
    assert s.reveal() == "tok-123456"
    with pytest.raises(TypeError):
        json.dumps(s)


def test_keyring_round_trip_and_rotation() -> None:
    """The newest key encrypts; any configured key decrypts; kid says which key sealed it."""
    old, new = generate_key(), generate_key()
    sealed_old = Keyring([Secret(old)]).encrypt("refresh-1", context="installation:acme:refresh")
    ring = Keyring([Secret(new), Secret(old)])
    assert ring.decrypt(sealed_old, context="installation:acme:refresh") == "refresh-1"
    assert ring.needs_rotation(sealed_old)
    sealed_new = ring.encrypt("refresh-1", context="installation:acme:refresh")
    assert not ring.needs_rotation(sealed_new)
    assert "refresh-1" not in sealed_new


def test_ciphertext_moved_to_another_row_does_not_open() -> None:
    """SEC-14: a value copied into another account's row fails to decrypt."""
    ring = Keyring([Secret(generate_key())])
    sealed = ring.encrypt("refresh-b", context="installation:globex:refresh")
    with pytest.raises(DecryptionError):
        ring.decrypt(sealed, context="installation:acme:refresh")
    with pytest.raises(DecryptionError):
        Keyring([Secret(generate_key())]).decrypt(sealed, context="installation:globex:refresh")


def test_scrubber_masks_tokens_in_log_records(caplog: pytest.LogCaptureFixture) -> None:
    """SEC-13: bearer headers, JWTs, form fields and registered secrets are masked."""
    scrubber = SecretScrubber()
    scrubber.register("s3cr+t/with:odd%chars")
    logger = logging.getLogger("test.scrub")
    logger.addFilter(scrubber)
    jwt_like = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOjEyM30.c2lnbmF0dXJl"
    with caplog.at_level(logging.INFO, logger="test.scrub"):
        logger.info("Authorization: Bearer abc.def-ghi")
        logger.info("body refresh_token=rt-999&code=cd-42 %s", jwt_like)
        logger.info("secret is s3cr+t/with:odd%%chars")
        logger.info('json {"access_token": "at-777"}')
    text = caplog.text
    for leaked in ("abc.def-ghi", "rt-999", "cd-42", jwt_like, "s3cr+t/with:odd%chars", "at-777"):
        assert leaked not in text


@pytest.mark.parametrize(
    ("line", "kept"),
    [
        ('"GET /oauth/callback?code=C0DE1&state=ST4TE1 HTTP/1.1" 303', "/oauth/callback?code=***"),
        ("GET /oauth/callback?state=ST4TE2&%63ode=C0DE2 HTTP/1.1", "%63ode=***"),
        ("GET /oauth/callback?CODE=C0DE3;State=ST4TE3 HTTP/1.1", "CODE=***"),
        ("GET /x?access_token=T0KEN&id_token%5B%5D=T0KEN2", "access_token=***"),
        ("GET /oauth/install?account=acme&next=/accounts/acme HTTP/1.1", "account=acme"),
    ],
)
def test_item7_scrubber_masks_secret_query_values(line: str, kept: str) -> None:
    """Issue 9 item 7: access-log lines lose every code, state or token value, by decoded name."""
    scrubbed = SCRUBBER.scrub(line)
    assert kept in scrubbed
    for secret in ("C0DE", "ST4TE", "T0KEN"):
        assert secret not in scrubbed
