"""Pre-trade headroom (issue 14 §1): the statements behind the opt-in
pre-trade risk limit.

**Headroom** (at a margin run).  Public data: as for the scan margin
statement (:class:`zkp.margin.Margin`): the member's commitments C(cash),
C(pos_1..pos_I), the operator-signed per-contract P&L array A[s][i] (S x
I, row 0 "no move"), the scenario set id -- plus the prover's fresh
commitment C(H) to the member's headroom H.  With P&L_s = sum_i
A[s][i]*pos_i and the scenario equity E_s = cash + P&L_s the statement
shows, in aggregated 64-bit range proofs,

    E_s - H = cash + P&L_s - H  in [0, 2^64)   for every scenario s
    H                           in [0, 2^64)

-- S + 1 values: 0 <= H <= E_s for every s, i.e. H <= cash - (worst-case
scan loss) (row 0 gives H <= cash).  The honest prover takes H =
min_s E_s (the member's excess over its scan requirement), which needs
every E_s - H below 2^64.

The pre-trade limit is defined for the **scan model only** this session:
under an expected-shortfall set the corresponding relation (H <= cash -
ES-bound, as k*(cash - H) - k*t - sum_s e_s >= 0 with the margin proof's own
t, e_s) is not implemented, and this statement refuses any other model.

No wrap-around: with the bounds of :mod:`zkp.margin` (|cash| < 2^117,
|P&L_s| < 2^128) and H in [0, 2^64) as an integer (its own range fact),
|E_s - H| < 2^130 << r/2, so each range fact holds over the integers.

Folding: sum_s w_s*(E_s - H) + w_H*H = (sum_s w_s)*cash + sum_i (sum_s
w_s*A[s][i])*pos_i + (w_H - sum_s w_s)*H (:meth:`Headroom.fold`, O(S*I)
field operations, no group work), like the scan statement.

Binding (transcript): the margin family's (zkp.margin: "solvency-only" 0,
the model, "S", "I", the scenario set id -- or the matrix digest --,
"cash", "pos"), under this statement's own kind ``b"headroom"``, then
"headroom" the point C(H).  The proof is a :class:`zkp.margin.MarginProof`
with no auxiliary points (u32 0 || the range proofs), decoded strictly as
the margin family's.

**Headroom debit** (at novation).  A trade of quantity q (committed T =
C(q)) at price p on instrument i with multiplier m debits both sides:

    H_buyer'  = H_buyer  + (vm - w_i)*T        vm = (mark_i - p)*m
    H_seller' = H_seller + (-vm - w_i)*T

(the side's novation VM minus the trade's worst-case scenario impact
w_i*q, w_i = max_s |A[s][i]| public per scenario set).  :class:`HeadroomDebit`
shows both H' in [0, 2^64) in one aggregated range proof (2 values).
Sources (H_buyer, H_seller, T); binding: "trade-tuple" the canonical signed
trade tuple, "w" u64 w_i, "vm" the signed vm, then the three points.  No
wrap: |vm|, w_i < 2^64 and q <= 2^32 give |(+-vm - w_i)*q| < 2^97, and H is
an integer below 2^100 in absolute value (a range-proven value plus public
deposits and earlier debits), so H' in [0, 2^64) mod r means the integer H'
is.  A member that would go negative cannot be given a proof: the prover
refuses (ProvingError), the node refuses the trade's novation.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .field import R
from .group import Point
from .margin import MODEL_SCAN, Margin, ScenarioMatrix
from .pedersen import Opening
from .statement_base import Context, LinearForm, Statement, StatementError, _check_int, _check_point
from .transcript import Transcript

#: |w_i| and |vm| bound (MAX_COEFF of the scenario matrix; prices*multipliers)
MAX_DEBIT_COEFF = 1 << 64


def worst_impacts(matrix: object) -> tuple[int, ...]:
    """w_i = max_s |A[s][i]| for every instrument i (public per set)."""
    mat = ScenarioMatrix.of(matrix)
    return tuple(max(abs(a) for a in col) for col in mat.cols)


@dataclass(frozen=True)
class Headroom(Margin):
    """0 <= H <= cash + P&L_s for every scan scenario s (module docstring).
    Build it from a scan :class:`Margin` with :func:`headroom_of`."""

    KIND = b"headroom"
    headroom: Point | None = field(default=None, kw_only=True)

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_point("headroom", self.headroom)
        if self.model.kind != MODEL_SCAN:
            raise StatementError("pre-trade headroom is defined for the scan model only")
        if self.solvency_only:
            raise StatementError("the headroom statement covers every scenario (not solvency_only)")

    def _extra_sources(self) -> list[Point]:
        # cash' = cash - H in the margin family's forms: E_s - H
        return [_check_point("headroom", self.headroom)]

    def num_forms(self) -> int:
        return self.mat.S + 1

    def forms(self) -> list[LinearForm]:
        return [*super().forms(), LinearForm(0, ((self.mat.I + 1, 1),))]

    def derive_values(self, openings: Sequence[Opening]) -> list[Opening]:
        out = super().derive_values(openings)
        h = openings[self.mat.I + 1]
        return [*out, Opening(h.value, h.blinding)]

    def fold(self, weights: Sequence[int]) -> tuple[list[int], int]:
        if len(weights) != self.num_forms():
            raise StatementError("one weight per form")
        ws = weights[:-1]
        w_sum = sum(ws)
        coeff = [w_sum % R, *self.mat.colsum(ws), (weights[-1] - w_sum) % R]
        return coeff, 0

    def _bind_extra(self, t: Transcript) -> None:
        t.append_point(b"headroom", _check_point("headroom", self.headroom))


def headroom_of(st: Margin, H: Point) -> Headroom:
    """The headroom statement over the same commitments, set and context as
    the scan margin statement ``st`` (a plain :class:`Margin`), for C(H)."""
    if type(st) is not Margin or st.solvency_only:
        raise StatementError("headroom is built from a plain (full) margin statement")
    return Headroom(st.context, st.cash, st.positions, st.mat, st.scenario_set_id, False,
                    model=st.model, headroom=H)


@dataclass(frozen=True)
class HeadroomDebit(Statement):
    """Both sides' headroom after a trade's debit stays >= 0 (module
    docstring): H_b + (vm - w)*T and H_s + (-vm - w)*T in [0, 2^64)."""

    KIND = b"headroom-debit"
    context: Context
    H_buyer: Point
    H_seller: Point
    T: Point
    w: int
    vm: int
    trade_tuple: bytes

    def __post_init__(self) -> None:
        _check_point("buyer headroom", self.H_buyer)
        _check_point("seller headroom", self.H_seller)
        _check_point("T", self.T)
        _check_int("worst-case impact", self.w, 0, MAX_DEBIT_COEFF)
        _check_int("novation VM coefficient", self.vm, 1 - MAX_DEBIT_COEFF, MAX_DEBIT_COEFF)
        if not isinstance(self.trade_tuple, (bytes, bytearray)) or not self.trade_tuple:
            raise StatementError("trade tuple must be non-empty bytes")

    def sources(self) -> list[Point]:
        return [self.H_buyer, self.H_seller, self.T]

    def coefficients(self) -> tuple[int, int]:
        """(buyer's, seller's) coefficient of T in its debited headroom."""
        return self.vm - self.w, -self.vm - self.w

    def forms(self) -> list[LinearForm]:
        cb, cs = self.coefficients()
        return [LinearForm(0, ((0, 1), (2, cb))), LinearForm(0, ((1, 1), (2, cs)))]

    def _bind(self, t: Transcript) -> None:
        t.append_message(b"trade-tuple", bytes(self.trade_tuple))
        t.append_u64(b"w", self.w)
        t.append_int(b"vm", self.vm)
        t.append_point(b"H-buyer", self.H_buyer)
        t.append_point(b"H-seller", self.H_seller)
        t.append_point(b"T", self.T)


__all__ = ["Headroom", "HeadroomDebit", "MAX_DEBIT_COEFF", "headroom_of", "worst_impacts"]
