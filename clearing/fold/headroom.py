"""The pre-trade headroom fold (issue 14 §1; the rules are
:mod:`clearing.protocol.headroom`'s).  OPT-IN: every hook is a no-op while
no scenario set with ``"pretrade": true`` has been published (the
accounts' ``headroom`` stays None, so snapshots and digests are unchanged).

Rules, on the commitments the fold already holds (node) or their openings
(prover):
* settle with a pre-trade set, and an intraday run's marks: every H = 0
  (the identity), then the open reservations at the new terms (below) --
  until the run's batch installs the new H, H = 0 + deposits: the H of the
  previous basis knows neither the settle's VM nor the marks, so no debit is
  proven against it; an admission under such a set likewise;
* margin-batch under a pre-trade set: H = the entry's committed H when the
  entry carries a headroom proof, else 0 (called, liquidated, insolvent or
  no entry: no headroom until a deposit or the next run); then the open
  reservations (pending trades with a receipt: under a pre-trade set a
  receipt follows the affirmation and novates at once, so only a receipt
  booked while the limit was off, for a trade still pending when the set
  came in force) are applied again at the terms (w, vm) of the basis the
  run installs -- the novation books the VM and the position at that
  basis -- so they carry over the run until the trade novates or expires;
* deposit d by an active member: H + d*G (a called member's cure deposit
  leaves H at 0); withdrawal w: H - w*G; df-fund: H + df - df';
  assessment paid (assessment-pay: H + a*G - C(due); assessment-settle:
  H - C(due)); VM gains haircut: H - C(h); an auction lot won at c: H +
  (lot VM - w_i*|q|)*G (the lot's VM and its worst impact, both public;
  while an intraday basis is in force the lot VM at the mark, (M_i - c)*m*q,
  as a receipt's debit);
* receipt with a headroom debit (it follows the affirmation: the trade
  novates with it): H_buyer + (vm - w)*T, H_seller + (-vm - w)*T with vm =
  (c_i - p)*m at the receipt (c_i the last settlement price; while an
  intraday basis is in force, c_i is the intraday mark M_i,
  clearing.protocol.intraday -- the VM booked into cash at novation stays
  (c_i - p)*m*q) and w = w_i, the signed (unshifted) set's worst impact
  (under an intraday basis w = max(w_i, |u_i|), :func:`terms`); the trade
  record keeps the public pair ``headroom_debit`` [w, vm], as a carried
  reservation does, so that
* close: a trade that expires un-novated with a debit (a reservation) gets
  it back (the exact inverse);
* pretrade-refusal: the trade record keeps the short sides
  (``pretrade_refused``) and the H pair refused against
  (``pretrade_refused_at``: one refusal per pair), and ``books["pretrade_refusals"]`` gains one
  {member, trade_id} per short side not yet listed for that trade (public;
  the report's ``pretrade_refusals``).  H is unchanged.
"""
from __future__ import annotations

from typing import Any

from clearing.fold.state import Account, State
from clearing.protocol import headroom as protocol


def enabled(state: State) -> bool:
    """Whether the scenario set in force turns the pre-trade limit on."""
    return state.scenario_set is not None and protocol.KEY in state.scenario_set


def add(a: Account, v: Any) -> None:
    if a.headroom is not None:
        a.headroom = a.headroom + v


def sub(a: Account, v: Any) -> None:
    if a.headroom is not None:
        a.headroom = a.headroom - v


def admitted(state: State, a: Account, alg) -> None:
    if enabled(state):
        a.headroom = alg.zero()


def on_settle(state: State, alg) -> None:
    """A new basis (a settle, or an intraday run's marks): every H = 0 until
    the run's batch, open reservations at the new terms (module docstring)."""
    if not enabled(state):
        return
    for mid in sorted(state.members):
        state.members[mid].headroom = alg.zero()
    _carry(state, alg)


def reset(state: State, e, alg) -> None:
    """H from the margin batch (module docstring)."""
    if not enabled(state):
        return
    by_member = {x["member"]: x for x in e.entries}
    for mid in sorted(state.members):
        a = state.members[mid]
        x = by_member.get(mid)
        h = x.get("headroom") if x is not None else None
        a.headroom = alg.commitment(h["H"], "headroom") if h is not None else alg.zero()
    _carry(state, alg)


