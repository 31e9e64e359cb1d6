"""Nothing-up-my-sleeve generators by hash-to-curve (try-and-increment).

For purpose ``P`` and index ``i`` the generator is found as follows:

  DST  = b"zkclear:v1:BN254-G1:generators:" + P
  for ctr = 0, 1, 2, ...:
      u  = expand_message_xmd(SHA-256, msg = u32be(i) || u8(ctr), DST, 48)
      x  = OS2IP(u) mod p
      if x^3 + 3 is a square in F_p:
          y = (x^3 + 3)^((p+1)/4)        (p = 3 mod 4)
          choose the even one of {y, p - y}      -- the fixed sign rule
          return (x, y)

48 bytes (384 bits) make x statistically uniform in F_p.  BN254 G1 has
cofactor 1, so each such point lies in the prime-order group; nobody knows a
discrete-log relation between generators (or with the standard generator
(1, 2), which is never used as a base).

Purposes: ``pedersen.G`` (value base), ``pedersen.H`` (blinding base),
``bp.G`` / ``bp.H`` (Bulletproofs vectors, up to CAPACITY = 64*64 each),
``bp.U`` (inner-product base).  The *generator-set id* is SHA-256 over the
domain string and the encodings of every generator of the set in order; it
enters every transcript, so proofs made with other generators cannot verify.

Speed: ``expand_message_xmd`` (RFC 9380, section 5.3.1) is computed here
with :mod:`hashlib` directly -- byte-for-byte the function py_ecc ships (a
test compares them) -- reusing a SHA-256 state that has already absorbed
the 64-byte zero block Z_pad.  When gmpy2 is present a Legendre symbol
(cheap) screens out the non-squares before the one modular exponentiation
that computes y; the accepted (x, y) are the same as before.
"""
from __future__ import annotations

import hashlib
from functools import cache

from .field import P
from .group import Affine, Backend, FixedBase, Point, _encode_affine, get_backend, sqrt_fp

try:
    from gmpy2 import legendre as _legendre
except ImportError:  # pragma: no cover - the sqrt check alone decides
    _legendre = None

DOMAIN = b"zkclear:v1:BN254-G1:generators:"
#: Largest n*m supported by the range proofs (n = 64 bits, m = 64 values).
CAPACITY = 64 * 64


_SHA256_ZPAD = hashlib.sha256(bytes(64))  # Z_pad: one zero block of SHA-256


def expand_message_xmd(msg: bytes, dst: bytes, len_in_bytes: int) -> bytes:
    """expand_message_xmd with SHA-256 (RFC 9380, 5.3.1)."""
    if len(dst) > 255:
        raise ValueError("DST must be <= 255 bytes")
    ell = (len_in_bytes + 31) // 32
    if ell > 255:
        raise ValueError("invalid len in bytes for hash function")
    dst_prime = dst + bytes([len(dst)])
    h = _SHA256_ZPAD.copy()
    h.update(msg + len_in_bytes.to_bytes(2, "big") + b"\x00" + dst_prime)
    b0 = h.digest()
    bi = hashlib.sha256(b0 + b"\x01" + dst_prime).digest()
    out = [bi]
    b0_int = int.from_bytes(b0, "big")
    for i in range(2, ell + 1):
        mixed = (b0_int ^ int.from_bytes(bi, "big")).to_bytes(32, "big")
        bi = hashlib.sha256(mixed + bytes([i]) + dst_prime).digest()
        out.append(bi)
    return b"".join(out)[:len_in_bytes]


def hash_to_curve_affine(purpose: bytes, index: int) -> tuple[int, int]:
    if not 0 <= index < 1 << 32:
        raise ValueError("generator index out of range")
    dst = DOMAIN + purpose
    prefix = index.to_bytes(4, "big")
    for ctr in range(256):
        u = expand_message_xmd(prefix + bytes([ctr]), dst, 48)
        x = int.from_bytes(u, "big") % P
        rhs = (x * x * x + 3) % P
        if _legendre is not None and _legendre(rhs, P) < 0:
            continue  # not a square: sqrt_fp would return None
        y = sqrt_fp(rhs)  # strict: y*y == rhs checked
        if y is not None:
            if y & 1:
                y = P - y
            return (x, y)
    raise RuntimeError("hash-to-curve: no point found in 256 tries")  # never happens


#: Generator vectors by purpose, as affine points (see :func:`vector_snapshot`).
VectorSnapshot = dict[bytes, list[Affine]]

