"""Tokens are encrypted at rest with Fernet keys from XERO_TOKEN_KEYS (comma-separated): the first
encrypts, every one decrypts, so a key is rotated by putting a new one first and dropping the old
one once `manage.py xero_rotate_token_keys` has re-encrypted the stored tokens."""

import base64
import hashlib
import logging
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger(__name__)


class TokenUnreadable(Exception):
    """A stored token could not be decrypted with any configured key."""


def _keys() -> list[bytes]:
    keys = [key.strip().encode() for key in settings.XERO_TOKEN_KEYS if key.strip()]
    if keys:
        return keys
    if not settings.DEBUG:
        raise ImproperlyConfigured(
            'Set XERO_TOKEN_KEYS to one or more Fernet keys (python -c "from cryptography.fernet '
            'import Fernet; print(Fernet.generate_key().decode())"): Xero tokens are stored encrypted.'
        )
    logger.warning("XERO_TOKEN_KEYS is not set: using a key derived from SECRET_KEY (DEBUG only).")
    derived = hashlib.sha256(b"xero-token-key:" + settings.SECRET_KEY.encode()).digest()
    return [base64.urlsafe_b64encode(derived)]


@cache
def _cipher(keys: tuple[bytes, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def cipher() -> MultiFernet:
    return _cipher(tuple(_keys()))


def encrypt(plain: str) -> str:
    return cipher().encrypt(plain.encode()).decode() if plain else ""


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return cipher().decrypt(token.encode()).decode()
    except InvalidToken:
        raise TokenUnreadable("A stored Xero token cannot be decrypted with XERO_TOKEN_KEYS.") from None


def reencrypt(token: str) -> str:
    """The same secret under the first (newest) key."""
    return cipher().rotate(token.encode()).decode() if token else ""
