"""Hostile inputs shared by the unit and security tiers (SEC-01's list and more)."""

from __future__ import annotations

# Values a forged install link may carry as ``account``: each must be refused before any URL is
# built (checklist SEC-01, plus path, escape and look-alike tricks).
HOSTILE_ACCOUNTS = [
    "evil.com/x?",
    "evil.com#",
    "evil.com%2F",
    "a@evil.com",
    "acme.evil.com",
    "acme.gorgias.com.evil.com",
    "acme:443",
    "-acme",
    "acme-",
    "a" * 64,
    "",
    " acme",
    "acme ",
    "acme\r\nX-A: 1",
    "acme%00",
    "acme\x00",
    "\u0430cme",  # Cyrillic a (U+0430)
    "127.0.0.1",
    "acme/../evil",
    "acme\\evil",
    "ac_me",
    "xn--80ak6aa92e.com",
    "//evil.com",
    "acme?x=1",
]
