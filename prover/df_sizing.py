"""Proving default-fund sizing and Cover-2 (issue 14 §4, :mod:`zkp.df_sizing`).

:func:`prove_sizing` takes the member's positions and new contribution
openings, picks the bound m = the member's requirement under the margin
model (the least m with m + P&L_s >= 0 for every scan scenario, or the ES
requirement), commits m and q = ceil(f*m) with fresh blindings, and proves
:class:`~zkp.df_sizing.DfBound` and :class:`~zkp.df_sizing.DfSizing`;
ProvingError (naming no secret) when df' < f*m.  :func:`prove_cover2`
proves :class:`~zkp.df_sizing.Cover2` from the post-funding cash opening;
ProvingError when the member's stress loss beyond its cash exceeds tau.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from zkp.df_sizing import Cover2, DfBound, DfSizing, sized_minimum
from zkp.errors import ProvingError
from zkp.field import R, Rng, random_scalar
from zkp.generators import generators
from zkp.group import Point
from zkp.margin import MODEL_SCAN, Margin, MarginProof, signed
from zkp.pedersen import Opening
from zkp.statements import StatementProof

from .statements import es_witness, prove, prove_margin


@dataclass(frozen=True)
class SizingProof:
    """What a sized filing carries: C(m), C(q) and the two proofs."""

    m: Point
    q: Point
    bound_proof: MarginProof
    sizing_proof: StatementProof

    def __repr__(self) -> str:  # commitments and proofs only; still keep logs short
        return "SizingProof(...)"


def bound_value(st: Margin, pos_openings: Sequence[Opening]) -> int:
    """The least m >= 0 that passes ``st``'s model over these positions:
    max(0, max_s L_s) for the scan, the ES requirement max(0, ceil(topk/k))."""
    positions = [signed(o.value) for o in pos_openings]
    losses = [-v for v in st.mat.pnl(positions)]
    if st.model.kind == MODEL_SCAN:
        return max(0, *losses)
    k = st.model.k
    top = sum(sorted(losses, reverse=True)[:k])
    return max(0, -(-top // k))


def prove_sizing(bound: DfBound, pos_openings: Sequence[Opening], df_new: Opening, num: int, den: int,
                 sizing_of: Callable[[Point, Point], DfSizing], *, rng: Rng | None = None) -> SizingProof:
    """The sizing pair.  ``bound`` is the DfBound statement built with any
    placeholder for C(m) -- it is rebuilt over the fresh C(m);
    ``sizing_of(m, q)`` builds the DfSizing statement (the caller's context)."""
    gens = generators()
    m = bound_value(bound, pos_openings)
    q = sized_minimum(m, num, den)
    if signed(df_new.value) < q:
        raise ProvingError("the contribution is below the sized minimum f*m")
    om = Opening(m, random_scalar(rng))
    oq = Opening(q, random_scalar(rng))
    Cm, Cq = gens.commit(om.value, om.blinding), gens.commit(oq.value, oq.blinding)
    st = DfBound(bound.context, Cm, bound.positions, bound.mat, bound.scenario_set_id, model=bound.model)
    _, bproof = prove_margin(st, [om, *pos_openings], rng=rng)
    sproof = prove(sizing_of(Cm, Cq), [df_new, om, oq], rng=rng)
    return SizingProof(Cm, Cq, bproof, sproof)


def prove_cover2(st: Cover2, cash_opening: Opening, pos_openings: Sequence[Opening], *,
                 rng: Rng | None = None) -> MarginProof:
    """The Cover-2 proof over the post-funding cash; ProvingError when some
    stress scenario's loss exceeds cash' + tau."""
    _, proof = prove_margin(st, [cash_opening, *pos_openings], rng=rng)
    return proof


def opening_sub(a: Opening, b: Opening, c: Opening) -> Opening:
    """The opening of A + B - C."""
    return Opening((a.value + b.value - c.value) % R, (a.blinding + b.blinding - c.blinding) % R)


__all__ = ["SizingProof", "bound_value", "prove_sizing", "prove_cover2", "opening_sub", "es_witness"]
