"""Default-fund sizing and Cover-2 (issue 14 §4): the statements a member's
funding-window filing carries when the CCP parameters ask for them.

Sizing (the CCP's public fraction f = num/den, 1 <= num <= den <= 2^20, in
lowest terms): the member's new contribution df' is at least f times a
committed bound m on its initial margin.  Two statements:

:class:`DfBound`  -- the margin family's statement (:class:`zkp.margin.Margin`)
    over C(m) in place of C(cash), under the cycle's margin model:
    scan  m + P&L_s in [0, 2^64) for every margin scenario s (row 0 is the
          no-move row, so m in [0, 2^64) and m >= max_s L_s = IM);
    es    m in [0, 2^64), e_s, e_s + P&L_s + t and k*m - k*t - sum e_s in
          [0, 2^64) (the Rockafellar-Uryasev argument of zkp.margin: m >= ES).
    So m >= the member's IM under the set's model.  Binding: the margin
    family's, under the kind ``b"df-bound"`` ("cash" is C(m)).
:class:`DfSizing` -- sources (df', m, q), q a commitment the prover adds
    (carried in the filing, honest q = ceil(num*m/den)):

        q in [0, 2^64),   df' - q in [0, 2^64),   den*q - num*m in [0, 2^64)

    hence den*df' >= den*q >= num*m: df' >= f*m over the integers.
    (A single form den*df' - num*m would exceed the 64-bit range for an
    honest member contributing well above f*m; q splits it.)  The honest
    prover needs df' >= q, which is df' >= ceil(f*m), i.e. den*df' >= num*m.

Cover-2 (the CCP's public per-member stress bound tau, 0 <= tau < 2^63, and
an operator-signed stress set, S' x I per-contract P&L rows, row 0 no-move):

:class:`Cover2`   -- the margin family's scan statement over the member's
    post-funding cash cash' = cash + df - df' (a public linear function of
    the node's commitments) with the constant tau:

        cash' + tau + P&L_s in [0, 2^64)   for every stress scenario s

    i.e. the member's stress loss beyond the collateral it actually posted
    (cash, not the bound m, which a member could inflate) is at most tau.
    Scan model only (a stress set is a worst-case set).  Binding: the
    margin family's under ``b"cover2"`` (the stress matrix by its digest
    when the set id is empty), then "tau" u64.

No wrap-around: |cash'| < 2^118 (zkp.margin's |cash| < 2^117 plus two
64-bit contributions), |P&L_s| < 2^128, tau < 2^63: every Cover-2 value is
below 2^129 in absolute value.  Sizing: q, m, df' are range-bound to
[0, 2^64) (df' by the DefaultFunding statement of the same filing, m by
DfBound), den <= 2^20, so |den*q - num*m| < 2^85 and |df' - q| < 2^65, all
<< r/2: the range facts hold over the integers.

Proofs: DfBound and Cover2 proofs are :class:`zkp.margin.MarginProof` s;
DfSizing's a plain :class:`zkp.statement_base.StatementProof` (one
aggregated proof of 3 values).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from .group import Point
from .margin import MODEL_SCAN, Margin
from .statement_base import (
    MAX_PUBLIC_AMOUNT,
    Context,
    LinearForm,
    Statement,
    StatementError,
    _check_int,
    _check_point,
)
from .transcript import Transcript

#: the largest denominator of the sizing fraction f
MAX_FRACTION_DEN = 1 << 20


def check_fraction(num: object, den: object) -> tuple[int, int]:
    """A canonical sizing fraction: 1 <= num <= den <= MAX_FRACTION_DEN, in
    lowest terms (one f, one encoding)."""
    d = _check_int("sizing fraction denominator", den, 1, MAX_FRACTION_DEN + 1)
    n = _check_int("sizing fraction numerator", num, 1, d + 1)
    if math.gcd(n, d) != 1:
        raise StatementError("sizing fraction must be in lowest terms")
    return n, d


def sized_minimum(m: int, num: int, den: int) -> int:
    """The least integer contribution with den*df >= num*m: ceil(f*m)."""
    return -((-num * m) // den)


@dataclass(frozen=True)
class DfBound(Margin):
    """m covers every margin scenario (m >= IM), ``cash`` holding C(m)
    (module docstring).  Never solvency-only."""

    KIND = b"df-bound"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.solvency_only:
            raise StatementError("the sizing bound needs every margin scenario")


@dataclass(frozen=True)
class DfSizing(Statement):
    """den*df' >= num*m through q (module docstring).  Sources (df', m, q)."""

    KIND = b"df-sizing"
    context: Context
    df: Point
    m: Point
    q: Point
    num: int
    den: int
    epoch: int = 0

    def __post_init__(self) -> None:
        _check_point("df", self.df)
        _check_point("m", self.m)
        _check_point("q", self.q)
        check_fraction(self.num, self.den)
        _check_int("epoch", self.epoch, 0, 1 << 64)

    def sources(self) -> list[Point]:
        return [self.df, self.m, self.q]

    def forms(self) -> list[LinearForm]:
        return [LinearForm(0, ((2, 1),)),
                LinearForm(0, ((0, 1), (2, -1))),
                LinearForm(0, ((2, self.den), (1, -self.num)))]

    def _bind(self, t: Transcript) -> None:
        t.append_u64(b"epoch", self.epoch)
        t.append_u64(b"num", self.num)
        t.append_u64(b"den", self.den)
        t.append_point(b"df", self.df)
        t.append_point(b"m", self.m)
        t.append_point(b"q", self.q)


@dataclass(frozen=True)
class Cover2(Margin):
    """cash' + tau + P&L_s >= 0 for every stress scenario (module
    docstring); ``cash`` is the post-funding cash commitment."""

    KIND = b"cover2"
    tau: int = field(default=0, kw_only=True)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.model.kind != MODEL_SCAN:
            raise StatementError("a stress set is a worst-case (scan) set")
        if self.solvency_only:
            raise StatementError("Cover-2 needs every stress scenario")
        _check_int("tau", self.tau, 0, MAX_PUBLIC_AMOUNT)

    def _cash_const(self) -> int:
        return self.tau

    def _bind_extra(self, t: Transcript) -> None:
        t.append_u64(b"tau", self.tau)


def funded_cash(cash: Point, df_old: Point, df_new: Point) -> Point:
    """The post-funding cash commitment cash + df - df' (what the fold sets)."""
    return cash + df_old - df_new


__all__ = ["MAX_FRACTION_DEN", "check_fraction", "sized_minimum", "DfBound", "DfSizing", "Cover2",
           "funded_cash"]
