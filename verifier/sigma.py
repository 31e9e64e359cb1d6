"""Sigma-proof verification (pure: no I/O, no randomness).

Relations, message flow and transcript order are specified in
:mod:`zkp.sigma`.  The verifier replays the transcript (statement, then the
prover's A) to recompute the challenge c, then checks one linear relation
with a single small multi-scalar multiplication:

    opening   z_v*G + z_r*H - c*C - A                    == O
    zero      z*H - c*C - A                              == O
    equality  z*H - c*C1 + c*C2 - A                      == O
    reveal    z*H - c*C + (c*value)*G - A                == O

Every failure -- a proof of the wrong type, an identity A, a response not
in [0, r), a reveal value with |value| >= 2^64, or a relation that does not
hold -- raises the same :class:`~zkp.errors.VerificationError`.
"""
from __future__ import annotations

from zkp.errors import VerificationError
from zkp.field import R, from_int
from zkp.generators import GeneratorSet, generators
from zkp.group import Point, msm
from zkp.sigma import (
    EqualityProof,
    OpeningProof,
    ZeroProof,
    equality_challenge,
    on_gens_backend,
    opening_challenge,
    reveal_challenge,
    reveal_value_ok,
    zero_challenge,
)
from zkp.transcript import Transcript


def _scalar_ok(z: object) -> bool:
    return isinstance(z, int) and not isinstance(z, bool) and 0 <= z < R


def _commitment(proof: OpeningProof | ZeroProof | EqualityProof, gens: GeneratorSet) -> Point:
    """The proof's A on the generators' backend; rejects a non-point or the identity."""
    A = proof.A
    if not isinstance(A, Point):
        raise VerificationError()
    A = A.to_backend(gens.backend)
    if A.is_identity():
        raise VerificationError()
    return A


def _require(ok: bool) -> None:
    if not ok:
        raise VerificationError()


def verify_opening(transcript: Transcript, C: Point, proof: OpeningProof, *,
                   gens: GeneratorSet | None = None) -> None:
    """Check a proof of knowledge of an opening of C; raise VerificationError."""
    gens = gens or generators()
    C = on_gens_backend(C, gens, "C")
    _require(type(proof) is OpeningProof and _scalar_ok(proof.z_v) and _scalar_ok(proof.z_r))
    A = _commitment(proof, gens)
    c = opening_challenge(transcript, gens, C, A)
    check = msm([gens.G, gens.H, C, A], [proof.z_v, proof.z_r, R - c, R - 1])
    _require(check.is_identity())


def verify_zero(transcript: Transcript, C: Point, proof: ZeroProof, *, gens: GeneratorSet | None = None) -> None:
    """Check a proof that C commits to zero (C = rho*H); raise VerificationError."""
    gens = gens or generators()
    C = on_gens_backend(C, gens, "C")
    _require(type(proof) is ZeroProof and _scalar_ok(proof.z))
    A = _commitment(proof, gens)
    c = zero_challenge(transcript, gens, C, A)
    check = msm([gens.H, C, A], [proof.z, R - c, R - 1])
    _require(check.is_identity())


def verify_equality(transcript: Transcript, C1: Point, C2: Point, proof: EqualityProof, *,
                    gens: GeneratorSet | None = None) -> None:
    """Check a proof that C1 and C2 commit to the same value; raise VerificationError."""
    gens = gens or generators()
    C1 = on_gens_backend(C1, gens, "C1")
    C2 = on_gens_backend(C2, gens, "C2")
    _require(type(proof) is EqualityProof and _scalar_ok(proof.z))
    A = _commitment(proof, gens)
    c = equality_challenge(transcript, gens, C1, C2, A)
    check = msm([gens.H, C1, C2, A], [proof.z, R - c, c, R - 1])
    _require(check.is_identity())


def verify_reveal(transcript: Transcript, C: Point, value: int, proof: ZeroProof, *,
                  gens: GeneratorSet | None = None) -> None:
    """Check that C commits to the public signed integer ``value``
    (|value| < 2^64, else rejected); raise VerificationError."""
    gens = gens or generators()
    C = on_gens_backend(C, gens, "C")
    _require(reveal_value_ok(value) and type(proof) is ZeroProof and _scalar_ok(proof.z))
    A = _commitment(proof, gens)
    c = reveal_challenge(transcript, gens, C, value, A)
    check = msm([gens.H, C, gens.G, A], [proof.z, R - c, c * from_int(value) % R, R - 1])
    _require(check.is_identity())


__all__ = ["verify_opening", "verify_zero", "verify_equality", "verify_reveal"]
