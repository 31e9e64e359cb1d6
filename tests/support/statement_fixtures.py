"""Shared fixtures of the statement tests (margin family, issue 13/14):
a context, commitments to values with fresh blindings from the test's own
seeded RNG, a random scan matrix with the "no move" row first."""
from __future__ import annotations

from zkp.field import R
from zkp.generators import generators
from zkp.pedersen import Opening
from zkp.statements import Context


def make_ctx(member: bytes = b"A", cycle: int = 3, seq: int = 17) -> Context:
    return Context(cycle, seq, member)


def commit_values(values, rng):
    """(commitments, openings) of ``values`` (taken mod r), blindings in [1, r) from ``rng``."""
    gens = generators()
    ops = [Opening(v % R, rng.randbelow(R - 1) + 1) for v in values]
    return [gens.commit(o.value, o.blinding) for o in ops], ops


def scan_matrix(rnd, S: int, I: int) -> list[list[int]]:
    """S scenarios x I instruments of per-contract P&L in [-5,000, 5,000], row 0 all zeros."""
    return [[0] * I] + [[rnd.randint(-5000, 5000) for _ in range(I)] for _ in range(S - 1)]