def _carry(state: State, alg) -> None:
    for tid in sorted(tid for tid, t in state.trades.items() if t["status"] == "pending" and t.get("receipt")):
        # an open reservation carries over the run at the terms of the basis the run installs (the novation
        # books the VM and the position at it); a receipt booked while the limit was off is reserved now
        t = state.trades[tid] = dict(state.trades[tid])
        w, vm = terms(state, t)
        t["headroom_debit"] = [w, vm]
        _shift(state, t, w, vm, 1, alg)


def terms(state: State, t: dict) -> tuple[int, int]:
    """(w, vm) of a trade at this point of the ledger (public): w_i and the
    VM from the last settlement price; under an intraday basis the VM at the
    mark and w = max(w_i, |u_i|), u_i = (M_i - c_i)*m_i -- the derived set's
    no-move row is the un-settled cash, which a novation moves by (c_i -
    p)*m per contract = vm - u_i: with w >= |u_i| the debit covers that row
    too, so H stays at or below every row of the basis."""
    i = state.instrument_index(t["instrument"])
    mult = state.cfg()["instruments"][i]["multiplier"]
    assert state.scenario_set is not None
    w = protocol.worst_impacts(state.scenario_set)[i]
    from clearing.fold.intraday import mark  # issue 14 §1: under an intraday basis, the VM at the mark
    m = mark(state, i)
    if m is None:
        return w, protocol.novation_vm(t["price"], state.prices[i], mult)
    return max(w, abs((m - state.prices[i]) * mult)), protocol.novation_vm(t["price"], m, mult)


def _shift(state: State, t: dict, w: int, vm: int, sign: int, alg) -> None:
    T = alg.commitment(t["T"], "T")
    buyer, seller = state.members[t["buyer"]], state.members[t["seller"]]
    if buyer.headroom is not None:
        buyer.headroom = alg.lincomb([buyer.headroom, T], [1, sign * (vm - w)])
    if seller.headroom is not None:
        seller.headroom = alg.lincomb([seller.headroom, T], [1, sign * (-vm - w)])


def debit(state: State, t: dict, alg) -> None:
    """The receipt's debit of both sides; ``t`` is the (fresh) trade record."""
    w, vm = terms(state, t)
    t["headroom_debit"] = [w, vm]
    _shift(state, t, w, vm, 1, alg)


def give_back(state: State, t: dict, alg) -> None:
    """An expiring trade's reservation back (``t`` is the fresh record)."""
    if "headroom_debit" in t:
        w, vm = t["headroom_debit"]
        _shift(state, t, w, vm, -1, alg)


def lot_won(state: State, a: Account, instrument: int, quantity: int, lot_vm: int, alg) -> None:
    """An auction lot won by a survivor: its VM in, its worst impact out."""
    if a.headroom is not None and enabled(state):
        assert state.scenario_set is not None
        w = protocol.worst_impacts(state.scenario_set)[instrument]
        from clearing.fold.intraday import mark  # under an intraday basis the lot is valued at the mark
        m = mark(state, instrument)
        if m is not None:
            lot_vm += (m - state.prices[instrument]) * state.cfg()["instruments"][instrument]["multiplier"] * quantity
        a.headroom = a.headroom + alg.public(lot_vm - w * abs(quantity))


#: the public books' list of refusals (absent until the first one)
REFUSALS = "pretrade_refusals"


def refused(state: State, seq: int, e, alg) -> None:
    """A ``pretrade-refusal`` event: the short sides on the trade and in the books."""
    t = dict(state.trades[e.trade_id], pretrade_refused=list(e.members), pretrade_refused_at=[e.H_buyer, e.H_seller])
    state.trades[e.trade_id] = t
    rows = state.books.setdefault(REFUSALS, [])
    seen = {(r["member"], r["trade_id"]) for r in rows if r["trade_id"] == e.trade_id}
    rows.extend({"member": m, "trade_id": e.trade_id} for m in e.members if (m, e.trade_id) not in seen)


def refusals(state: State) -> list[dict]:
    """Every refused side so far, once per trade, in ledger order [{member, trade_id}]."""
    return [dict(r) for r in state.books.get(REFUSALS, [])]


FOLDS = {"pretrade-refusal": refused}

__all__ = ["enabled", "add", "sub", "admitted", "on_settle", "reset", "terms", "debit", "give_back", "lot_won",
           "REFUSALS", "refused", "refusals", "FOLDS"]
