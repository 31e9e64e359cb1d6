"""Pre-trade limit cases of the ``crypto`` suite (issue 14 §1).

``headroom_20x16``   a member's headroom at a margin run over the same 20 x 16
                     scan instance as ``margin_20x16``: prove_ms (H = min_s
                     E_s committed, 17 values in one aggregated range proof),
                     verify_ms (folded, one MSM), size_bytes -- the extra
                     cost per member and margin run under a pre-trade set.
``headroom_debit``   a receipt's debit of both sides (H_b + (vm - w)*T,
                     H_s + (-vm - w)*T in [0, 2^64)): prove_ms, verify_ms,
                     size_bytes -- the extra cost per trade (the prover makes
                     it with the receipt, the node verifies it at novation).

Inputs from fixed seeds (reproducible, not secret); every measured
verification must succeed.
"""
from __future__ import annotations

from . import BenchContext, BenchError, case, median_ms


@case("headroom_20x16", order=36)
def headroom_20x16(ctx: BenchContext) -> dict:
    """Headroom H committed and proven at a margin run (20 x 16 scan)."""
    from bench.statements import MARGIN_I, MARGIN_S, _margin_instance
    from prover.headroom import prove_headroom
    from verifier.headroom import verify_headroom
    from zkp.errors import VerificationError

    st, openings, rng = _margin_instance(ctx.gens)
    ctx.gens.G_vec(64 * 32)
    ctx.gens.H_vec(64 * 32)
    prove_ms, made = median_ms(lambda: prove_headroom(st, openings, gens=ctx.gens, rng=rng), ctx.reps(3, 1))
    hst, _, proof = made[0]
    data = proof.to_bytes()

    def check():
        try:
            verify_headroom(hst, data, gens=ctx.gens)
        except VerificationError:
            raise BenchError("headroom proof did not verify") from None

    check()
    verify_ms = median_ms(check, ctx.reps(7, 3))[0]
    return {"prove_ms": prove_ms, "verify_ms": verify_ms, "size_bytes": len(data),
            "instruments": MARGIN_I, "scenarios": MARGIN_S}


@case("headroom_debit", order=37)
def headroom_debit(ctx: BenchContext) -> dict:
    """Both sides' debit at a receipt (2 values, one aggregated proof)."""
    from prover.headroom import prove_debit
    from verifier.headroom import verify_debit
    from zkp.errors import VerificationError
    from zkp.field import SeededRng, random_scalar
    from zkp.headroom import HeadroomDebit
    from zkp.pedersen import Opening
    from zkp.statements import Context

    rng = SeededRng(b"bench/headroom-debit")
    hb, hs, q = (Opening(v, random_scalar(rng)) for v in (10**9, 4 * 10**8, 25))
    w, vm = 500_000, -1_250
    st = HeadroomDebit(Context(2, 17, b"A"), ctx.gens.commit(hb.value, hb.blinding),
                       ctx.gens.commit(hs.value, hs.blinding), ctx.gens.commit(q.value, q.blinding), w, vm,
                       b"bench trade tuple")
    ctx.gens.G_vec(128)
    ctx.gens.H_vec(128)
    prove_ms, proofs = median_ms(lambda: prove_debit(st, hb, hs, q, gens=ctx.gens, rng=rng), ctx.reps(5, 2))
    data = proofs[0].to_bytes()

    def check():
        try:
            verify_debit(st, data, gens=ctx.gens)
        except VerificationError:
            raise BenchError("headroom debit proof did not verify") from None

    check()
    verify_ms = median_ms(check, ctx.reps(9, 3))[0]
    return {"prove_ms": prove_ms, "verify_ms": verify_ms, "size_bytes": len(data)}
