"""The oracle's pre-trade risk limit and intraday runs (issue 14 §1), with its
own arithmetic (never clearing.ccp.rules, the fold nor the protocol's
headroom module), behind small hooks in :mod:`clearing.ccp.oracle`'s day
loop.  Off (every hook a no-op, the result's new fields empty) unless the
scenario's set carries ``margin_scenarios.pretrade: true`` (scan model only).

The rules, stated so that an independent oracle can be written from them
alone.  A[s][i] = shock_s[i] * mult_i is the scan matrix (row 0 "no move");
w_i = max_s |A[s][i]|, the worst impact of one contract of instrument i.
Each active member j has a headroom H_j, an integer (hidden on the ledger;
the member reads its own).

1. H_j = 0 at the day-0 settlement (the first set with the flag); the day-0
   trades are novated before, unchecked.
2. Margin run (each day's step 3): a member that passes (cash >= requirement)
   gets H_j = cash - requirement = min_s (cash + sum_i A[s][i] * pos_i); a
   member that is called (cured or not), liquidated or defaults gets H_j =
   0.  Its cure deposit does not raise H (0 until the next run).
3. Between runs: a deposit d by a member not under a call: H += d (a cure
   deposit of a call, margin or intraday, leaves H at 0; the call is met
   with it, so later deposits count).  An assessment due paid from cash:
   H -= due; paid by a tagged deposit d: H += d - due.  A VM gains haircut
   h_j: H -= h_j.  (Withdrawals, H -= w, and default-fund filings, H += df
   - df', do not occur within a scenario run.)  A member in default is out.
4. Novation, day d >= 1, step 1, the trades in the file's order: per
   contract vm = (B_i - p) * mult_i for the buyer (-vm for the seller), B_i
   the basis: the last settlement price P(d-1)_i, or the intraday mark M_i
   while the day's intraday marks are in force (from the intraday run to the
   day's settlement).  w = w_i, or while the marks are in force max(w_i,
   |u_i|) with u_i of 5. (the debit also covers the un-settled cash row).
   H_b' = H_b + (vm - w) * q, H_s' = H_s + (-vm - w) * q.  Both >= 0: the
   trade novates (the VM booked into cash is still
   (P(d-1)_i - p) * mult_i * q) and H_b, H_s become H_b', H_s'.  Otherwise
   it is *refused*: each side with H' < 0 (buyer first) is listed
   {member, trade_id} in ``pretrade_refusals``, trade_id = "d{day}-{k}" with
   k the trade's index in the scenario's whole ``trades`` list.  Cure: each
   short side deposits min(ceil(-H' / grid) * grid, its remaining liquidity)
   (grid = ccp.deposit_grid; nothing when that is 0): liquidity -= it, cash
   and H += it, listed {member, trade_id, deposit} in ``pretrade_cures``.
   The trade is then checked once more against the new H: it novates (same
   VM, same debit) or stays refused and expires un-novated at the day's
   close: listed in the day's ``rejected_trades`` with its trade_id and the
   reason "pre-trade headroom exhausted"; the other side's H is not debited.
5. Intraday run on day d (a variant's ``intraday_marks`` entry for d, before
   that day's step 1), marks M, no VM settlement: u_i = (M_i - P(d-1)_i) *
   mult_i; E'_s = cash + sum_i (A[s][i] + u_i) * pos_i for every s, and
   E'_* = cash (the un-settled cash itself: unrealised gains at the marks
   are no headroom until settled).  Each active member (file order) with
   m = min(E'_*, min_s E'_s) >= 0 passes, H = m; else it is called intraday
   for c = -m ("payment" when cash < 0, else "call") and cures by a deposit of c rounded up to the grid, at most
   its liquidity; H = 0.  Restriction: a scenario in which an intraday call
   exceeds the member's remaining liquidity is refused (OracleError): an
   intraday default is not modelled.  (The format refuses intraday runs
   with a maintenance tier: an intraday liquidation is not defined.)
   Recorded {day, marks: [M_i per instrument], results: {member: "pass" |
   "call" | "payment"}, cures: [[member, deposit]]} in ``intraday``.
6. ``headroom_end`` of a day: {member: H} of the active members at the end
   of the day (after its margin run and any default events).
Deposits made under 4. and 5. are public deposits like cures: they count in
the ledger's deposits (cash conservation) and in a defaulter's collateral
consumed (gross loss).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: the reason of a trade that expires refused
EXHAUSTED = "pre-trade headroom exhausted"


@dataclass
class Pretrade:
    """The run's pre-trade state and records."""
    w: list[int]                                   # worst impact per instrument
    marks: dict[int, tuple[int, ...]]              # intraday marks by day
    H: dict[str, int] = field(default_factory=dict)
    basis: tuple[int, ...] | None = None           # the intraday marks in force today, if any
    refusals: list[dict] = field(default_factory=list)
    cures: list[dict] = field(default_factory=list)
    intraday: list[dict] = field(default_factory=list)
    deposits: list[tuple[int, str, int]] = field(default_factory=list)   # (day, member, amount)


def worst_impacts(matrix: list[list[int]]) -> list[int]:
    """w_i = max_s |A[s][i]|."""
    return [max(abs(row[i]) for row in matrix) for i in range(len(matrix[0]))]


