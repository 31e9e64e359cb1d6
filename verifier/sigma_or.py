"""Verifying "C_0 commits to zero OR C_1 commits to zero" (pure: no I/O, no
randomness; the relation and the transcript order are in :mod:`zkp.sigma_or`).

The verifier replays the transcript (statement, then A_0 and A_1) to get
the challenge c, then checks

    c_0 + c_1 == c (mod r),   z_0*H - c_0*C_0 - A_0 == O,   z_1*H - c_1*C_1 - A_1 == O

Every failure -- a proof of the wrong type, an identity A_i, a scalar not
in [0, r), challenges that do not sum to c, a relation that does not hold --
raises the same :class:`~zkp.errors.VerificationError`.
"""
from __future__ import annotations

from zkp.errors import VerificationError
from zkp.field import R
from zkp.generators import GeneratorSet, generators
from zkp.group import Point, msm
from zkp.sigma import on_gens_backend
from zkp.sigma_or import OrZeroProof, or_zero_challenge
from zkp.transcript import Transcript


def _scalar_ok(z: object) -> bool:
    return isinstance(z, int) and not isinstance(z, bool) and 0 <= z < R


def _point(A: object, gens: GeneratorSet) -> Point:
    if not isinstance(A, Point):
        raise VerificationError()
    A = A.to_backend(gens.backend)
    if A.is_identity():
        raise VerificationError()
    return A


def verify_or_zero(transcript: Transcript, C0: Point, C1: Point, proof: OrZeroProof, *,
                   gens: GeneratorSet | None = None) -> None:
    """Check a proof that C_0 or C_1 commits to zero; raise VerificationError."""
    gens = gens or generators()
    C0 = on_gens_backend(C0, gens, "C0")
    C1 = on_gens_backend(C1, gens, "C1")
    if type(proof) is not OrZeroProof or not all(
            _scalar_ok(x) for x in (proof.c0, proof.c1, proof.z0, proof.z1)):
        raise VerificationError()
    A0, A1 = _point(proof.A0, gens), _point(proof.A1, gens)
    c = or_zero_challenge(transcript, gens, C0, C1, A0, A1)
    if (proof.c0 + proof.c1) % R != c:
        raise VerificationError()
    for C, A, ci, zi in ((C0, A0, proof.c0, proof.z0), (C1, A1, proof.c1, proof.z1)):
        if not msm([gens.H, C, A], [zi, (R - ci) % R, R - 1]).is_identity():
            raise VerificationError()


__all__ = ["verify_or_zero"]
