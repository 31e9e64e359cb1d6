"""A Sigma OR-composition (Cramer-Damgard-Schoenmakers, CRYPTO '94) of two
"commits to zero" proofs: the proof type, its strict encoding and the
Fiat-Shamir challenge derivation shared by :mod:`prover.sigma_or` and
:mod:`verifier.sigma_or`.

Relation (``OrZeroProof``), for two public points C_0, C_1 and the Pedersen
blinding base H of the generator set ``gens``::

    PoK{ rho : C_0 = rho*H }  OR  PoK{ rho : C_1 = rho*H }

"C_0 commits to zero or C_1 commits to zero", without revealing which.
Binding of Pedersen commitments makes this "the value committed in C_0 is
0 or the value committed in C_1 is 0".  Used for VM gains haircutting
(:mod:`zkp.vm_gains`): with C_0 = C_g - C_vm and C_1 = C_g it shows that the
committed gain g equals the committed variation margin vm or equals 0.
More generally "C opens to a or to b" for public a, b is this proof on
(C - a*G, C - b*G).

Message flow (the prover knows rho for branch b in {0, 1}; s = 1 - b is
simulated):

    1. simulate branch s: c_s, z_s <-$ F_r;  A_s = z_s*H - c_s*C_s
    2. real branch b:     k <-$ F_r;         A_b = k*H
    3. send (A_0, A_1); the challenge c comes from the transcript
    4. c_b = c - c_s mod r;  z_b = k + c_b*rho mod r
    5. send (c_0, c_1, z_0, z_1)
    verifier: c_0 + c_1 == c (mod r), and for i in {0, 1}:
              z_i*H == A_i + c_i*C_i

Complete; special-sound (two accepting transcripts with the same (A_0, A_1)
and different c differ in at least one c_i, which extracts rho for that
branch); special honest-verifier zero-knowledge and witness
indistinguishable (both branches are distributed identically whichever
one is real).  The prover's free choice of c_s is bound by step 4: it
cannot simulate both branches, because c is fixed by the transcript after
(A_0, A_1) and c_0 + c_1 must equal it.

Transcript order (each item framed by :class:`~zkp.transcript.Transcript`;
the caller's transcript already holds the application's statement)::

    domain_sep("sigma.or-zero.v1"), "curve" = BN254-G1, "gens" = set id,
    "C0", "C1", "A0", "A1", then challenge "c"

Encoding (fixed length, big-endian, no padding): A_0 (32) || A_1 (32) ||
c_0 (32) || c_1 (32) || z_0 (32) || z_1 (32) -- 192 bytes.  Decoding is
strict: exact length, both A_i on the curve and not the identity, every
scalar < r; anything else raises :class:`~zkp.errors.DecodeError`.  The
challenges c_i may be 0 (a verifier accepts them; the sum check binds them).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import DecodeError
from .field import SCALAR_BYTES, R, decode_scalar, encode_scalar
from .group import POINT_BYTES, Backend, Point
from .sigma import CURVE_ID

if TYPE_CHECKING:  # annotations only
    from .generators import GeneratorSet
    from .transcript import Transcript

DOMAIN_OR_ZERO = b"sigma.or-zero.v1"

OR_ZERO_PROOF_BYTES = 2 * POINT_BYTES + 4 * SCALAR_BYTES


def _scalar_bytes(x: object, what: str) -> bytes:
    if not isinstance(x, int) or isinstance(x, bool) or not 0 <= x < R:
        raise ValueError(f"OrZeroProof: {what} out of range [0, r)")
    return encode_scalar(x)


def _point_bytes(A: object, what: str) -> bytes:
    if not isinstance(A, Point):
        raise ValueError(f"OrZeroProof: {what} must be a Point")
    if A.is_identity():
        raise ValueError(f"OrZeroProof: {what} is the identity")
    return A.encode()


@dataclass(frozen=True)
class OrZeroProof:
    """Proof that C_0 or C_1 commits to zero (see the module docstring)."""

    A0: Point
    A1: Point
    c0: int
    c1: int
    z0: int
    z1: int

    def to_bytes(self) -> bytes:
        return (_point_bytes(self.A0, "A0") + _point_bytes(self.A1, "A1")
                + _scalar_bytes(self.c0, "c0") + _scalar_bytes(self.c1, "c1")
                + _scalar_bytes(self.z0, "z0") + _scalar_bytes(self.z1, "z1"))

    @classmethod
    def from_bytes(cls, data: bytes, *, backend: Backend | None = None) -> OrZeroProof:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise DecodeError("OrZeroProof must be bytes")
        data = bytes(data)
        if len(data) != OR_ZERO_PROOF_BYTES:
            raise DecodeError(f"OrZeroProof must be {OR_ZERO_PROOF_BYTES} bytes, got {len(data)}")
        A0 = Point.decode(data[:POINT_BYTES], backend=backend)
        A1 = Point.decode(data[POINT_BYTES:2 * POINT_BYTES], backend=backend)
        base = 2 * POINT_BYTES
        c0, c1, z0, z1 = (decode_scalar(data[base + k * SCALAR_BYTES: base + (k + 1) * SCALAR_BYTES])
                          for k in range(4))
        return cls(A0, A1, c0, c1, z0, z1)


def or_zero_challenge(transcript: Transcript, gens: GeneratorSet, C0: Point, C1: Point, A0: Point, A1: Point) -> int:
    """Absorb the statement (C_0, C_1, in order) and the prover's (A_0, A_1);
    return the challenge c that c_0 + c_1 must equal."""
    transcript.domain_sep(DOMAIN_OR_ZERO)
    transcript.append_message(b"curve", CURVE_ID)
    transcript.append_message(b"gens", gens.set_id)
    transcript.append_point(b"C0", C0)
    transcript.append_point(b"C1", C1)
    transcript.append_point(b"A0", A0)
    transcript.append_point(b"A1", A1)
    return transcript.challenge_scalar(b"c")


__all__ = ["OrZeroProof", "or_zero_challenge", "DOMAIN_OR_ZERO", "OR_ZERO_PROOF_BYTES"]
