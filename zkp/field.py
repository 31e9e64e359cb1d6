"""The scalar field F_r of BN254 G1, and its canonical 32-byte encoding.

Scalars are plain Python ints in [0, r).  ``galois`` provides vector and
polynomial algebra over GF(r) for code that reads better that way (the field
object is created lazily: ``galois.GF(r, primitive_element=5, verify=False)``
skips the ~85 s factorisation of r-1).  Single-value arithmetic stays on ints,
which are faster than galois scalars.

Encoding: 32 bytes, big-endian; decoding rejects wrong lengths and values
>= r (non-canonical), so every scalar has exactly one encoding.
"""
from __future__ import annotations

import secrets
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol

from .errors import DecodeError

if TYPE_CHECKING:  # galois is imported lazily (heavy), see GF()
    import galois

#: Order of the BN254 G1 group (prime).
R = 21888242871839275222246405745257275088548364400416034343698204186575808495617
#: Base-field modulus of BN254.
P = 21888242871839275222246405745257275088696311157297823662689037894645226208583

SCALAR_BYTES = 32


def inv(a: int) -> int:
    """Multiplicative inverse mod r; raises ZeroDivisionError on 0."""
    a %= R
    if a == 0:
        raise ZeroDivisionError("inverse of zero scalar")
    return pow(a, -1, R)


def batch_inv(values: list[int]) -> list[int]:
    """Montgomery's trick: all inverses mod r with one modular inversion."""
    n = len(values)
    if n == 0:
        return []
    prefix = [0] * n
    acc = 1
    for i, v in enumerate(values):
        v %= R
        if v == 0:
            raise ZeroDivisionError("inverse of zero scalar")
        prefix[i] = acc
        acc = acc * v % R
    acc_inv = pow(acc, -1, R)
    out = [0] * n
    for i in range(n - 1, -1, -1):
        out[i] = acc_inv * prefix[i] % R
        acc_inv = acc_inv * values[i] % R
    return out


class Rng(Protocol):
    """A source of uniform integers: ``randbelow(n)`` in [0, n).  The
    :mod:`secrets` module is one; :class:`SeededRng` is the tests' one."""

    def randbelow(self, n: int, /) -> int: ...


def random_scalar(rng: Rng | None = None) -> int:
    """A uniformly random non-zero scalar.

    ``rng`` is for tests only: any object with ``randbelow(n)`` (e.g. a
    seeded ``random.Random`` wrapped by :class:`SeededRng`).  Production code
    passes nothing and gets :mod:`secrets`.
    """
    src: Rng = rng if rng is not None else secrets
    while True:
        k = src.randbelow(R)
        if k != 0:
            return k


class SeededRng:
    """Deterministic RNG for tests and known-answer vectors (NOT for secrets)."""

    def __init__(self, seed: bytes | str | int):
        import hashlib

        if isinstance(seed, int):
            seed = seed.to_bytes(32, "big", signed=False)
        elif isinstance(seed, str):
            seed = seed.encode()
        self._key = hashlib.sha256(b"zkclear-test-rng" + seed).digest()
        self._ctr = 0

    def randbytes(self, n: int) -> bytes:
        import hashlib

        out = b""
        while len(out) < n:
            out += hashlib.sha256(self._key + self._ctr.to_bytes(8, "big")).digest()
            self._ctr += 1
        return out[:n]

    def randbelow(self, n: int) -> int:
        # 64 extra bits make the modular bias negligible.
        nbytes = (n.bit_length() + 7) // 8 + 8
        return int.from_bytes(self.randbytes(nbytes), "big") % n


def encode_scalar(k: int) -> bytes:
    if not 0 <= k < R:
        raise ValueError("scalar out of range [0, r)")
    return k.to_bytes(SCALAR_BYTES, "big")


def decode_scalar(data: bytes) -> int:
    """Strict decoding: exactly 32 bytes, value < r."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise DecodeError("scalar must be bytes")
    if len(data) != SCALAR_BYTES:
        raise DecodeError(f"scalar must be {SCALAR_BYTES} bytes, got {len(data)}")
    k = int.from_bytes(data, "big")
    if k >= R:
        raise DecodeError("non-canonical scalar (>= r)")
    return k


def to_signed(k: int) -> int:
    """Map a scalar to the integer in (-r/2, r/2] it represents."""
    k %= R
    return k - R if k > R // 2 else k


def from_int(v: int) -> int:
    """Embed a (possibly negative) integer as a scalar: -|v| becomes r-|v|."""
    return v % R


@lru_cache(maxsize=1)
def GF() -> type[galois.FieldArray]:
    """The galois field GF(r) (created on first use)."""
    import galois

    return galois.GF(R, primitive_element=5, verify=False)
