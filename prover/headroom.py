"""Proving the pre-trade headroom statements (issue 14 §1, :mod:`zkp.headroom`).

* :func:`prove_headroom` -- at a margin run: the honest headroom H =
  min_s (cash + P&L_s) (the member's excess over its scan requirement),
  committed with a fresh blinding from ``secrets`` (or the given rng), and
  the proof that 0 <= H <= E_s for every s.  ProvingError (naming no
  secret) when the member has no headroom to prove (some E_s < 0, i.e. it
  fails its margin) or a value is outside the 64-bit range.
* :func:`prove_debit` -- at novation: the proof that both sides' debited
  headroom stays >= 0.  ProvingError "pre-trade headroom exhausted" when a
  side would go negative: the prover never makes a false proof.
"""
from __future__ import annotations

from collections.abc import Sequence

from zkp.errors import ProvingError
from zkp.field import Rng, random_scalar
from zkp.generators import GeneratorSet, generators
from zkp.headroom import Headroom, HeadroomDebit, headroom_of
from zkp.margin import Margin, MarginProof, signed
from zkp.pedersen import Opening
from zkp.statements import StatementProof

from .statements import prove, prove_margin

#: the refusal both the prover and the node give (FAILED_PRECONDITION)
EXHAUSTED = "pre-trade headroom exhausted"


def headroom_value(st: Margin, openings: Sequence[Opening]) -> int:
    """The honest H = min_s (cash + P&L_s) over the integers (may be < 0)."""
    I = st.mat.I
    cash = signed(openings[0].value)
    pnl = st.mat.pnl([signed(o.value) for o in openings[1:I + 1]])
    return cash + min(pnl)


def prove_headroom(st: Margin, openings: Sequence[Opening], *, gens: GeneratorSet | None = None,
                   rng: Rng | None = None) -> tuple[Headroom, Opening, MarginProof]:
    """(statement with C(H), the opening of H, the proof) over the scan
    margin statement ``st`` and the openings of its member sources."""
    gens = gens or generators()
    h = headroom_value(st, openings)
    if h < 0:
        raise ProvingError("statement is false: no headroom (the member fails its margin)")
    ho = Opening(h, random_scalar(rng))
    hst = headroom_of(st, gens.commit(ho.value, ho.blinding))
    proved, proof = prove_margin(hst, [*openings, ho], gens=gens, rng=rng)
    assert isinstance(proved, Headroom)
    return proved, ho, proof


def debited(st: HeadroomDebit, h_buyer: Opening, h_seller: Opening, q: Opening) -> tuple[Opening, Opening]:
    """The openings of both sides' debited headroom."""
    return tuple(st.derive_values([h_buyer, h_seller, q]))  # type: ignore[return-value]


def prove_debit(st: HeadroomDebit, h_buyer: Opening, h_seller: Opening, q: Opening, *,
                gens: GeneratorSet | None = None, rng: Rng | None = None) -> StatementProof:
    """Both sides' debited headroom >= 0; ProvingError(EXHAUSTED) if not."""
    for o in debited(st, h_buyer, h_seller, q):
        if not 0 <= o.value < 1 << st.BITS:
            raise ProvingError(EXHAUSTED)
    return prove(st, [h_buyer, h_seller, q], gens=gens, rng=rng)


__all__ = ["EXHAUSTED", "debited", "headroom_value", "prove_debit", "prove_headroom"]
