"""Users' passwords: only an argon2id hash is kept (salted, slow and memory-hard), so that a copy
of the control store does not give the passwords back at any useful speed.

Checking a login of a user who does not exist still verifies a password against a hash made
here, so that the answer takes as long as for a user who does.
"""

from __future__ import annotations

import threading

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 10
MAX_LENGTH = 256  # a longer one is a mistake, or a way to make each check cost more
PARAMETERS = profiles.RFC_9106_LOW_MEMORY  # argon2id, 64 MiB, 3 passes, 4 lanes
HASHER = PasswordHasher.from_parameters(PARAMETERS)
_dummy: str | None = None
_dummy_lock = threading.Lock()


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches the ``stored`` hash; with no hash (an unknown user), a check
    as long as a real one, that fails."""
    try:
        HASHER.verify(stored or _dummy_hash(), password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return stored is not None


def needs_rehash(stored: str) -> bool:
    """Whether a hash was made with weaker parameters than the hasher's: renewed at the next login."""
    return HASHER.check_needs_rehash(stored)


def _dummy_hash() -> str:
    global _dummy
    with _dummy_lock:
        if _dummy is None:
            _dummy = HASHER.hash("no user has this password")
        return _dummy
