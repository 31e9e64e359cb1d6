"""Proving "C_0 commits to zero OR C_1 commits to zero" (the CDS
OR-composition of :mod:`zkp.sigma_or`, where the relation, the message flow
and the transcript order are specified).

The prover names the true branch and gives its blinding; it checks the
witness first and raises :class:`~zkp.errors.ProvingError` when that branch
is false (so neither branch true never yields a proof), then simulates the
other branch with a random (c_s, z_s) and answers the real one with the
challenge share c_b = c - c_s.
"""
from __future__ import annotations

from zkp.errors import ProvingError
from zkp.field import R, Rng, random_scalar
from zkp.generators import GeneratorSet, generators
from zkp.group import Point
from zkp.sigma import on_gens_backend
from zkp.sigma_or import OrZeroProof, or_zero_challenge
from zkp.transcript import Transcript


def prove_or_zero(transcript: Transcript, C0: Point, C1: Point, branch: int, blinding: int, *,
                  gens: GeneratorSet | None = None, rng: Rng | None = None) -> OrZeroProof:
    """Prove that C_0 or C_1 commits to zero, knowing ``blinding`` with
    C_branch = blinding*H (``branch`` is 0 or 1)."""
    gens = gens or generators()
    C0 = on_gens_backend(C0, gens, "C0")
    C1 = on_gens_backend(C1, gens, "C1")
    if branch not in (0, 1) or isinstance(branch, bool):
        raise ProvingError("branch must be 0 or 1")
    if not isinstance(blinding, int) or isinstance(blinding, bool):
        raise ProvingError("blinding must be an int")
    rho = blinding % R
    C = (C0, C1)
    if gens.H_table.mul(rho) != C[branch]:
        raise ProvingError("witness does not show that the chosen commitment is to zero")
    s = 1 - branch
    c_s = random_scalar(rng)
    z_s = random_scalar(rng)
    A_s = gens.H_table.mul(z_s) - C[s] * c_s
    k = random_scalar(rng)
    A_b = gens.H_table.mul(k)
    A = [A_b, A_s] if branch == 0 else [A_s, A_b]
    if A_s.is_identity():  # probability ~2^-254; never send an identity commitment
        raise ProvingError("degenerate simulation; retry")
    c = or_zero_challenge(transcript, gens, C0, C1, A[0], A[1])
    c_b = (c - c_s) % R
    z_b = (k + c_b * rho) % R
    if branch == 0:
        return OrZeroProof(A[0], A[1], c_b, c_s, z_b, z_s)
    return OrZeroProof(A[0], A[1], c_s, c_b, z_s, z_b)


__all__ = ["prove_or_zero"]
