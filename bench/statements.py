"""Clearing-statement cases of the ``crypto`` suite (issue 3).

``margin_20x16``    a Margin statement for I = 20 instruments and S = 16
                    scenarios: prove_ms (deriving the 16 scenario equities
                    and one aggregated 16x64 range proof), verify_ms (the
                    verifier's own derivation of E_s -- 16 MSMs of 21 terms
                    -- plus the range proof), size_bytes.
``prorata_share``   a tranche-4 pro-rata allocation over 5 survivors (as in
                    the demo's normal variant): prove_ms (shares, their
                    commitments and one aggregated 15x64 proof), verify_ms,
                    size_bytes.

Portfolios and contributions come from fixed seeds (reproducible, not
secret).  Every measured verification must succeed.
"""
from __future__ import annotations

import random

from . import BenchContext, BenchError, case, median_ms

MARGIN_I = 20
MARGIN_S = 16
PRORATA_SURVIVORS = 5


def _margin_instance(gens):
    from zkp.field import SeededRng, random_scalar
    from zkp.pedersen import Opening
    from zkp.statements import Context, Margin

    rnd = random.Random(2026)
    positions = [rnd.randint(-2000, 2000) for _ in range(MARGIN_I)]
    matrix = [[0] * MARGIN_I] + [
        [rnd.randint(-96250, 96250) * rnd.choice((20, 50)) for _ in range(MARGIN_I)] for _ in range(MARGIN_S - 1)
    ]
    worst = min(sum(a * p for a, p in zip(row, positions)) for row in matrix)
    cash = max(0, -worst) + 10**9
    rng = SeededRng(b"bench/margin")
    openings = [Opening(v, random_scalar(rng)) for v in [cash, *positions]]
    commits = [gens.commit(o.value, o.blinding) for o in openings]
    st = Margin(Context(1, 1, b"M01"), commits[0], tuple(commits[1:]), matrix, b"bench-set")
    return st, openings, rng


def _verify_ms(ctx: BenchContext, st, proof, what: str) -> float:
    """Check the proof once (untimed warm-up), then the median verify time."""
    from verifier.statements import verify
    from zkp.errors import VerificationError

    def check():
        try:
            verify(st, proof, gens=ctx.gens)
        except VerificationError:
            raise BenchError(f"{what} did not verify") from None

    check()
    return median_ms(check, ctx.reps(7, 3))[0]


@case("margin_20x16", order=30)
def margin_20x16(ctx: BenchContext) -> dict:
    """Margin sufficiency with solvency, 20 instruments x 16 scenarios."""
    from prover.statements import prove

    st, openings, rng = _margin_instance(ctx.gens)
    ctx.gens.G_vec(64 * MARGIN_S)
    ctx.gens.H_vec(64 * MARGIN_S)
    prove_ms, proofs = median_ms(lambda: prove(st, openings, gens=ctx.gens, rng=rng), ctx.reps(3, 1))
    proof = proofs[0]

    verify_ms = _verify_ms(ctx, st, proof, "margin proof")
    return {"prove_ms": prove_ms, "verify_ms": verify_ms, "size_bytes": len(proof.to_bytes()),
            "instruments": MARGIN_I, "scenarios": MARGIN_S}


@case("prorata_share", order=35)
def prorata_share(ctx: BenchContext) -> dict:
    """Tranche-4 pro-rata shares for 5 survivors (one 15x64 proof)."""
    from prover.statements import pro_rata_shares
    from zkp.field import SeededRng, random_scalar
    from zkp.pedersen import Opening
    from zkp.statements import Context

    rng = SeededRng(b"bench/prorata")
    dfs = [1_061_026_352, 465_262_892, 1_731_685_789, 1_428_697_516, 949_817_173][:PRORATA_SURVIVORS]
    ops = [Opening(d, random_scalar(rng)) for d in dfs]
    commits = [ctx.gens.commit(o.value, o.blinding) for o in ops]
    members = [f"S{j}".encode() for j in range(len(dfs))]
    D0 = sum(dfs)
    R = 1_137_639_724
    ctx.gens.G_vec(64 * 16)
    ctx.gens.H_vec(64 * 16)

    def make():
        return pro_rata_shares(Context(4, 1, b"CCP"), b"default-fund", R, D0, members, commits, ops,
                               gens=ctx.gens, rng=rng)

    prove_ms, made = median_ms(make, ctx.reps(3, 1))
    st, proof, _ = made[0]

    verify_ms = _verify_ms(ctx, st, proof, "pro-rata share proof")
    return {"prove_ms": prove_ms, "verify_ms": verify_ms, "size_bytes": len(proof.to_bytes()),
            "survivors": len(dfs)}
