"""The token string: `baton_<prefix>_<secret>`, made, split and hashed.

The prefix is public: it is shown on the pages and finds the row (one indexed
lookup). Only a hash of the secret is stored. SHA-256, a fast hash, is the
right one here: the secret is 40 random characters (about 238 bits), so there
is nothing to guess and a slow password hash would only slow every API call.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from typing import NamedTuple

TOKEN_PREFIX = "baton"
ALPHABET = string.ascii_letters + string.digits  # no separators, so a double-click selects the whole token
PREFIX_LENGTH = 8
SECRET_LENGTH = 40


class TokenParts(NamedTuple):
    prefix: str
    secret: str


def _random(length: int, alphabet: str = ALPHABET) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def new_prefix() -> str:
    # Lower case and digits only: the prefix is read aloud and typed into searches.
    return _random(PREFIX_LENGTH, string.ascii_lowercase + string.digits)


def new_secret() -> str:
    return _random(SECRET_LENGTH)


def assemble(prefix: str, secret: str) -> str:
    return f"{TOKEN_PREFIX}_{prefix}_{secret}"


def split(token: str) -> TokenParts | None:
    """The parts of a well-formed token, else None."""
    head, _, rest = token.partition("_")
    prefix, _, secret = rest.partition("_")
    if head != TOKEN_PREFIX or len(prefix) != PREFIX_LENGTH or len(secret) != SECRET_LENGTH:
        return None
    if not (prefix.isascii() and prefix.isalnum() and secret.isascii() and secret.isalnum()):
        return None
    return TokenParts(prefix, secret)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str, secret_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), secret_hash)
