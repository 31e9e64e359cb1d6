"""The plaintext oracle's own arithmetic for default-fund sizing and Cover-2
(issue 14 §4), written from the rules text alone (it never imports
clearing.ccp.rules, the fold or the protocol's statement builders).

Scenario rules (a scenario whose ``ccp`` carries ``df_sizing`` {num, den}
and/or ``cover2`` {tau, stress_scenarios}):

* Window 0 (onboarding): every member deposits and files its
  ``default_fund``, then its sizing / Cover-2 filing; the operator closes the
  window (before the day-0 trades: no positions, no scenario set yet, so the
  bound m is 0 and Cover-2 reads cash + tau >= 0).
* Window 1 (replenishment, after the last day, once any cooling-off period
  has run its course within the run or not): every member not in default
  files its scenario ``default_fund`` again -- restoring what the defaults
  drew -- and its filing; the operator closes the window.  Each must be
  feasible, else the scenario is invalid (:class:`DfSizingError`): its cash
  covers the top-up (cash + df - default_fund >= 0); sizing: default_fund >=
  ceil(f * IM) with IM its margin requirement at the final positions (scan:
  the worst scenario loss, at least 0; ES: ceil of the mean of the k largest
  losses, at least 0); Cover-2: cash' + tau + P&L_s >= 0 for every stress row
  at the final positions, cash' = cash + df - default_fund.
* With Cover-2, each closed window reports {required: 2*tau, total: D (the
  sum of the contributions filed), met: D >= 2*tau}.

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


class DfSizingError(ValueError):
    """A scenario whose replenishment window cannot be filed as its rules say."""


def es_requirement_own(matrix: Sequence[Sequence[int]], positions: Sequence[int], k: int) -> int:
    losses = sorted((-sum(a * p for a, p in zip(row, positions)) for row in matrix), reverse=True)
    top = Fraction(sum(losses[:k]), k)
    need = top.numerator // top.denominator + (1 if top.numerator % top.denominator else 0)
    return need if need > 0 else 0


def scenario_windows(sc, final: dict) -> list[dict]:
    """The funding windows of a demo run of ``sc`` (rules above) from the
    oracle's ``final`` accounts: [{epoch, members, total, required, met}];
    DfSizingError when a survivor's replenishment filing is infeasible."""
    from clearing.ccp.scenario import scenario_matrix, scenario_model

    ccp = sc.ccp
    if ccp.df_sizing is None and ccp.cover2_tau is None:
        return []
    ids = list(sc.instrument_ids)
    matrix, model = scenario_matrix(sc), scenario_model(sc)
    windows = [{"epoch": 0, "members": [m.id for m in sc.members], "total": sum(m.default_fund for m in sc.members)}]
    survivors = [m for m in sc.members if final[m.id]["status"] != "defaulted"]
    for m in survivors:
        acct = final[m.id]
        pos = [acct["positions"].get(i, 0) for i in ids]
        cash_after = acct["cash"] + acct["df"] - m.default_fund
        if cash_after < 0:
            raise DfSizingError(f"{m.id}: its cash does not cover the replenishment of its contribution")
        if ccp.df_sizing is not None:
            im = (scan_requirement(matrix, pos) if model.get("kind", "scan") == "scan"
                  else es_requirement_own(matrix, pos, int(model["k"])))
            need = Fraction(ccp.df_sizing[0], ccp.df_sizing[1]) * im
            if m.default_fund * need.denominator < need.numerator:
                raise DfSizingError(f"{m.id}: default_fund is below f * IM at the final positions")
        if ccp.cover2_tau is not None and not cover2_holds(cash_after, pos, ccp.stress_scenarios or (),
                                                           ccp.cover2_tau):
            raise DfSizingError(f"{m.id}: its stress loss beyond cash exceeds tau at the final positions")
    windows.append({"epoch": 1, "members": [m.id for m in survivors],
                    "total": sum(m.default_fund for m in survivors)})
    if ccp.cover2_tau is not None:
        for w in windows:
            w["required"] = 2 * ccp.cover2_tau
            w["met"] = not w["total"] < w["required"]
    return windows


__all__ = ["scan_requirement", "sized_minimum_contribution", "cover2_holds", "cover2_rows", "DfSizingError",
           "es_requirement_own", "scenario_windows"]
