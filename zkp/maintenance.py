"""Maintenance margin (issue 14 §2): the statement a member that fails its
initial margin (IM) proves to be merely *called* rather than liquidated.

Public data: as for the scan margin statement (:class:`zkp.margin.Margin`):
the member's commitments C(cash), C(pos_1..pos_I), the operator-signed
per-contract P&L array A[s][i] (S x I, row 0 "no move"), the scenario set id
-- and the maintenance ratio mu = num/den (public, from the same signed set:
1 <= num <= den <= MAX_RATIO_DEN, gcd(num, den) = 1).  With P&L_s =
sum_i A[s][i]*pos_i the statement shows, in aggregated 64-bit range proofs,

    M_s = den*cash + num*P&L_s  in [0, 2^64)   for every scenario s,

i.e. cash + mu*P&L_s >= 0 for every s: the member's cash covers mu times its
worst-case scenario loss (maintenance requirement = mu * IM under the scan;
M_0 = den*cash >= 0 is solvency, so maintenance implies solvency).  The
honest prover needs every M_s below 2^64.

Maintenance is defined for the **scan model only** this session: a set
that carries mu must be a scan set (the scenario-set checks refuse mu with
an expected-shortfall model), and this statement refuses any other model.

No wrap-around: with the bounds of :mod:`zkp.margin` (|cash| < 2^117,
|P&L_s| < 2^128) and den <= 2^20, |M_s| < 2^137 + 2^148 < 2^149 << r/2, so
M_s in [0, 2^64) mod r means the integer M_s is in [0, 2^64).

Folding: sum_s w_s*M_s = den*(sum_s w_s)*cash + sum_i num*(sum_s w_s*A[s][i])*pos_i
(:meth:`Maintenance.fold`, O(S*I) field operations, no group work), like
the scan statement.

Binding (transcript): the margin family's (zkp.margin: "solvency-only" 1,
the model, "S", "I", the scenario set id -- or the matrix digest --, "cash",
"pos"), under this statement's own kind ``b"maintenance"``, then
"maintenance-num" u64 and "maintenance-den" u64.  The set id covers mu too
(clearing.protocol.messages.scenario_set_id), and mu is bound explicitly.

The proof is a :class:`zkp.margin.MarginProof` with no auxiliary points
(u32 0 || the range proofs), decoded strictly as the margin family's.

Within the margin family it stands where the solvency-only statement stands
(``solvency_only`` is True: it is the tier below IM that a margin batch
entry's ``solvency_only`` flag names when the cycle's set carries mu).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from .field import R
from .margin import MODEL_SCAN, Margin, signed
from .pedersen import Opening
from .statement_base import LinearForm, StatementError, _check_int
from .transcript import Transcript

#: the largest maintenance ratio denominator (a decimal with at most six
#: fractional digits reduces to a denominator dividing 10^6)
MAX_RATIO_DEN = 1_000_000


def check_ratio(num: object, den: object) -> tuple[int, int]:
    """A canonical maintenance ratio: 1 <= num <= den <= MAX_RATIO_DEN, in
    lowest terms (so one mu has one encoding and one set id)."""
    n = _check_int("maintenance ratio denominator", den, 1, MAX_RATIO_DEN + 1)
    m = _check_int("maintenance ratio numerator", num, 1, n + 1)
    if math.gcd(m, n) != 1:
        raise StatementError("maintenance ratio must be in lowest terms")
    return m, n


@dataclass(frozen=True)
class Maintenance(Margin):
    """den*cash + num*P&L_s >= 0 for every scan scenario s (module
    docstring).  Build it from a scan :class:`Margin` with
    :func:`maintenance_of`."""

    KIND = b"maintenance"
    num: int = field(default=0, kw_only=True)
    den: int = field(default=0, kw_only=True)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.model.kind != MODEL_SCAN:
            raise StatementError("maintenance margin is defined for the scan model only")
        if not self.solvency_only:
            raise StatementError("the maintenance statement is the tier below IM (solvency_only)")
        check_ratio(self.num, self.den)

    def solvency(self) -> Margin:
        return self

    def num_forms(self) -> int:
        return self.mat.S

    def forms(self) -> list[LinearForm]:
        n, d = self.num, self.den
        return [LinearForm(0, ((0, d),) + tuple((i + 1, n * a) for i, a in enumerate(row) if a))
                for row in self.mat.rows]

    def derive_values(self, openings: Sequence[Opening]) -> list[Opening]:
        if len(openings) != len(self.sources()):
            raise StatementError("wrong number of openings for this statement")
        I, n, d = self.mat.I, self.num, self.den
        cv, cb = signed(openings[0].value), openings[0].blinding
        pos = openings[1:I + 1]
        pnl = self.mat.pnl([signed(o.value) for o in pos])
        pnl_b = self.mat.pnl([o.blinding for o in pos])
        return [Opening(d * cv + n * v, d * cb + n * b) for v, b in zip(pnl, pnl_b)]

    def fold(self, weights: Sequence[int]) -> tuple[list[int], int]:
        if len(weights) != self.num_forms():
            raise StatementError("one weight per form")
        w = sum(weights)
        n = self.num
        return [self.den * w % R, *(n * c % R for c in self.mat.colsum(weights))], 0

    def _bind_extra(self, t: Transcript) -> None:
        t.append_u64(b"maintenance-num", self.num)
        t.append_u64(b"maintenance-den", self.den)


def maintenance_of(st: Margin, num: int, den: int) -> Maintenance:
    """The maintenance statement over the same commitments, set and context
    as the scan margin statement ``st`` (a plain :class:`Margin`)."""
    if type(st) is not Margin and not isinstance(st, Maintenance):
        raise StatementError("maintenance is built from a plain margin statement")
    return Maintenance(st.context, st.cash, st.positions, st.mat, st.scenario_set_id, True,
                       model=st.model, num=num, den=den)


__all__ = ["MAX_RATIO_DEN", "Maintenance", "check_ratio", "maintenance_of"]
