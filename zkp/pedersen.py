"""Pedersen commitments over BN254 G1.

    C(v, rho)            = v*G + rho*H

(The range proofs' vector commitments <a, G_vec> + <b, H_vec> + rho*H are
built in :mod:`zkp.rangeproof`.)

G and H are the hash-to-curve bases of :mod:`zkp.generators`; nobody knows
log_G(H), so a commitment is perfectly hiding and computationally binding
(discrete log in BN254 G1, ~100-bit security).

Homomorphism: C(v1, r1) + C(v2, r2) = C(v1 + v2, r1 + r2) and
k*C(v, r) = C(k*v, k*r), all mod r -- the clearing node computes on
commitments with ordinary point arithmetic.

Values are scalars mod r: a negative integer v is committed as r - |v|
(:func:`zkp.field.from_int`).  A *public* amount a enters the ledger as a*G
(:func:`public`), blinding zero, so anyone can check public flows.
Blindings come from :func:`zkp.field.random_scalar` (``secrets``), never zero
and never reused.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .field import R, from_int
from .generators import GeneratorSet, generators
from .group import Point


@dataclass(frozen=True)
class Opening:
    """The secret behind a commitment: value and blinding, both mod r."""

    value: int
    blinding: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", self.value % R)
        object.__setattr__(self, "blinding", self.blinding % R)

    def __add__(self, other: Opening) -> Opening:
        return Opening(self.value + other.value, self.blinding + other.blinding)

    def __sub__(self, other: Opening) -> Opening:
        return Opening(self.value - other.value, self.blinding - other.blinding)

    def __neg__(self) -> Opening:
        return Opening(-self.value, -self.blinding)

    def __repr__(self) -> str:  # never print secrets
        return "Opening(<hidden>)"

    def commit(self, gens: GeneratorSet | None = None) -> Point:
        return commit(self.value, self.blinding, gens)


def commit(value: int, blinding: int, gens: GeneratorSet | None = None) -> Point:
    gens = gens or generators()
    return gens.commit(from_int(value), blinding % R)


def public(amount: int, gens: GeneratorSet | None = None) -> Point:
    """A public amount as a commitment with zero blinding: amount*G."""
    gens = gens or generators()
    return gens.G_table.mul(from_int(amount))


def opening_combination(openings: Sequence[Opening], coeffs: Sequence[int]) -> Opening:
    v = 0
    r = 0
    for op, c in zip(openings, coeffs):
        v += op.value * c
        r += op.blinding * c
    return Opening(v, r)
