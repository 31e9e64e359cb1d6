"""Sigma proofs over Pedersen commitments: shared statements, proof types,
strict encodings and the Fiat-Shamir challenge derivation.

Both :mod:`prover.sigma` and :mod:`verifier.sigma` derive their challenges
through the functions of this module, so what enters the transcript, and in
which order, is written down exactly once.

Notation: G, H are the Pedersen bases of the generator set ``gens``
(:mod:`zkp.generators`), all arithmetic is mod r, and ``T`` is the caller's
:class:`~zkp.transcript.Transcript`, which already holds the application's
statement (cycle id, member id, ...).  Proof code only extends it.

Relations (Schnorr-style proofs of knowledge, made non-interactive with
Fiat-Shamir; each is complete, special-sound and honest-verifier
zero-knowledge, so the transcript must bind every public input):

``OpeningProof``   PoK{(v, rho) : C = v*G + rho*H}
    prover:  k_v, k_r <-$ F_r;  A = k_v*G + k_r*H
    challenge c;  z_v = k_v + c*v,  z_r = k_r + c*rho
    verifier: z_v*G + z_r*H == A + c*C

``ZeroProof``      PoK{rho : C = rho*H}               ("C commits to zero")
    prover:  k <-$ F_r;  A = k*H;  z = k + c*rho
    verifier: z*H == A + c*C

``EqualityProof``  PoK{rho : C1 - C2 = rho*H}, rho = rho1 - rho2
    (C1 and C2 commit to the same value: binding of Pedersen commitments
    means a prover knowing two openings with different values could not
    produce this proof without knowing log_G(H))
    prover:  k <-$ F_r;  A = k*H;  z = k + c*(rho1 - rho2)
    verifier: z*H == A + c*(C1 - C2)

*reveal* (a ``ZeroProof`` under its own domain)  PoK{rho : C - v*G = rho*H}
    for a *public* signed integer v with |v| < 2^64: proves that C commits
    to v, revealing v and nothing about rho.
    verifier: z*H == A + c*(C - v*G)

Transcript order (every item framed by :class:`~zkp.transcript.Transcript`):

=========  ===============================================================
opening    domain_sep("sigma.opening.v1"), "curve"=BN254-G1,
           "gens"=set id, "C", then "A", then challenge "c"
zero       domain_sep("sigma.zero.v1"), curve, gens, "C", "A", challenge
equality   domain_sep("sigma.equality.v1"), curve, gens, "C1", "C2", "A",
           challenge
reveal     domain_sep("sigma.reveal.v1"), curve, gens, "C", "value"
           (signed, length-framed integer), "A", challenge
=========  ===============================================================

Encodings (fixed length, big-endian, no padding):
``OpeningProof`` = A (32) || z_v (32) || z_r (32) -- 96 bytes;
``ZeroProof`` and ``EqualityProof`` = A (32) || z (32) -- 64 bytes.
Decoding is strict: exact length, A on the curve and not the identity,
every scalar < r; anything else raises :class:`~zkp.errors.DecodeError`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import DecodeError
from .field import SCALAR_BYTES, R, decode_scalar, encode_scalar
from .group import POINT_BYTES, Backend, Point

if TYPE_CHECKING:  # annotations only: no new runtime imports
    from .generators import GeneratorSet
    from .transcript import Transcript

#: Curve identifier absorbed into every sigma transcript.
CURVE_ID = b"BN254-G1"

DOMAIN_OPENING = b"sigma.opening.v1"
DOMAIN_ZERO = b"sigma.zero.v1"
DOMAIN_EQUALITY = b"sigma.equality.v1"
DOMAIN_REVEAL = b"sigma.reveal.v1"

#: A revealed value v must satisfy |v| < REVEAL_BOUND.
REVEAL_BOUND = 1 << 64

OPENING_PROOF_BYTES = POINT_BYTES + 2 * SCALAR_BYTES
ZERO_PROOF_BYTES = POINT_BYTES + SCALAR_BYTES
EQUALITY_PROOF_BYTES = POINT_BYTES + SCALAR_BYTES


# -- proof types ---------------------------------------------------------------

def _check_exact(data: object, size: int, what: str) -> bytes:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise DecodeError(f"{what} must be bytes")
    data = bytes(data)
    if len(data) != size:
        raise DecodeError(f"{what} must be {size} bytes, got {len(data)}")
    return data


def _encode_commitment(A: Point, what: str) -> bytes:
    if not isinstance(A, Point):
        raise ValueError(f"{what}: A must be a Point")
    if A.is_identity():
        raise ValueError(f"{what}: A is the identity")
    return A.encode()


def _encode_response(z: int, what: str) -> bytes:
    if not isinstance(z, int) or isinstance(z, bool) or not 0 <= z < R:
        raise ValueError(f"{what}: response scalar out of range [0, r)")
    return encode_scalar(z)


@dataclass(frozen=True)
class OpeningProof:
    """Proof of knowledge of (v, rho) with C = v*G + rho*H."""

    A: Point
    z_v: int
    z_r: int

    def to_bytes(self) -> bytes:
        return (_encode_commitment(self.A, "OpeningProof")
                + _encode_response(self.z_v, "OpeningProof")
                + _encode_response(self.z_r, "OpeningProof"))

    @classmethod
    def from_bytes(cls, data: bytes, *, backend: Backend | None = None) -> OpeningProof:
        data = _check_exact(data, OPENING_PROOF_BYTES, "OpeningProof")
        A = Point.decode(data[:POINT_BYTES], backend=backend)
        z_v = decode_scalar(data[POINT_BYTES:POINT_BYTES + SCALAR_BYTES])
        z_r = decode_scalar(data[POINT_BYTES + SCALAR_BYTES:])
        return cls(A, z_v, z_r)


@dataclass(frozen=True)
class ZeroProof:
    """Proof of knowledge of rho with C = rho*H ("C commits to zero").

    Also the proof type of a *reveal* (C - v*G commits to zero)."""

    A: Point
    z: int

    def to_bytes(self) -> bytes:
        return _encode_commitment(self.A, "ZeroProof") + _encode_response(self.z, "ZeroProof")

    @classmethod
    def from_bytes(cls, data: bytes, *, backend: Backend | None = None) -> ZeroProof:
        data = _check_exact(data, ZERO_PROOF_BYTES, "ZeroProof")
        return cls(Point.decode(data[:POINT_BYTES], backend=backend), decode_scalar(data[POINT_BYTES:]))


@dataclass(frozen=True)
class EqualityProof:
    """Proof that C1 and C2 commit to the same value: C1 - C2 = rho*H."""

    A: Point
    z: int

    def to_bytes(self) -> bytes:
        return _encode_commitment(self.A, "EqualityProof") + _encode_response(self.z, "EqualityProof")

    @classmethod
    def from_bytes(cls, data: bytes, *, backend: Backend | None = None) -> EqualityProof:
        data = _check_exact(data, EQUALITY_PROOF_BYTES, "EqualityProof")
        return cls(Point.decode(data[:POINT_BYTES], backend=backend), decode_scalar(data[POINT_BYTES:]))


# -- statements and challenges ---------------------------------------------------

def on_gens_backend(point: object, gens: GeneratorSet, what: str = "point") -> Point:
    """``point`` as a Point of ``gens``' backend (converted if it is held in
    another backend); TypeError if it is not a Point at all."""
    if not isinstance(point, Point):
        raise TypeError(f"{what} must be a Point, got {type(point).__name__}")
    return point.to_backend(gens.backend)


def reveal_value_ok(value: object) -> bool:
    """True iff ``value`` is a (non-bool) int with |value| < 2^64."""
    return isinstance(value, int) and not isinstance(value, bool) and -REVEAL_BOUND < value < REVEAL_BOUND


def _head(transcript: Transcript, domain: bytes, gens: GeneratorSet) -> None:
    transcript.domain_sep(domain)
    transcript.append_message(b"curve", CURVE_ID)
    transcript.append_message(b"gens", gens.set_id)


def _squeeze(transcript: Transcript, A: Point) -> int:
    transcript.append_point(b"A", A)
    return transcript.challenge_scalar(b"c")


def opening_challenge(transcript: Transcript, gens: GeneratorSet, C: Point, A: Point) -> int:
    """Absorb the opening statement and A; return the challenge c."""
    _head(transcript, DOMAIN_OPENING, gens)
    transcript.append_point(b"C", C)
    return _squeeze(transcript, A)


def zero_challenge(transcript: Transcript, gens: GeneratorSet, C: Point, A: Point) -> int:
    """Absorb the commits-to-zero statement and A; return the challenge c."""
    _head(transcript, DOMAIN_ZERO, gens)
    transcript.append_point(b"C", C)
    return _squeeze(transcript, A)


def equality_challenge(transcript: Transcript, gens: GeneratorSet, C1: Point, C2: Point, A: Point) -> int:
    """Absorb the equality statement (C1 and C2, in order) and A; return c."""
    _head(transcript, DOMAIN_EQUALITY, gens)
    transcript.append_point(b"C1", C1)
    transcript.append_point(b"C2", C2)
    return _squeeze(transcript, A)


def reveal_challenge(transcript: Transcript, gens: GeneratorSet, C: Point, value: int, A: Point) -> int:
    """Absorb the reveal statement (C and the public signed value) and A.

    The caller has checked :func:`reveal_value_ok`."""
    if not reveal_value_ok(value):
        raise ValueError("reveal value out of range")
    _head(transcript, DOMAIN_REVEAL, gens)
    transcript.append_point(b"C", C)
    transcript.append_int(b"value", value)
    return _squeeze(transcript, A)


__all__ = [
    "OpeningProof", "ZeroProof", "EqualityProof",
    "opening_challenge", "zero_challenge", "equality_challenge", "reveal_challenge",
    "reveal_value_ok", "on_gens_backend", "REVEAL_BOUND", "CURVE_ID",
    "DOMAIN_OPENING", "DOMAIN_ZERO", "DOMAIN_EQUALITY", "DOMAIN_REVEAL",
    "OPENING_PROOF_BYTES", "ZERO_PROOF_BYTES", "EQUALITY_PROOF_BYTES",
]
