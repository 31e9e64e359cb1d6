"""Protocol constants (bounds, roles, statuses) and the checked conversions
of event fields; every check raises :class:`~clearing.protocol.errors.InvalidArgument`.

Bounds (no wrap-around, DESIGN §4; see zkp/statements.py): public amounts
in [1, 2^63), prices in [1, 2^40), multipliers in [1, 2^24), quantities
range-proven in [1, 2^32], at most MAX_TRADES novations per member and
instrument (|pos| < 2^52), at most MAX_CYCLES cycles.

Proof size.  :data:`MAX_PROOF_BYTES` is derived from the zkp limits, not
chosen: the larger of the two proofs that grow with the public limits,

* :func:`margin_proof_bytes` at S = zkp.statements.MAX_SCENARIOS: an
  expected-shortfall margin proof (zkp.margin.MarginProof: u32 aux count,
  S + 1 aux points of 32 bytes, then zkp.statement_base.StatementProof: u16
  proof count and per chunk of at most 64 of the 2S + 2 values a u32 length
  and a 64-bit aggregated range proof of zkp.rangeproof.proof_size(64, m)
  bytes) -- 134,154 bytes at S = 2,048.  Every other margin-family proof
  (scan: S values, no aux; solvency-only; maintenance; the DF-sizing bound
  and Cover-2, both MarginProofs over at most S values) is no larger;
* :func:`disclosure_proof_bytes` at I = zkp.statements.MAX_INSTRUMENTS: a
  defaulter's disclosure (zkp.statements.RevealProofs: u16 count and a
  64-byte reveal per disclosed account: cash, df, the unpaid assessment
  payable, every position) -- 262,338 bytes at I = 4,096;

so MAX_PROOF_BYTES = 262,338.  The statements whose proofs grow with the
number of members (pro-rata shares, VM gains) are bounded by it as they
were by the old 2^16 bytes, only more loosely.
"""
from __future__ import annotations

import hashlib
import re

from clearing.protocol.errors import (
    InvalidArgument,
)
from zkp.errors import DecodeError
from zkp.group import POINT_BYTES, Point
from zkp.rangeproof import proof_size
from zkp.sigma import ZERO_PROOF_BYTES
from zkp.statement_base import MAX_INSTRUMENTS, MAX_SCENARIOS, VALUES_PER_PROOF

MAX_CYCLES = 1 << 20
MAX_TRADES = 1 << 20
MAX_MEMBERS = 1 << 16


def margin_proof_bytes(scenarios: int) -> int:
    """Encoded size of an expected-shortfall margin proof over ``scenarios``
    scenarios (the largest proof of the margin family at that S): u32 aux
    count + (S + 1) points + u16 proof count + per chunk of at most
    VALUES_PER_PROOF of the 2S + 2 values a u32 length and a 64-bit range
    proof (module docstring)."""
    if isinstance(scenarios, bool) or not isinstance(scenarios, int) or not 1 <= scenarios <= MAX_SCENARIOS:
        raise ValueError(f"scenarios must be an int in [1, {MAX_SCENARIOS}]")
    values = 2 * scenarios + 2
    full, rest = divmod(values, VALUES_PER_PROOF)
    chunks = [VALUES_PER_PROOF] * full + ([rest] if rest else [])
    return 4 + (scenarios + 1) * POINT_BYTES + 2 + sum(4 + proof_size(64, m) for m in chunks)


def disclosure_proof_bytes(instruments: int) -> int:
    """Encoded size of the largest disclosure of a defaulter holding
    ``instruments`` instruments: u16 count + one reveal proof per account
    (cash, df, the unpaid assessment payable, every position)."""
    if isinstance(instruments, bool) or not isinstance(instruments, int) or not 1 <= instruments <= MAX_INSTRUMENTS:
        raise ValueError(f"instruments must be an int in [1, {MAX_INSTRUMENTS}]")
    return 2 + (instruments + 3) * ZERO_PROOF_BYTES


#: Largest proof accepted in any message or event (262,338 bytes at the zkp
#: limits; module docstring).
MAX_PROOF_BYTES = max(margin_proof_bytes(MAX_SCENARIOS), disclosure_proof_bytes(MAX_INSTRUMENTS))
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
