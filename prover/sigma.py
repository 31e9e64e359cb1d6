"""Sigma-proof generation: knowledge of an opening, "commits to zero",
equality of committed values, and reveal of a committed value.

Relations, message flow and transcript order are specified once, in
:mod:`zkp.sigma`; in short, for witness w and statement point X:

    1. absorb the statement: domain separator, curve id, generator-set id,
       the statement's points (and, for a reveal, the public value);
    2. draw fresh nonces k from ``secrets`` (or the test ``rng``) and send
       the commitment A (k_v*G + k_r*H for an opening, k*H otherwise);
    3. absorb A and squeeze the challenge c;
    4. respond z = k + c*w mod r.

Each prover first checks that its witness satisfies the relation and raises
:class:`~zkp.errors.ProvingError` otherwise, so a bad witness never yields a
proof (nor a transcript state that looks like one).
"""
from __future__ import annotations

from collections.abc import Callable

from zkp.errors import ProvingError
from zkp.field import R, Rng, from_int, random_scalar
from zkp.generators import GeneratorSet, generators
from zkp.group import Point
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


def _int(x: object, what: str) -> int:
    if not isinstance(x, int) or isinstance(x, bool):
        raise ProvingError(f"{what} must be an int")
    return x


def _zero_proof(transcript: Transcript, gens: GeneratorSet, challenge: Callable[[Point], int], witness: int,
                rng: Rng | None) -> ZeroProof:
    k = random_scalar(rng)
    A = gens.H_table.mul(k)
    c = challenge(A)
    return ZeroProof(A, (k + c * witness) % R)


def prove_opening(transcript: Transcript, C: Point, value: int, blinding: int, *,
                  gens: GeneratorSet | None = None, rng: Rng | None = None) -> OpeningProof:
    """Prove knowledge of (value, blinding) with C = value*G + blinding*H.

    ``value`` may be a signed int (embedded as r - |v| when negative)."""
    gens = gens or generators()
    C = on_gens_backend(C, gens, "C")
    v = from_int(_int(value, "value"))
    rho = _int(blinding, "blinding") % R
    if gens.commit(v, rho) != C:
        raise ProvingError("witness does not open the commitment")
    k_v = random_scalar(rng)
    k_r = random_scalar(rng)
    A = gens.commit(k_v, k_r)
    c = opening_challenge(transcript, gens, C, A)
    return OpeningProof(A, (k_v + c * v) % R, (k_r + c * rho) % R)


def prove_zero(transcript: Transcript, C: Point, blinding: int, *,
               gens: GeneratorSet | None = None, rng: Rng | None = None) -> ZeroProof:
    """Prove knowledge of blinding with C = blinding*H (C commits to zero)."""
    gens = gens or generators()
    C = on_gens_backend(C, gens, "C")
    rho = _int(blinding, "blinding") % R
    if gens.H_table.mul(rho) != C:
        raise ProvingError("witness does not show that the commitment is to zero")
    return _zero_proof(transcript, gens, lambda A: zero_challenge(transcript, gens, C, A), rho, rng)


def prove_equality(transcript: Transcript, C1: Point, C2: Point, blinding1: int, blinding2: int, *,
                   gens: GeneratorSet | None = None, rng: Rng | None = None) -> EqualityProof:
    """Prove that C1 and C2 commit to the same value, given both blindings:
    knowledge of rho = blinding1 - blinding2 with C1 - C2 = rho*H."""
    gens = gens or generators()
    C1 = on_gens_backend(C1, gens, "C1")
    C2 = on_gens_backend(C2, gens, "C2")
    rho = (_int(blinding1, "blinding1") - _int(blinding2, "blinding2")) % R
    if gens.H_table.mul(rho) != C1 - C2:
        raise ProvingError("the commitments do not commit to the same value under these blindings")
    proof = _zero_proof(transcript, gens, lambda A: equality_challenge(transcript, gens, C1, C2, A), rho, rng)
    return EqualityProof(proof.A, proof.z)


def prove_reveal(transcript: Transcript, C: Point, value: int, blinding: int, *,
                 gens: GeneratorSet | None = None, rng: Rng | None = None) -> ZeroProof:
    """Reveal ``value`` (a public signed int, |value| < 2^64): prove that
    C - value*G commits to zero, i.e. C = value*G + blinding*H."""
    gens = gens or generators()
    C = on_gens_backend(C, gens, "C")
    value = _int(value, "value")
    if not reveal_value_ok(value):
        raise ProvingError("revealed value out of range (|value| must be < 2^64)")
    rho = _int(blinding, "blinding") % R
    if gens.commit(from_int(value), rho) != C:
        raise ProvingError("the commitment does not open to the revealed value")
    return _zero_proof(transcript, gens, lambda A: reveal_challenge(transcript, gens, C, value, A), rho, rng)


__all__ = ["prove_opening", "prove_zero", "prove_equality", "prove_reveal"]
