"""Passwords, session ids, API keys, random secrets and sealed data: the crypto choices in one
place."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

_hasher: PasswordHasher | None = None

API_KEY_PREFIX = "py_"


def configure(params: dict) -> None:
    """Set Argon2id cost from the app config (tests use a cheap one)."""
    global _hasher
    _hasher = PasswordHasher(**params)


def _ph() -> PasswordHasher:
    global _hasher
    if _hasher is None:
        _hasher = PasswordHasher()
    return _hasher


def hash_password(password: str) -> str:
    return _ph().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _ph().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def random_password(nbytes: int = 9) -> str:
    return secrets.token_urlsafe(nbytes)


def session_id_for(user) -> str:
    """Flask-Login id with a fingerprint of the password hash: changing the password ends
    every other session, because their stored id no longer matches."""
    fp = hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]
    return f"{user.id}:{fp}"


def parse_session_id(value: str) -> tuple[int, str] | None:
    uid, _, fp = value.partition(":")
    if not uid.isdigit() or not fp:
        return None
    return int(uid), fp


def new_api_key() -> tuple[str, str, str]:
    """Return (full key shown once, prefix for lookup, sha256 of the secret for storage)."""
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    return f"{API_KEY_PREFIX}{prefix}_{secret}", prefix, hash_secret(secret)


def split_api_key(key: str) -> tuple[str, str] | None:
    if not key.startswith(API_KEY_PREFIX):
        return None
    prefix, _, secret = key[len(API_KEY_PREFIX):].partition("_")
    if not prefix or not secret:
        return None
    return prefix, secret


def hash_secret(secret: str) -> str:
    """Secrets here carry ≥128 random bits, so a plain SHA-256 (no slow hash) is sufficient."""
    return hashlib.sha256(secret.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a, b)


class SealBroken(RuntimeError):
    """Sealed data that no configured key opens (SECRET_KEY changed without a fallback)."""


@lru_cache(maxsize=64)
def _fernet(secret: str, purpose: str) -> Fernet:
    """The key of one purpose (derived once per process: every ballot seals its box row)."""
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=f"pingyi:{purpose}".encode()).derive(
        secret.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def _keys(purpose: str) -> MultiFernet:
    """This purpose's key from ``SECRET_KEY``, then from each of ``SECRET_KEY_FALLBACKS`` (older
    keys still open what they sealed)."""
    cfg = current_app.config
    return MultiFernet([_fernet(k, purpose) for k in [cfg["SECRET_KEY"], *cfg.get("SECRET_KEY_FALLBACKS", [])]])


def seal(data: dict, purpose: str) -> str:
    """``data`` encrypted and authenticated (Fernet: AES-128-CBC + HMAC-SHA256) under a key
    derived from the app's secret, which lives on the app servers, never in the database:
    a database, its backups, its WAL and its freed pages show ciphertext only."""
    return _keys(purpose).encrypt(json.dumps(data, separators=(",", ":")).encode()).decode()


def unseal(token: str, purpose: str) -> dict:
    try:
        return json.loads(_keys(purpose).decrypt(token.encode()))
    except InvalidToken:
        raise SealBroken(f"sealed {purpose} data opens with no configured key: SECRET_KEY changed? "
                         "Put the old one in SECRET_KEY_FALLBACKS") from None
