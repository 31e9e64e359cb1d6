"""The plaintext oracle's margin requirement under a scenario set's model
(issue 13), with the oracle's *own* arithmetic: like :mod:`clearing.ccp.oracle`
this module never imports :mod:`clearing.ccp.rules` nor :mod:`clearing.fold`
(``tests/test_ccp_rules.py`` checks it), so the engine-vs-oracle cross-checks
compare two implementations of the expected-shortfall rule.

The rule (the same text as ``clearing/ccp/scenario.py``, "Margin models")
-----------------------------------------------------------------------
S equally weighted scenarios, per-contract P&L A[s][i] in minor units; a
member's loss in scenario s is L_s = -sum_i A[s][i] * pos_i.

* scan model: requirement = max(0, max_s L_s) (row 0 is "no move", so >= 0).
* expected shortfall with k tail scenarios (1 <= k <= S):
  ES = min over real t of  t + (1/k) * sum_s max(0, L_s - t)
  (Rockafellar-Uryasev).  The minimum is attained at t* = the k-th largest
  loss (the function is convex and piecewise linear in t, with slope
  1 - #{s: L_s > t}/k, which changes sign there), so
      k * ES = k * t* + sum_s max(0, L_s - t*)
  is an exact integer: the sum of the k largest losses.  Ties: when several
  scenarios share the k-th largest value, any choice of k of them gives the
  same sum (and the same t*).
  Requirement R = max(0, ceil(k * ES / k)): the mean of the tail rounded *up*
  to the minor unit (never down: a member with cash = R covers the exact ES),
  and floored at 0 (an all-gain tail needs no margin).  A member is
  margin-sufficient iff cash >= 0 and k * cash >= k * ES, i.e. cash >= R;
  its IM call is R - cash, cured by a deposit on the CCP's deposit grid like
  every call (``clearing.ccp.scenario.grid_deposit``).

The scan requirement and the per-scenario P&L (:func:`scenario_pnl`,
:func:`requirement`) are here too; :mod:`clearing.ccp.oracle` re-exports them.
Here the oracle finds t* with :func:`heapq.nlargest` and evaluates the
Rockafellar-Uryasev objective at t*, in integers; the engine's rules sort the
losses and add the k largest.  ``tests/test_oracle_es.py`` checks this module
against a brute-force minimisation over every integer t in the range of the
losses.
"""
from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence

from clearing.ccp.scenario import MODEL_ES, Scenario


def integers(name: str, xs: Sequence) -> list[int]:
    """``xs`` as a list of ints; TypeError for a bool, float or anything else."""
    out = []
    for x in xs:
        if isinstance(x, bool) or not isinstance(x, int):
            raise TypeError(f"{name}: integers only, got {type(x).__name__} {x!r}")
        out.append(x)
    return out


def scenario_pnl(matrix: Sequence[Sequence[int]], positions: Sequence[int]) -> list[int]:
    """P&L of a portfolio under each scenario: [sum_i A[s][i] * pos_i for s]
    (the loss L_s is its negative)."""
    q = integers("positions", positions)
    out = []
    for s, row in enumerate(matrix):
        if len(row) != len(q):
            raise ValueError(f"scenario row {s} has {len(row)} entries, positions have {len(q)}")
        a = integers(f"matrix[{s}]", row)
        out.append(sum(a[i] * q[i] for i in range(len(q))))
    return out


def requirement(matrix: Sequence[Sequence[int]], positions: Sequence[int]) -> int:
    """The scan model's initial-margin requirement: the worst scenario loss,
    max(0, -min_s P&L_s)."""
    pnl = scenario_pnl(matrix, positions)
    if not pnl:
        raise ValueError("the scenario matrix has no scenarios")
    return max(0, -min(pnl))


def ru_objective_k(losses: Sequence[int], k: int, t: int) -> int:
    """k times the Rockafellar-Uryasev objective at threshold t:
    k * t + sum_s max(0, L_s - t) (an integer; its minimum over t is k * ES)."""
    return k * t + sum(L - t for L in losses if L > t)


def k_times_es(matrix: Sequence[Sequence[int]], positions: Sequence[int], k: int) -> int:
    """k * ES exactly: the RU objective at t* = the k-th largest loss, which
    equals the sum of the k largest losses (see the module docstring)."""
    losses = [-x for x in scenario_pnl(matrix, positions)]
    if not losses:
        raise ValueError("the scenario matrix has no scenarios")
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= len(losses):
        raise ValueError(f"k must be an integer in [1, {len(losses)}], got {k!r}")
    t_star = heapq.nlargest(k, losses)[-1]
    return ru_objective_k(losses, k, t_star)


def es_requirement(matrix: Sequence[Sequence[int]], positions: Sequence[int], k: int) -> int:
    """R = max(0, ceil(k * ES / k)) in minor units (module docstring)."""
    kes = k_times_es(matrix, positions, k)
    q, r = divmod(kes, k)
    return max(0, q + (1 if r else 0))


def requirement_rule(sc: Scenario, matrix: Sequence[Sequence[int]]) -> Callable[[Sequence[int]], int]:
    """The oracle's requirement for positions under the scenario's model:
    :func:`requirement` (the worst loss) for the scan model, else the
    expected shortfall with the set's k."""
    model = sc.margin_scenarios.model
    if model.kind == MODEL_ES:
        k = model.k
        return lambda positions: es_requirement(matrix, positions, k)
    return lambda positions: requirement(matrix, positions)


__all__ = ["integers", "scenario_pnl", "requirement", "ru_objective_k", "k_times_es", "es_requirement",
           "requirement_rule"]
