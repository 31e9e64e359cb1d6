"""The oracle's maintenance tier and liquidation (issue 14 §2), with its own
arithmetic (never clearing.ccp.rules nor the fold), behind two hooks in
:mod:`clearing.ccp.oracle`'s margin step.

The rules, stated so that an independent oracle can be written from them
alone (the scenario's ``margin_scenarios.maintenance`` {ratio, penalty_bps};
mu = ratio = num/den exactly; scan model only):

1. At a day's margin step a member whose cash is below its requirement
   req = max(0, the worst scenario loss) passes maintenance iff
   den * cash >= num * req (cash + mu * P&L_s >= 0 for every s, scenario 0
   included, so never with cash < 0).  It is then called and cures or
   defaults exactly as without maintenance.
2. A member below its requirement that fails maintenance is liquidated at
   once, before the day's cures are looked at for the others (the members
   are taken in the oracle's member order; nobody's decision depends on
   another's):
       X         = -sum_i (c_i - P_i) * mult_i * pos_i   (c: the variant's
                   close-out prices, P: the day's settlement prices)
       notional  = sum_i |pos_i| * c_i * mult_i
       penalty   = floor(penalty_bps * notional / 10,000)
       remainder = cash - X - penalty
   The penalty is taken from cash and paid into the insurance fund (a
   public charge; the CCP's capital falls by it since the fund is member
   money the CCP now holds: public_charges += penalty, ccp_capital -=
   penalty, insurance fund += penalty).
   * remainder >= 0: the positions go to the auction book at c (the member
     pays X to the auction book: public_charges += X, auction cash += X),
     the member keeps cash = remainder, its df and its liquidity, and stays
     active -- but it is no survivor of the first default event of the same
     day (it is being liquidated while that event opens), and it takes part
     in later events (cascades, later days) as any active member.
   * remainder < 0: it defaults, with cash - penalty, in the day's first
     default event (cause "liquidation"): the default event's rules apply,
     so its loss X + max(0, -(cash - penalty)) is met by its remaining cash
     (tranche 1), then its default fund (tranche 2), then the insurance fund
     (which now includes its penalty) and the mutual tranches.
3. Every liquidation is recorded {member, day, penalty, remainder}
   (remainder negative: the shortfall that entered the waterfall).
"""
from __future__ import annotations

from typing import Any

#: basis points per unit
BPS = 10_000
#: the status of a member liquidated with a remainder, during the day's first default event
LIQUIDATED = "liquidated"


def passes_maintenance(num: int, den: int, cash: int, requirement: int) -> bool:
    """den * cash >= num * requirement (requirement = max(0, worst loss) >= 0)."""
    return den * cash >= num * requirement


def closeout_loss(close: list[int] | tuple[int, ...], settle: list[int] | tuple[int, ...], mults: list[int],
                  pos: list[int]) -> int:
    """X = -sum_i (c_i - P_i) * mult_i * pos_i."""
    return -sum((c - p) * m * q for c, p, m, q in zip(close, settle, mults, pos))


def penalty(bps: int, close: list[int] | tuple[int, ...], mults: list[int], pos: list[int]) -> int:
    """floor(bps * sum_i |pos_i| * c_i * mult_i / 10,000)."""
    return bps * sum(abs(q) * c * m for c, m, q in zip(close, mults, pos)) // BPS


def liquidate_if_due(run: Any, day: int, prices, member: str, requirement: int,
                     failing: list[tuple[str, str, int]]) -> bool:
    """The hook of the oracle's margin step for a member below its
    requirement: False when the scenario has no maintenance tier or the
    member passes maintenance (it is called as before); else the member is
    liquidated (rules 2-3 above; a negative remainder appends it to
    ``failing``) and True."""
    mm = run.sc.margin_scenarios.maintenance
    a = run.acc[member]
    if mm is None or passes_maintenance(mm.num, mm.den, a.cash, requirement):
        return False
    close = list(run.variant.close_out_prices)
    X = closeout_loss(close, list(prices), run.mults, a.pos)
    pen = penalty(mm.penalty_bps, close, run.mults, a.pos)
    remainder = a.cash - X - pen
    led = run.led
    a.cash -= pen
    led.public_charges += pen
    led.ccp_capital -= pen
    run.insurance_fund += pen
    if not hasattr(run, "liquidations"):
        run.liquidations = []
    run.liquidations.append({"member": member, "day": day, "penalty": pen, "remainder": remainder})
    if remainder < 0:
        failing.append((member, "liquidation", 0))
        return True
    for i, q in enumerate(a.pos):
        led.auction_pos[i] += q
    a.pos = [0] * len(a.pos)
    a.cash -= X
    led.auction_cash += X
    led.public_charges += X
    a.status = LIQUIDATED
    return True


def reactivate(run: Any) -> None:
    """After the day's first default event (or when there is none): members
    liquidated with a remainder are active again."""
    for a in run.acc.values():
        if a.status == LIQUIDATED:
            a.status = "active"


def liquidations(run: Any) -> list[dict]:
    """The run's liquidation records."""
    return [dict(r) for r in getattr(run, "liquidations", [])]


__all__ = ["passes_maintenance", "closeout_loss", "penalty", "liquidate_if_due", "reactivate", "liquidations",
           "LIQUIDATED", "BPS"]
