"""Bearer tokens (session tokens, share-link tokens): random, shown once, stored only as their SHA-256.

A token carries 256 random bits, so a plain SHA-256 is enough to store it (no salt or slow hash: nothing to guess),
and a stored hash cannot be turned back into a working token.
"""

from __future__ import annotations

import hashlib
import secrets

TOKEN_BYTES = 32  # 256 bits of randomness


def new_token(prefix: str = "") -> str:
    """A fresh URL-safe token (43 characters after `prefix`, which makes a leaked token recognisable)."""
    return prefix + secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    """What is stored and looked up instead of the token: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()
