"""The plaintext oracle's own arithmetic for default-fund sizing and Cover-2
(issue 14 §4), written from the rules text alone (it never imports
clearing.ccp.rules, the fold or the protocol's statement builders).

* Sizing: a member's contribution in a funding window must be at least
  ceil(f * m) where m is its initial-margin requirement under the current
  scan set, m = max(0, max_s -(sum_i A[s][i] * pos_i)), f = num/den.
* Cover-2: per member, its stress loss beyond its post-funding cash must be
  at most tau: cash + tau + P&L_s >= 0 for every stress scenario s; per
  window the public adequacy row is {epoch, cycle, required = 2*tau,
  total = D, met = D >= 2*tau, shortfall = max(0, 2*tau - D)}.
"""
from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction


def scan_requirement(matrix: Sequence[Sequence[int]], positions: Sequence[int]) -> int:
    worst = 0
    for row in matrix:
        loss = -sum(a * p for a, p in zip(row, positions))
        worst = max(worst, loss)
    return worst


def sized_minimum_contribution(matrix: Sequence[Sequence[int]], positions: Sequence[int],
                               fraction: tuple[int, int]) -> int:
    need = Fraction(fraction[0], fraction[1]) * scan_requirement(matrix, positions)
    return need.numerator // need.denominator + (1 if need.numerator % need.denominator else 0)


def cover2_holds(cash: int, positions: Sequence[int], stress: Sequence[Sequence[int]], tau: int) -> bool:
    return all(cash + tau + sum(a * p for a, p in zip(row, positions)) >= 0 for row in stress)


def cover2_rows(tau: int, totals: Sequence[int], epochs: Sequence[int], cycles: Sequence[int]) -> list[dict]:
    out = []
    for D, e, c in zip(totals, epochs, cycles):
        need = tau + tau
        out.append({"epoch": e, "cycle": c, "required": need, "total": D, "met": not D < need,
                    "shortfall": need - D if D < need else 0})
    return out


__all__ = ["scan_requirement", "sized_minimum_contribution", "cover2_holds", "cover2_rows"]
