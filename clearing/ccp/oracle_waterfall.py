"""The plaintext oracle's extended waterfall (issue 14): the insurance fund
(tranche 3), VM gains haircutting (tranche 8) and the gross loss, in the
oracle's own arithmetic -- like :mod:`clearing.ccp.oracle`, which calls it,
this module never imports :mod:`clearing.ccp.rules` nor :mod:`clearing.fold`
(and imports nothing of the house at all), so the engine-vs-oracle
cross-checks compare two implementations.

Seniority of one default event (all amounts integers in minor units)
  1 defaulters' margin, 2 defaulters' default fund (per defaulter; their
  residuals summed to R), 3 insurance fund, 4 SITG 1, 5 survivors' default
  fund, 6 SITG 2, 7 assessments, 8 VM gains haircut, 9 uncovered loss.

Tranche 3, the insurance fund (:func:`draw_insurance_fund`)
  A public balance: the scenario's ``ccp.insurance_fund`` (default 0) at the
  start, plus every liquidation penalty collected (none in a scenario run
  yet), less what earlier default events drew.  The event draws
  min(R, balance); tranches 4-7 then run on R - that draw, exactly as
  before.  The draw enters the default account as CCP capital.

Tranche 8, VM gains haircutting (:func:`vm_gains_haircut`)
  U = the loss the assessments leave (the uncovered loss of tranches 4-7).
  vm_j = survivor j's variation margin of the default's day: its trade VM
  (novation, trade price -> previous settlement) plus its settlement VM,
  less any haircut already charged to it earlier the same day (a cascade
  event sees what is left of the gain).  g_j = max(0, vm_j), G = sum g_j.
  If U = 0 or there are no survivors nothing happens.  If U >= G every
  survivor pays h_j = g_j and U - G stays uncovered.  Else h_j =
  floor(U * g_j / G), the rounding residual k8 = U - sum h_j (0 <= k8 <
  #survivors) is absorbed by the CCP and nothing is uncovered.  Each h_j is
  debited from the survivor's cash (a public charge into the default
  account) *before* the event's assessments are settled, and reduces its
  VM of the day.  The event's rate is reported as {"U": U, "G": G}.

Cooling-off (:func:`cooling_off_limit`, :func:`limit_assessments`)
  With ``ccp.cooling_off_cycles`` N > 0, a default event on a day not
  inside a running period starts one covering that day and the N - 1 days
  after it.  Within the period the events' assessment multiples -- an
  event's assessed total before rounding divided by its D0, as an exact
  fraction -- sum to at most a_total = ``ccp.assessment_total_cap_multiple``
  (default: the per-event cap a).  An event assesses at most
  min(a * D0, floor((a_total - used) * D0)) (0 once used up); a larger
  assessment is cut to that limit, shared floor(limit * df_j / D0) with the
  residual absorbed by the CCP, and what the cut removes joins U (tranche
  8).  A survivor so pays over the period at most a_total times the largest
  of its snapshot contributions in it.  (In a scenario run contributions are
  not replenished, so an event after one that reached the assessments has
  D0 = 0 and the limit never binds; it binds after a funding window.)

Gross loss (:func:`collateral_consumed`)
  For each defaulter: posted = its public deposits up to its default (day-0
  funding cash + default_fund, cure deposits on days up to the default day,
  tagged assessment deposits of earlier default events) less its public
  withdrawals before the default (none in a scenario run); remaining =
  max(0, cash at default) + df at default; collateral consumed before the
  default = posted - remaining.  The event's gross loss = sum over its
  defaulters of collateral consumed + the event's (net) loss.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction


def _nonneg_int(name: str, x: object) -> int:
    if isinstance(x, bool) or not isinstance(x, int) or x < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {x!r}")
    return x


def draw_insurance_fund(R: int, balance: int) -> int:
    """Tranche 3: what the insurance fund pays of the residual R."""
    R, balance = _nonneg_int("R", R), _nonneg_int("insurance fund", balance)
    return R if R < balance else balance


@dataclass(frozen=True)
class VmGainsHaircut:
    U: int                                   # the loss left after the assessments
    G: int                                   # sum of the survivors' gains
    gains: dict[str, int] = field(default_factory=dict)       # g_j (private to the members)
    haircuts: dict[str, int] = field(default_factory=dict)    # h_j (private to the members)
    haircut: int = 0                         # sum h_j: the tranche
    residual: int = 0                        # k8, absorbed by the CCP
    uncovered: int = 0                       # what is left: tranche 9

    @property
    def rate(self) -> dict[str, int]:
        return {"U": self.U, "G": self.G}


def vm_gains_haircut(U: int, survivor_vm: Mapping[str, int]) -> VmGainsHaircut:
    """Tranche 8 for the loss U over the survivors' VM of the day
    (``survivor_vm``: survivor -> vm_j, in survivor order)."""
    U = _nonneg_int("U", U)
    if U == 0 or not survivor_vm:
        return VmGainsHaircut(U, 0, uncovered=U)
    gains = {}
    for m, v in survivor_vm.items():
        if isinstance(v, bool) or not isinstance(v, int):
            raise TypeError(f"vm of {m} must be an integer")
        gains[m] = v if v > 0 else 0
    G = sum(gains.values())
    if U >= G:
        return VmGainsHaircut(U, G, gains, dict(gains), G, 0, U - G)
    cuts = {m: U * g // G for m, g in gains.items()}
    total = sum(cuts.values())
    return VmGainsHaircut(U, G, gains, cuts, total, U - total, 0)


def collateral_consumed(initial: Mapping[str, int], cures: Sequence[tuple[int, str, int]],
                        assessment_deposits: Sequence[tuple[int, str, int]], member: str, day: int, event: int,
                        cash: int, df: int) -> int:
    """Collateral ``member`` posted and lost before its default on ``day``
    (in default event ``event``): its day-0 funding ``initial[member]`` plus
    its cure deposits (day, member, amount) on days <= ``day`` plus its
    assessment deposits (event index, member, amount) of events before
    ``event``, less max(0, cash) + df at the default."""
    posted = initial[member]
    posted += sum(a for d, m, a in cures if m == member and d <= day)
    posted += sum(a for k, m, a in assessment_deposits if m == member and k < event)
    return posted - (cash if cash > 0 else 0) - df


@dataclass
class CoolingOff:
    until: int            # the first day after the period
    used: Fraction        # the assessment multiples of its events so far


def cooling_off_window(window: CoolingOff | None, day: int, cycles: int) -> CoolingOff:
    """The period an event on ``day`` belongs to (a new one if none runs)."""
    if window is None or day >= window.until:
        return CoolingOff(day + cycles, Fraction(0))
    return window


def cooling_off_limit(cap: int, total_cap: int, used: Fraction, D0: int) -> int:
    """min(cap * D0, floor((total_cap - used) * D0)), never below 0."""
    left = Fraction(total_cap) - used
    if left <= 0:
        return 0
    return min(cap * D0, (left * D0).numerator // (left * D0).denominator)


def limit_assessments(mw, limit: int, dfs: Sequence[int]):
    """The oracle's mutual waterfall with its assessed total (before
    rounding) cut to ``limit``: dues floor(limit * df_j / D0), their residual,
    the cut added to the uncovered loss.  ``mw`` is the oracle's
    MutualWaterfall (replaced, fields by name)."""
    D0 = sum(dfs)
    dues = [limit * d // D0 for d in dfs] if D0 else [0] * len(dfs)
    k6 = limit - sum(dues)
    before = mw.assessments + mw.assessment_residual
    return dataclasses.replace(mw, assessments_due=tuple(dues), assessments=sum(dues), assessments_capped=True,
                               assessment_residual=k6, rounding_residual=mw.default_fund_residual + k6,
                               uncovered_loss=mw.uncovered_loss + before - limit)


__all__ = ["draw_insurance_fund", "VmGainsHaircut", "vm_gains_haircut", "collateral_consumed", "CoolingOff",
           "cooling_off_window", "cooling_off_limit", "limit_assessments"]
