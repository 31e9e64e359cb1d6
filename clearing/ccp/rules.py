"""The CCP's public arithmetic, written once and used by the clearing fold
(:mod:`clearing.fold`) -- the engine on commitments and the prover on
openings alike -- and by the members' clients (the demo member computes its
requirement with :func:`requirement`).  Plain integers (minor units, price
units, contracts); no floats; no division.

Independence from the oracle
----------------------------
The plaintext oracle (:mod:`clearing.ccp.oracle`) deliberately does *not*
import this module (nor :mod:`clearing.fold`): it states the same rules again
in its own code, per member, so that the demo's and the tests'
engine-vs-oracle cross-checks compare two implementations and can fail.
``tests/test_ccp_rules.py`` checks that the two agree on random inputs, that
the oracle imports neither this module nor the fold, and that a rule
perturbed by one minor unit where the fold looks it up makes the cross-check
fail.

Rules (DESIGN §5.3, §6)
-----------------------
variation_margin   sum_i (P_i - P_prev_i) * mult_i * pos_i
closeout_loss      X = -sum_i (c_i - P_i) * mult_i * pos_i (what selling at the
                   close-out prices c loses against the last settlement P)
requirement        max(0, -min_s sum_i A[s][i] * pos_i) (worst scenario loss;
                   scenario 0, no move, makes it >= 0 anyway)
es_requirement     the expected-shortfall model with k tail scenarios: with
                   L_s = -sum_i A[s][i] * pos_i, topk_sum = the sum of the k
                   largest L_s (ties: any k of equal values give the same
                   sum), R = max(0, ceil(topk_sum / k)) -- rounded up, so
                   for cash >= 0, cash >= R iff k * cash >= topk_sum
margin_requirement the requirement under a signed set's model
                   ({"kind": "scan"} or {"kind": "es", "k": k})
own_resources      tranches 1-2 of one defaulter: loss = max(0, X + u +
                   max(0, -cash)); margin = min(loss, max(0, cash)); R1 =
                   loss - margin; default fund = min(R1, df); residual R2 =
                   R1 - that; estate surplus = max(0, cash - X - u) + df -
                   default fund (u: an assessment the member failed to pay,
                   DESIGN §6.4's cascade; 0 for a margin default)
mutual_tranches    tranches 3-6 and the uncovered loss for the summed residual
                   R of one event, on the survivors' *total* D0 -- every
                   public amount depends on the contributions only through
                   D0; the per-survivor split of tranches 4 and 6 (floor
                   shares and their rounding residual) is proven separately
                   (pro-rata shares, DESIGN §6.4)
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


def variation_margin(prev_prices: Sequence[int], prices: Sequence[int], mults: Sequence[int],
                     positions: Sequence[int]) -> int:
    """sum_i (prices_i - prev_prices_i) * mults_i * positions_i: what the
    positions gain (negative: lose) when prices move from ``prev_prices``."""
    if not len(prev_prices) == len(prices) == len(mults) == len(positions):
        raise ValueError("variation_margin: prices, multipliers and positions differ in length")
    total = 0
    for before, now, mult, qty in zip(prev_prices, prices, mults, positions):
        total += (now - before) * mult * qty
    return total


def closeout_loss(close_prices: Sequence[int], settle_prices: Sequence[int], mults: Sequence[int],
                  positions: Sequence[int]) -> int:
    """X = -sum_i (c_i - P_i) * mult_i * pos_i, i.e. the variation margin of a
    move from the close-out prices c back to the settlement P (negative: the
    close-out gains)."""
    return variation_margin(close_prices, settle_prices, mults, positions)


def requirement(matrix: Sequence[Sequence[int]], positions: Sequence[int]) -> int:
    """The initial-margin requirement: the worst loss over the scenarios,
    max(0, -min_s sum_i A[s][i] * pos_i).  A matrix with no scenario has no
    requirement to state: ValueError."""
    if not matrix:
        raise ValueError("requirement: the scenario matrix has no scenarios")
    worst = 0
    for row in matrix:
        if len(row) != len(positions):
            raise ValueError("requirement: a scenario row and the positions differ in length")
        worst = min(worst, sum(a * q for a, q in zip(row, positions)))
    return -worst


def tail_sum(matrix: Sequence[Sequence[int]], positions: Sequence[int], k: int) -> int:
    """The sum of the k largest scenario losses L_s = -sum_i A[s][i] * pos_i
    (1 <= k <= S).  Ties do not matter: any k of equal values give the
    same sum.  May be negative (every tail scenario a gain)."""
    if not matrix:
        raise ValueError("tail_sum: the scenario matrix has no scenarios")
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= len(matrix):
        raise ValueError(f"tail_sum: k must be an integer in [1, {len(matrix)}], got {k!r}")
    losses = []
    for row in matrix:
        if len(row) != len(positions):
            raise ValueError("tail_sum: a scenario row and the positions differ in length")
        losses.append(-sum(a * q for a, q in zip(row, positions)))
    losses.sort(reverse=True)
    return sum(losses[:k])


def es_requirement(matrix: Sequence[Sequence[int]], positions: Sequence[int], k: int) -> int:
    """The expected-shortfall requirement max(0, ceil(tail_sum / k)) in
    minor units (the mean of the k worst losses, rounded up)."""
    top = tail_sum(matrix, positions, k)
    return max(0, -(-top // k))


def margin_requirement(matrix: Sequence[Sequence[int]], positions: Sequence[int],
                       model: Mapping[str, Any] | None = None) -> int:
    """The requirement under a signed scenario set's ``model``: absent or
    {"kind": "scan"} -> :func:`requirement`; {"kind": "es", "k": k} ->
    :func:`es_requirement`.  The IM call of a member with cash c >= 0 is
    requirement - c when positive."""
    kind = "scan" if model is None else model.get("kind")
    if kind == "scan":
        return requirement(matrix, positions)
    if kind == "es" and model is not None:
        return es_requirement(matrix, positions, model.get("k"))  # type: ignore[arg-type]
    raise ValueError(f"margin_requirement: unknown margin model {kind!r}")


@dataclass(frozen=True)
class OwnResources:
    """Tranches 1-2 of one defaulter."""

    loss: int
    defaulter_margin: int
    defaulter_default_fund: int
    residual: int            # R2, to the mutual tranches
    estate_surplus: int      # released to the defaulter's estate


def own_resources(X: int, cash: int, df: int, unpaid_assessment: int = 0) -> OwnResources:
    """Tranches 1-2 of a defaulter with close-out loss ``X``, ``cash`` and
    default-fund contribution ``df`` at the default (see the module
    docstring).  The margin tranche uses only positive cash; unpaid VM
    (negative cash) adds to the loss."""
    if df < 0 or unpaid_assessment < 0:
        raise ValueError("own_resources: df and the unpaid assessment are non-negative")
    unpaid_vm = -cash if cash < 0 else 0
    loss = X + unpaid_assessment + unpaid_vm
    if loss < 0:
        loss = 0
    margin = min(loss, cash) if cash > 0 else 0
    after_margin = loss - margin
    from_df = df if df < after_margin else after_margin
    left_cash = cash - X - unpaid_assessment
    surplus = (left_cash if left_cash > 0 else 0) + df - from_df
    return OwnResources(loss, margin, from_df, after_margin - from_df, surplus)


@dataclass(frozen=True)
class MutualTranches:
    """Public sizes of tranches 3-6 for one event (aggregate form on D0)."""

    skin_in_the_game_1: int
    default_fund_in_full: bool   # the residual reaches D0: every survivor pays its df in full
    default_fund: int            # D0 in full, else the amount to allocate pro rata
    skin_in_the_game_2: int
    assessments_capped: bool     # the residual reaches cap * D0: everyone owes cap * df
    assessments: int             # cap * D0 when capped, else the amount to allocate pro rata
    uncovered_loss: int


def mutual_tranches(R: int, D0: int, sitg1: int, sitg2: int, cap_multiple: int) -> MutualTranches:
    """Tranches 3-6 for the summed residual ``R`` of one default event, on
    the survivors' snapshot total ``D0``; ``sitg1``/``sitg2`` are what is
    left of each skin-in-the-game tranche, ``cap_multiple`` the assessment
    cap a.  Each tranche takes the minimum of what is left of the loss and
    its size; tranche 4 is D0 (in full) or the rest, tranche 6 is a * D0
    (capped) or the rest; the uncovered loss is what a capped tranche 6
    leaves.  ``default_fund`` and ``assessments`` are the totals before the
    pro-rata rounding (the CCP absorbs the rounding residual)."""
    if min(R, D0, sitg1, sitg2, cap_multiple) < 0:
        raise ValueError("mutual_tranches: all inputs are non-negative")
    t3 = R if R < sitg1 else sitg1
    left = R - t3
    in_full = left >= D0
    t4 = D0 if in_full else left
    left = left - D0 if in_full else 0
    t5 = left if left < sitg2 else sitg2
    left -= t5
    cap_total = cap_multiple * D0
    capped = left >= cap_total
    t6 = cap_total if capped else left
    return MutualTranches(t3, in_full, t4, t5, capped, t6, left - cap_total if capped else 0)


__all__ = ["variation_margin", "closeout_loss", "requirement", "tail_sum", "es_requirement", "margin_requirement",
           "OwnResources", "own_resources", "MutualTranches",
           "mutual_tranches"]