_VECTORS: VectorSnapshot = {}


def _affine_vector(purpose: bytes, count: int) -> list[Affine]:
    """The first ``count`` generators of a purpose (computed once, grown lazily)."""
    vec = _VECTORS.setdefault(purpose, [])
    while len(vec) < count:
        vec.append(hash_to_curve_affine(purpose, len(vec)))
    return vec[:count]


def vector_snapshot() -> VectorSnapshot:
    """The generator vectors computed so far in this process (affine ints),
    to hand to worker processes (:func:`load_vector_snapshot`) so they need
    not repeat ~1 ms of hash-to-curve per generator."""
    return {k: list(v) for k, v in _VECTORS.items()}


def load_vector_snapshot(snapshot: VectorSnapshot) -> None:
    """Seed this process's vector cache from :func:`vector_snapshot` of a
    trusted parent (the prover's own process).  Every point is checked to be
    on the curve; only entries extending the local cache are taken."""
    for purpose, vec in snapshot.items():
        local = _VECTORS.setdefault(purpose, [])
        for x, y in vec[len(local):]:
            if not (0 <= x < P and 0 <= y < P) or (y * y - x * x * x - 3) % P:
                raise ValueError("generator snapshot: point not on the curve")
            local.append((x, y))


#: SHA-256 set id of the default generator set (capacity 64*64), pinned here
#: so processes need not hash all 8,195 generators at start-up; a test
#: recomputes it from scratch (tests/test_generators.py).
GENERATOR_SET_ID = bytes.fromhex("84300a01445759e2fbac436c8a7ec06412f8f8fe48b4795102392755e0b08898")


class GeneratorSet:
    """Pedersen bases G, H; vectors G_i, H_i; inner-product base U.

    One instance per backend (see :func:`generators`)."""

    def __init__(self, backend: Backend, capacity: int = CAPACITY):
        self.backend = backend
        self.capacity = capacity
        self.G = self._mk(hash_to_curve_affine(b"pedersen.G", 0))
        self.H = self._mk(hash_to_curve_affine(b"pedersen.H", 0))
        self.U = self._mk(hash_to_curve_affine(b"bp.U", 0))
        self._Gv: list[Point] = []
        self._Hv: list[Point] = []
        self.G_table = FixedBase(self.G)
        self.H_table = FixedBase(self.H)
        self._id: bytes | None = None

    def _mk(self, a: Affine) -> Point:
        return Point(self.backend, self.backend.from_affine(*a))

    def _grow(self, n: int) -> None:
        if n > self.capacity:
            raise ValueError("generator capacity exceeded")
        if len(self._Gv) < n:
            self._Gv = [self._mk(a) for a in _affine_vector(b"bp.G", n)]
            self._Hv = [self._mk(a) for a in _affine_vector(b"bp.H", n)]

    def G_vec(self, n: int) -> list[Point]:
        self._grow(n)
        return self._Gv[:n]

    def H_vec(self, n: int) -> list[Point]:
        self._grow(n)
        return self._Hv[:n]

    @property
    def set_id(self) -> bytes:
        """SHA-256 over the domain and every generator's encoding (pinned)."""
        if self.capacity == CAPACITY:
            return GENERATOR_SET_ID
        if self._id is None:
            self._id = generator_set_id(self.capacity)
        return self._id

    def commit(self, value: int, blinding: int) -> Point:
        """Pedersen commitment value*G + blinding*H (fixed-base tables)."""
        return Point(self.backend, self.backend.add(self.G_table.mul(value).raw, self.H_table.mul(blinding).raw))


@cache
def generator_set_id(capacity: int = CAPACITY) -> bytes:
    h = hashlib.sha256()
    h.update(DOMAIN + b"set-id")
    h.update(capacity.to_bytes(4, "big"))
    for purpose in (b"pedersen.G", b"pedersen.H", b"bp.U"):
        h.update(_encode_affine(hash_to_curve_affine(purpose, 0)))
    for purpose in (b"bp.G", b"bp.H"):
        for a in _affine_vector(purpose, capacity):
            h.update(_encode_affine(a))
    return h.digest()


_SETS: dict[str, GeneratorSet] = {}


def generators(backend: Backend | None = None) -> GeneratorSet:
    """The generator set for ``backend`` (default: the current backend)."""
    b = backend or get_backend()
    gs = _SETS.get(b.name)
    if gs is None:
        gs = _SETS[b.name] = GeneratorSet(b)
    return gs
