"""Protocol constants (bounds, roles, statuses) and the checked conversions
of event fields; every check raises :class:`~clearing.protocol.errors.InvalidArgument`.

Bounds (no wrap-around, DESIGN §4; see zkp/statements.py): public amounts
in [1, 2^63), prices in [1, 2^40), multipliers in [1, 2^24), quantities
range-proven in [1, 2^32], at most MAX_TRADES novations per member and
instrument (|pos| < 2^52), at most MAX_CYCLES cycles.
"""
from __future__ import annotations

import hashlib
import re

from clearing.protocol.errors import (
    InvalidArgument,
)
from zkp.errors import DecodeError
from zkp.group import Point

MAX_CYCLES = 1 << 20
MAX_TRADES = 1 << 20
MAX_MEMBERS = 1 << 16
MAX_PROOF_BYTES = 1 << 16
#: Relay ciphertext bound (a sealed trade opening is 89 bytes).
MAX_SEALED_BYTES = 4096
#: key of the auction book's (public) VM among the cycle's VM entries; member
#: ids cannot start with "@"
AUCTION = "@auction"
PROVER = "prover"
OPERATOR = "operator"
NODE = "node"

_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_RESERVED = {PROVER, OPERATOR, NODE}

STATUS_ACTIVE = "active"
STATUS_CALL = "call"
STATUS_PAYMENT = "payment"
STATUS_DEFAULTED = "defaulted"


def _int(name: str, v, lo: int, hi: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise InvalidArgument(f"{name} must be an integer")
    if not lo <= v < hi:
        raise InvalidArgument(f"{name} out of range [{lo}, {hi})")
    return v


def _ident(name: str, v) -> str:
    if not isinstance(v, str) or _ID_RE.fullmatch(v) is None:
        raise InvalidArgument(f"{name} must match [A-Za-z0-9][A-Za-z0-9._-]{{0,63}}")
    return v


def _hexbytes(name: str, v, size: int | None = None, max_size: int = MAX_PROOF_BYTES) -> bytes:
    if isinstance(v, (bytes, bytearray)):
        b = bytes(v)
    elif isinstance(v, str):
        try:
            b = bytes.fromhex(v)
        except ValueError:
            raise InvalidArgument(f"{name} is not hex") from None
    else:
        raise InvalidArgument(f"{name} must be bytes or hex")
    if size is not None and len(b) != size:
        raise InvalidArgument(f"{name} must be {size} bytes")
    if len(b) > max_size:
        raise InvalidArgument(f"{name} too long")
    return b


def _point(name: str, v, allow_identity: bool = False) -> Point:
    if isinstance(v, Point):
        v = v.encode()
    try:
        return Point.decode(_hexbytes(name, v, 32), allow_identity=allow_identity)
    except DecodeError as exc:
        raise InvalidArgument(f"{name}: {exc}") from None


def _h(b: bytes) -> str:
    return bytes(b).hex()


def sha256(b: bytes) -> bytes:
    return hashlib.sha256(b).digest()
