"""The liquidation part of the fold (issue 14 §2): folds ``liquidate`` and
takes the liquidated members' part of ``dm-closeout`` (:data:`FOLDS`; the
rest of the close-out is :mod:`clearing.fold.default`'s).

Rules (all public integers; mu and the penalty rate b come from the cycle's
operator-signed scenario set, clearing.protocol.maintenance):

liquidate    a member whose margin result this cycle is "liquidate" (no
             valid full-IM nor maintenance proof under a set with terms) is
             liquidated at once by the operator: it is put in default and
             joins the declared defaulters, so the next ``dm-open`` (the
             prover's, unchanged) discloses its account with reveal proofs,
             exactly as at a default.  The penalty rate b in force is
             recorded with it (``books["liquidating"][member]`` = {cycle,
             penalty_bps}).
dm-closeout  for every liquidated defaulter of the event, at the operator's
             close-out prices c (P the last settlement prices, q its
             disclosed positions, cash and an unpaid assessment u its
             disclosed values):
                 X        = sum_i (P_i - c_i) * mult_i * q_i   (close-out loss)
                 notional = sum_i |q_i| * c_i * mult_i
                 penalty  = floor(b * notional / 10,000)
                 remainder = cash - X - u - penalty
             The penalty is debited from its cash and credited to the
             insurance fund (clearing.fold.default.credit_insurance_fund).
             remainder >= 0: its positions go to the house as public lots
             (booked by the auction lots as at a default), X is paid to the
             auction book, u is settled from cash; it keeps the remainder
             (public: its cash now opens to it) and its default-fund
             contribution, and is active again (it may withdraw).  It is
             not in the default report.
             remainder < 0: the shortfall is bad debt -- it stays a
             defaulter and the default close-out runs on its disclosed cash
             less the penalty, so its loss -remainder enters the waterfall
             from tranche 2 on (its default fund, the insurance fund, ...).
             Every liquidation appends {member, cycle, penalty, remainder}
             to ``books["liquidations"]`` (public; the demo's
             ``liquidations``).
             When every defaulter of the event kept a remainder, the lots
             are booked and the event ends with no default report.

A payment default (no valid proof) under a set with terms is a liquidation:
the close-out decides whether the member keeps a remainder or leaves bad
debt.  The operator may still declare a plain default instead (the node
does not forbid the harsher measure); the demo liquidates.

Bookkeeping: X moves to the auction book (charges += X), the penalty to the
insurance fund (charges += penalty, ccp_capital -= penalty), the payable is
cleared against cash: the invariants of clearing.fold.default hold.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from clearing.ccp.rules import closeout_loss
from clearing.fold import default
from clearing.fold.state import State
from clearing.protocol import events as ev
from clearing.protocol.errors import LedgerCorrupted
from clearing.protocol.fields import STATUS_ACTIVE, STATUS_DEFAULTED
from clearing.protocol.maintenance import notional, penalty, terms_of

LIQUIDATING = "liquidating"
LIQUIDATIONS = "liquidations"


def _liquidate(state: State, seq: int, e: ev.Liquidate, alg) -> None:
    terms = terms_of(state.scenario_set or {})
    if terms is None:
        raise LedgerCorrupted("a liquidation without maintenance terms")
    state.members[e.member].status = STATUS_DEFAULTED
    state.pending_defaults.append(e.member)
    books = state.books
    books[LIQUIDATING] = {**books.get(LIQUIDATING, {}),  # replaced, never changed in place
                          e.member: {"cycle": e.cycle, "penalty_bps": terms.penalty_bps}}


def _dm_closeout(state: State, seq: int, e: ev.DmCloseout, alg) -> None:
    dm = state.default_event()
    pending = state.books.get(LIQUIDATING, {})
    mine = [m for m in dm["defaulters"] if m in pending]
    if not mine:
        default.FOLDS["dm-closeout"](state, seq, e, alg)
        return
    mults = [i["multiplier"] for i in state.cfg()["instruments"]]
    disclosed = dict(dm["disclosed"])
    rows, kept = [], []
    for m in mine:
        row, d = _liquidate_one(state, seq, m, pending[m]["penalty_bps"], disclosed[m], e.prices, mults, alg)
        row["cycle"] = pending[m]["cycle"]
        rows.append(row)
        if d is None:
            kept.append(m)
        else:
            disclosed[m] = d
    books = state.books
    books[LIQUIDATIONS] = [*books.get(LIQUIDATIONS, []), *rows]
    books[LIQUIDATING] = {m: v for m, v in pending.items() if m not in mine}
    rest = [m for m in dm["defaulters"] if m not in kept]
    if rest:
        state.dm = dict(dm, defaulters=rest, disclosed={m: disclosed[m] for m in rest})
        default.FOLDS["dm-closeout"](state, seq, e, alg)
        return
    default._book_lots(state, seq, e.lots, e.prices, mults, alg)
    state.dm = None
    state.dm_snapshot = {}


def _liquidate_one(state: State, seq: int, m: str, bps: int, d: dict, c, mults: list,
                   alg) -> tuple[dict, dict | None]:
    """Charge the penalty; close out and keep the remainder when it is >= 0
    (returns (row, None)), else (row, the disclosed values with the cash
    less the penalty) for the default close-out."""
    a = state.members[m]
    X = closeout_loss(c, state.prices, mults, d["pos"])
    u = d.get("due", 0)
    pen = penalty(bps, notional(c, mults, d["pos"]))
    remainder = d["cash"] - X - u - pen
    row = {"member": m, "penalty": pen, "remainder": remainder}
    a.cash = a.cash - alg.public(pen)
    state.flows["charges"] += pen
    default.credit_insurance_fund(state, pen)
    a.version = seq
    if remainder < 0:
        return row, dict(d, cash=d["cash"] - pen)
    for i, q in enumerate(d["pos"]):
        a.pos[i] = a.pos[i] - alg.public(q)  # to the house, as a public position (the lots book it)
    a.cash = a.cash - alg.public(X)
    state.books["auction_cash"] += X
    state.flows["charges"] += X
    if a.due is not None:
        a.cash = a.cash - a.due  # value u: keeps sum(cash + df - due) and its blinding
        a.due = None
    a.status = STATUS_ACTIVE
    return row, None


#: event kind -> its fold; registered after clearing.fold.default's (dm-closeout wraps its fold)
FOLDS: dict[str, Callable[[State, int, Any, Any], None]] = {
    "liquidate": _liquidate,
    "dm-closeout": _dm_closeout,
}


def liquidations(state: State) -> list[dict]:
    """The public liquidation rows {member, cycle, penalty, remainder}."""
    return [dict(r) for r in state.books.get(LIQUIDATIONS, [])]


__all__ = ["FOLDS", "liquidations", "LIQUIDATING", "LIQUIDATIONS"]