def up_to_grid(amount: int, liquidity: int, grid: int) -> int:
    """min(ceil(amount / grid) * grid, liquidity) for amount >= 0."""
    return min(-(-amount // grid) * grid, liquidity)


def pretrade_state(run: Any) -> Pretrade | None:
    """The run's state, None when the set has no pre-trade limit."""
    if not run.sc.margin_scenarios.pretrade:
        return None
    return Pretrade(worst_impacts(run.matrix), dict(run.variant.intraday_marks),
                    {m: 0 for m in run.sc.member_ids})


def _deposit(run: Any, day: int, member: str, amount: int) -> None:
    a = run.acc[member]
    a.liquidity -= amount
    a.cash += amount
    run.led.deposits += amount
    run.pt.deposits.append((day, member, amount))


def intraday_run(run: Any, day: int, prev) -> None:
    """Rule 5, when the variant has marks for ``day``."""
    pt: Pretrade | None = run.pt
    if pt is not None:
        pt.basis = None
    if pt is None or day not in pt.marks:
        return
    M = pt.marks[day]
    u = [(M[i] - prev[i]) * run.mults[i] for i in range(len(M))]
    results: dict[str, str] = {}
    cures: list[list] = []
    for m in run.active():
        a = run.acc[m]
        # the un-settled cash itself first (the engine's no-move row), then every shifted scenario
        E = [a.cash] + [a.cash + sum((row[i] + u[i]) * a.pos[i] for i in range(len(u))) for row in run.matrix]
        low = min(E)
        if low >= 0:
            results[m], pt.H[m] = "pass", low
            continue
        results[m], call = ("payment" if a.cash < 0 else "call"), -low
        if call > a.liquidity:
            from clearing.ccp.oracle import OracleError  # the oracle's own error; no cycle at call time
            raise OracleError(f"day {day}: the intraday call of {m} exceeds its liquidity (an intraday default "
                              "is outside the rules: the scenario is refused)")
        dep = up_to_grid(call, a.liquidity, run.sc.ccp.deposit_grid)
        _deposit(run, day, m, dep)
        cures.append([m, dep])
        pt.H[m] = 0
    pt.basis = M
    pt.intraday.append({"day": day, "marks": list(M), "results": results, "cures": cures})


def admits(run: Any, day: int, k: int, t: Any, i: int, prev, td: dict, rejected: list[dict]) -> bool:
    """Rule 4 for trade ``t`` (index ``k`` in the file, instrument index
    ``i``): True when it novates (both sides' H debited), else False with
    the trade appended to ``rejected``."""
    pt: Pretrade | None = run.pt
    if pt is None or day == 0:
        return True
    tid = f"d{day}-{k}"
    vm = ((pt.basis or prev)[i] - t.price) * run.mults[i]
    w, q, H = pt.w[i], t.quantity, pt.H
    if pt.basis:  # under intraday marks: the debit also covers the un-settled cash row, |u_i|
        w = max(w, abs((pt.basis[i] - prev[i]) * run.mults[i]))

    def after() -> tuple[int, int]:
        return H[t.buyer] + (vm - w) * q, H[t.seller] + (-vm - w) * q

    hb, hs = after()
    if min(hb, hs) < 0:
        short = [(m, h) for m, h in ((t.buyer, hb), (t.seller, hs)) if h < 0]
        pt.refusals += [{"member": m, "trade_id": tid} for m, _ in short]
        for m, h in short:
            dep = up_to_grid(-h, run.acc[m].liquidity, run.sc.ccp.deposit_grid)
            if dep > 0:
                _deposit(run, day, m, dep)
                H[m] += dep
                pt.cures.append({"member": m, "trade_id": tid, "deposit": dep})
        hb, hs = after()
        if min(hb, hs) < 0:
            rejected.append({**td, "trade_id": tid, "reason": EXHAUSTED})
            return False
    H[t.buyer], H[t.seller] = hb, hs
    return True


def margin_run(run: Any, cash: dict[str, int], reqs: dict[str, int]) -> None:
    """Rule 2 after the margin step: ``cash`` and ``reqs`` at the run."""
    pt: Pretrade | None = run.pt
    if pt is None:
        return
    pt.basis = None
    for m in cash:
        pt.H[m] = cash[m] - reqs[m] if cash[m] >= reqs[m] else 0


def after_event(run: Any, event: Any) -> None:
    """Rule 3 for a default event's assessments and haircuts."""
    pt: Pretrade | None = run.pt
    if pt is None:
        return
    for m, due in event.assessments_paid.items():
        pt.H[m] -= due
    for m, dep in event.assessment_deposits.items():
        pt.H[m] += dep
    for m, h in event.vm_gains_haircuts.items():
        pt.H[m] -= h


def headroom_end(run: Any) -> dict[str, int]:
    """Rule 6."""
    return {} if run.pt is None else {m: run.pt.H[m] for m in run.active()}


def deposits(run: Any) -> list[tuple[int, str, int]]:
    """The (day, member, amount) of the pre-trade and intraday cure deposits."""
    return [] if run.pt is None else list(run.pt.deposits)


def result_fields(run: Any) -> dict[str, list]:
    """The oracle result's pretrade_refusals, pretrade_cures and intraday."""
    pt: Pretrade | None = run.pt
    if pt is None:
        return {"pretrade_refusals": [], "pretrade_cures": [], "intraday": []}
    return {"pretrade_refusals": [dict(r) for r in pt.refusals], "pretrade_cures": [dict(c) for c in pt.cures],
            "intraday": [dict(x) for x in pt.intraday]}


__all__ = ["EXHAUSTED", "Pretrade", "worst_impacts", "up_to_grid", "pretrade_state", "intraday_run", "admits",
           "margin_run", "after_event", "headroom_end", "deposits", "result_fields"]
