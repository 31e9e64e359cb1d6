"""The default-management part of the fold (DESIGN §6).

Folds dm-open, dm-closeout, dm-shares, assessment-pay and
assessment-settle (:data:`FOLDS`; the declaration, ``default``, is in
:mod:`clearing.fold.apply`):

dm-open      the prover's disclosure of every defaulter (values now public)
             and the survivors' snapshot total D0: the event starts and
             every survivor's df value is snapshotted.
dm-closeout  the operator's close-out prices, in named steps: each
             defaulter closed out (positions to the auction book at c, then
             tranches 1-2: public arithmetic of :mod:`clearing.ccp.rules`
             applied to the defaulter's commitments as public amounts, the
             estate surplus released); the auction lots booked; the mutual
             tranches sized (SITG 1 and 2 drawn); survivors' df taken in
             full homomorphically (else pending a pro-rata proof); the
             assessments a*df in full homomorphically (else whole multiples
             of D0 now, the rest pending a pro-rata proof); uncovered.
dm-shares    a verified pro-rata allocation: tranche 4 debits df_j by C_c_j;
             assessments create payables due_j = m*df_j + C_c_j (m = the
             whole multiples of D0 in the assessed amount); the rounding
             residual Sum - R is absorbed by the CCP.  Purposes
             ``vm-gains`` and ``vm-gains-haircut`` are tranche 8 (below).
assessment-pay     a tagged deposit d settles due_j: cash += d*G - C_due.
assessment-settle  due_j is paid from hidden cash: cash -= C_due (with a
             margin proof on the result); nothing public moves.

The waterfall (seniority): 1 defaulter's margin, 2 defaulter's default
fund (per defaulter, public arithmetic), then for the event's summed
residual R: 3 the insurance fund (a public balance in ``books``: the
genesis ``ccp.insurance_fund`` allocation, plus penalties a liquidation
credits), 4 SITG 1, 5 survivors' default fund, 6 SITG 2, 7 assessments
(the sizes of 4-7 from :func:`clearing.ccp.rules.mutual_tranches` on what
the insurance fund left), 8 VM gains haircutting, 9 uncovered loss.  (The
comments below that predate the insurance fund keep DESIGN §6's numbering:
"tranche 4" is the survivors' default fund, 5 here, and "tranche 6" the
assessments, 7 here.)

Tranche 8 (VM gains haircutting, :mod:`zkp.vm_gains`).  dm-open also
snapshots every survivor's VM commitment of the cycle (``state.vm``: the
novation and settlement VM booked in the cycle, less haircuts already
charged in it) under the key ``vm:<member>`` of ``dm_snapshot``.  When the
assessments leave U > 0 (and there are survivors) the close-out sets
need["vm-gains"] = U; the prover's ``vm-gains`` answer commits
g_j = max(0, vm_j) (proven: ranges and an OR-proof) and opens G = sum g_j:
if U >= G every survivor loses its whole gain (cash -= C_g, homomorphically)
and U - G is uncovered; else need["vm-gains-haircut"] = U and the shares
h_j = floor(U*g_j/G) are debited from cash, the residual U - sum h_j being
absorbed by the CCP.  A haircut also reduces the member's VM of the cycle
(``state.vm[m] -= C_h``, the pool ``state.vm["@vm-gains-haircut"] += C_h``
keeps the cycle's VM summing to zero), so a cascade event in the same cycle
haircuts only what is left of a gain.

Gross loss: ``books["posted"]`` keeps each member's public deposits less
withdrawals (:func:`post_collateral`); a defaulter's row shows the
collateral it consumed before the default, posted - max(0, cash) - df at
the disclosure, and the report's ``gross_loss`` is the net loss plus that
over the event's defaulters.

Bookkeeping (all public ints): ``flows.charges`` is the net amount moved
from member commitments into the CCP's public books, with an outstanding
payable counted as already moved; so at all times
    sum_j (cash_j + df_j - due_j) = G*(deposits - withdrawals - charges)
    auction_cash + default_account   = charges + ccp_capital
(``ccp_capital`` counts every CCP resource that entered the default account:
SITG 1 and 2, the insurance fund drawn, the rounding residuals absorbed).
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

from clearing.ccp.rules import closeout_loss, mutual_tranches, own_resources
from clearing.fold import headroom
from clearing.fold.state import State
from clearing.protocol import events as ev
from clearing.protocol.encoding import canonical
from clearing.protocol.errors import (
    LedgerCorrupted,
)
from clearing.protocol.fields import AUCTION, sha256
from clearing.protocol.statements import disclosed_values
from clearing.protocol.vm_gains import GAIN_KEY, GAINS, HAIRCUT, VM_KEY

TRANCHE_NAMES = ("defaulter_margin", "defaulter_default_fund", "insurance_fund", "skin_in_the_game_1",
                 "survivors_default_fund", "skin_in_the_game_2", "assessments", "vm_gains_haircut")
#: the cycle's VM pool that haircut VM moves to (not a member id: "@")
HAIRCUT_POOL = "@vm-gains-haircut"


# -- dm-open ------------------------------------------------------------------------
def _dm_open(state: State, seq: int, e: ev.DmOpen, alg) -> None:
    state.dm = {
        "index": len(state.reports), "cycle": e.cycle, "open_seq": seq,
        "defaulters": list(e.defaulters), "survivors": list(e.survivors), "D0": e.D0,
        "disclosed": {m: disclosed_values(state.members[m], e.disclosures[m]["values"]) for m in e.defaulters},
        "stage": "disclosed",
        "proofs": {"disclosure": sha256(canonical(e.disclosures)).hex(),
                   "D0": sha256(bytes.fromhex(e.D0_proof)).hex()},
    }
    state.dm_snapshot = {m: state.members[m].df for m in e.survivors}
    for m in e.survivors:  # tranche 8's base: the survivor's VM of the cycle so far
        state.dm_snapshot[VM_KEY + m] = state.vm.get(m, alg.zero())
    state.pending_defaults = []


# -- dm-closeout --------------------------------------------------------------------
def _dm_closeout(state: State, seq: int, e: ev.DmCloseout, alg) -> None:
    """The close-out, step by step (see the module docstring)."""
    dm = state.default_event()
    mults = [i["multiplier"] for i in state.cfg()["instruments"]]
    rows = [_close_out_defaulter(state, seq, m, e.prices, mults, alg) for m in dm["defaulters"]]
    _book_lots(state, seq, e.lots, e.prices, mults, alg)
    R = sum(r["residual"] for r in rows)
    books = state.books
    sitg1_before, sitg2_before = books["sitg1"], books["sitg2"]
    fund_before = books.get("insurance_fund", 0)
    insurance = _draw_insurance_fund(state, R)
    mw = _cool_off(state, _draw_skin_in_the_game(state, R - insurance))
    U = mw.uncovered_loss
    dm.update(stage="closed-out", prices=list(e.prices), lots=[dict(lot) for lot in e.lots], rows=rows, R=R,
              need={}, k4=0, k6=0, k8=0, U=U, G=None,
              sitg1=[sitg1_before, books["sitg1"]], sitg2=[sitg2_before, books["sitg2"]],
              insurance_fund=[fund_before, books.get("insurance_fund", 0)],
              tranches={"defaulter_margin": sum(r["defaulter_margin"] for r in rows),
                        "defaulter_default_fund": sum(r["defaulter_default_fund"] for r in rows),
                        "insurance_fund": insurance,
                        "skin_in_the_game_1": mw.skin_in_the_game_1, "survivors_default_fund": 0,
                        "skin_in_the_game_2": mw.skin_in_the_game_2, "assessments": 0, "vm_gains_haircut": 0},
              df_in_full=mw.default_fund_in_full, capped=mw.assessments_capped,
              uncovered=U, assess_multiple=0)
    if dm["D0"]:
        _survivors_default_fund(state, seq, mw, R - insurance - mw.skin_in_the_game_1, alg)
        _assessments(state, seq, mw, alg)
    if U > 0 and dm["survivors"]:
        dm["need"][GAINS] = U  # tranche 8: the prover commits the gains and opens G
    _finish_if_done(state)


def _close_out_defaulter(state: State, seq: int, m: str, c, mults: list, alg) -> dict:
    """Defaulter ``m`` closed out at the prices ``c``: positions to the house,
    the close-out loss X paid to the auction book, an unpaid assessment
    cleared, tranches 1-2, the estate surplus released.  Returns its row of
    the default report."""
    books, P = state.books, state.prices
    d = state.default_event()["disclosed"][m]
    a = state.members[m]
    X = closeout_loss(c, P, mults, d["pos"])
    u = d.get("due", 0)
    t = own_resources(X, d["cash"], d["df"], u)
    for i, q in enumerate(d["pos"]):
        a.pos[i] = a.pos[i] - alg.public(q)  # to the house, as a public position
    # close-out: the defaulter pays X (to the auction book; member winners' share below)
    a.cash = a.cash - alg.public(X)
    books["auction_cash"] += X
    state.flows["charges"] += X
    # an unpaid assessment: the payable is cleared against the defaulter's cash
    if a.due is not None:
        a.cash = a.cash - a.due  # value u: keeps sum(cash + df - due) and its blinding
        a.due = None
    # tranche 2: own df to cash; the residual R2 is taken over by the default account
    a.df = a.df - alg.public(t.defaulter_default_fund)
    a.cash = a.cash + alg.public(t.defaulter_default_fund) + alg.public(t.residual)
    books["default_account"] -= t.residual
    state.flows["charges"] -= t.residual
    cash_left = d["cash"] - X - u + t.defaulter_default_fund + t.residual
    df_left = d["df"] - t.defaulter_default_fund
    if cash_left < 0 or cash_left + df_left != t.estate_surplus:
        raise LedgerCorrupted(f"defaulter {m}: tranches 1-2 do not add up")
    # the estate surplus is released (a public withdrawal)
    a.cash = a.cash - alg.public(cash_left)
    a.df = a.df - alg.public(df_left)
    state.flows["withdrawals"] += cash_left + df_left
    a.version = seq
    consumed = state.books.get("posted", {}).get(m, 0) - max(0, d["cash"]) - d["df"]
    return {"member": m, "cash": d["cash"], "df": d["df"], "positions": list(d["pos"]), "X": X,
            "collateral_consumed": consumed,
            "unpaid_vm": max(0, -d["cash"]), "unpaid_assessment": u, "loss": t.loss,
            "defaulter_margin": t.defaulter_margin,
            "defaulter_default_fund": t.defaulter_default_fund, "residual": t.residual,
            "estate_surplus": t.estate_surplus}


def _book_lots(state: State, seq: int, lots, c, mults: list, alg) -> None:
    """The auction result: public lots novated to the winners at c, each
    winner's VM booked from c to the last settlement P; the house is flat."""
    books, P = state.books, state.prices
    for lot in lots:
        i = state.instrument_index(lot["instrument"])
        q = lot["quantity"]
        if lot["winner"] == AUCTION:
            books["auction_pos"][i] += q
            continue
        w = state.members[lot["winner"]]
        lot_vm = (P[i] - c[i]) * mults[i] * q
        w.pos[i] = w.pos[i] + alg.public(q)
        w.cash = w.cash + alg.public(lot_vm)
        headroom.lot_won(state, w, i, q, lot_vm, alg)  # issue 14 §1
        books["auction_cash"] -= lot_vm
        state.flows["charges"] -= lot_vm
        w.trades[i] += 1
        w.version = seq


def _draw_insurance_fund(state: State, R: int) -> int:
    """Tranche 3: min(R, the insurance fund's public balance), drawn into
    the default account (counted in ``ccp_capital``)."""
    books = state.books
    amount = min(R, books.get("insurance_fund", 0))
    if amount:
        books["insurance_fund"] -= amount
        books["ccp_capital"] += amount
        books["default_account"] += amount
    return amount


def credit_insurance_fund(state: State, amount: int) -> None:
    """A liquidation penalty paid into the insurance fund (issue 14 §2: the
    liquidation that charges it is not built yet; this is its hook).  The
    caller has debited the member's cash by ``amount`` and counted it in
    ``flows.charges``; the fund grows by ``amount`` and ``ccp_capital`` falls
    by it (member money now held by the CCP), so
    auction_cash + default_account = charges + ccp_capital keeps holding and
    a later draw of the fund (tranche 3) adds it back."""
    if amount < 0:
        raise LedgerCorrupted("a penalty is not negative")
    state.books["insurance_fund"] = state.books.get("insurance_fund", 0) + amount
    state.books["ccp_capital"] -= amount


def cooling_off_limit(cap: int, total_cap: int, used: tuple[int, int], D0: int) -> int:
    """The most an event may assess during a cooling-off period:
    min(cap*D0, floor((total_cap - used)*D0)), where ``used`` = (num, den)
    is the sum of the assessment multiples (assessed total / D0) of the
    period's earlier events, a fraction; 0 once the total cap is used up."""
    num, den = used
    left = total_cap * den - num
    return min(cap * D0, max(0, left) * D0 // den)


def _cool_off(state: State, mw):
    """The cooling-off period (issue 14 §4; ``ccp.cooling_off_cycles`` N > 0
    and ``ccp.assessment_total_cap_multiple`` a_total in the genesis): a
    default event whose cycle is not within a running period starts one,
    covering this cycle and the N - 1 after it.  In the period the events'
    assessment multiples (assessed total / D0, as exact fractions) sum to at
    most a_total: an event assesses at most :func:`cooling_off_limit`; what
    the limit cuts joins the uncovered loss (and so tranche 8).  A survivor
    thus pays over the period at most a_total times the largest of its
    snapshot contributions in it.  ``books["cooling_off"]`` = {until: the
    first cycle after the period, used: [num, den]} (public)."""
    ccp, books, dm = state.cfg()["ccp"], state.books, state.default_event()
    N = ccp.get("cooling_off_cycles", 0)
    if not N:
        dm["assessment_limit"] = None
        return mw
    window = books.get("cooling_off")
    if window is None or dm["cycle"] >= window["until"]:
        window = {"until": dm["cycle"] + N, "used": [0, 1]}
    D0, cap = dm["D0"], ccp["assessment_cap_multiple"]
    limit = cooling_off_limit(cap, ccp.get("assessment_total_cap_multiple", cap), tuple(window["used"]), D0)
    dm["assessment_limit"] = limit
    if mw.assessments > limit:
        mw = dataclasses.replace(mw, assessments=limit, assessments_capped=True,
                                 uncovered_loss=mw.uncovered_loss + mw.assessments - limit)
    if D0:
        num, den = window["used"]
        num, den = num * D0 + mw.assessments * den, den * D0
        g = math.gcd(num, den)
        window = {"until": window["until"], "used": [num // g, den // g]}
    books["cooling_off"] = window  # replaced, never changed in place (the journal saves books shallowly)
    return mw


def _draw_skin_in_the_game(state: State, R: int):
    """The public sizes of tranches 3-6; SITG 1 and 2 drawn into the
    default account.

    The sizes come from :func:`clearing.ccp.rules.mutual_tranches` on the
    survivors' *total* D0 as one contribution: every public amount (SITG 1
    and 2, the tranche-4 and tranche-6 totals before rounding, "in full" /
    "capped", the uncovered loss) depends on the contributions only through
    D0.  The per-survivor split and its rounding residual come from the
    pro-rata proofs (dm-shares)."""
    books, dm = state.books, state.default_event()
    cap = state.cfg()["ccp"]["assessment_cap_multiple"]
    mw = mutual_tranches(R, dm["D0"], books["sitg1"], books["sitg2"], cap)
    books["sitg1"] -= mw.skin_in_the_game_1
    books["sitg2"] -= mw.skin_in_the_game_2
    capital = mw.skin_in_the_game_1 + mw.skin_in_the_game_2
    books["ccp_capital"] += capital
    books["default_account"] += capital
    return mw


def _survivors_default_fund(state: State, seq: int, mw, rem4: int, alg) -> None:
    """Tranche 4: every survivor's snapshot df in full (homomorphically),
    else what is left of the loss after SITG 1 pending a pro-rata proof."""
    dm = state.default_event()
    D0 = dm["D0"]
    if mw.default_fund_in_full:
        for m in dm["survivors"]:
            a = state.members[m]
            a.df = a.df - state.dm_snapshot[m]
            a.version = seq
        _book_charge(state, D0)
        _move_residue(state, alg, [state.dm_snapshot[m] for m in dm["survivors"]], D0, 1)
        dm["tranches"]["survivors_default_fund"] = D0
    elif rem4 > 0:
        dm["need"]["default-fund"] = rem4


def _assessments(state: State, seq: int, mw, alg) -> None:
    """Tranche 6: payables a*df_j when capped (a the cap multiple); else
    (or when the cooling-off period limits the assessed amount below a*D0)
    the whole multiples of D0 in the assessed amount as payables now and
    the rest pending a pro-rata proof."""
    dm = state.default_event()
    cap = state.cfg()["ccp"]["assessment_cap_multiple"]
    if mw.assessments_capped and cap and mw.assessments == cap * dm["D0"]:
        _assess_multiple(state, seq, cap, alg)
    elif mw.assessments < cap * dm["D0"]:
        # the single-contribution run has no rounding
        whole, part = divmod(mw.assessments, dm["D0"])
        dm["assess_multiple"] = whole
        if whole:
            _assess_multiple(state, seq, whole, alg)
        if part:
            dm["need"]["assessment"] = part


def _assess_multiple(state: State, seq: int, k: int, alg) -> None:
    """Every survivor owes k times its snapshot df (k*D0 in total)."""
    dm = state.default_event()
    for m in dm["survivors"]:
        _add_due(state, m, alg.lincomb([state.dm_snapshot[m]], [k]), seq, alg)
    _book_charge(state, k * dm["D0"])
    _move_residue(state, alg, [state.dm_snapshot[m] for m in dm["survivors"]], dm["D0"], k)
    dm["tranches"]["assessments"] = k * dm["D0"]


# -- dm-shares ----------------------------------------------------------------------
def _dm_shares(state: State, seq: int, e: ev.DmShares, alg) -> None:
    if e.purpose == GAINS:
        _vm_gains(state, seq, e, alg)
        return
    if e.purpose == HAIRCUT:
        _vm_gains_haircut(state, seq, e, alg)
        return
    dm, books = state.default_event(), state.books
    purpose = e.purpose
    shares = [alg.commitment(h, "pro-rata share") for h in e.shares]
    for m, cj in zip(dm["survivors"], shares):
        a = state.members[m]
        if purpose == "default-fund":
            a.df = a.df - cj
        else:
            _add_due(state, m, cj, seq, alg)
        a.version = seq
    _book_charge(state, e.total)
    _move_residue(state, alg, shares, e.total, 1)
    k = e.R - e.total
    books["ccp_capital"] += k
    books["default_account"] += k
    if purpose == "default-fund":
        dm["tranches"]["survivors_default_fund"] += e.total
        dm["k4"] = k
    else:
        dm["tranches"]["assessments"] += e.total
        dm["k6"] = k
    dm["proofs"][purpose] = sha256(bytes.fromhex(e.proof) + bytes.fromhex(e.total_proof)).hex()
    del dm["need"][purpose]
    _finish_if_done(state)


# -- tranche 8: VM gains haircutting ------------------------------------------------
def _vm_gains(state: State, seq: int, e: ev.DmShares, alg) -> None:
    """The proven gains g_j = max(0, vm_j) and their opened total G: all of
    every gain when U >= G (U - G uncovered), else a pro-rata haircut is
    pending."""
    dm = state.default_event()
    survivors = dm["survivors"]
    gains = [alg.commitment(h, "VM gain") for h in e.shares]
    for m, g in zip(survivors, gains):
        state.dm_snapshot[GAIN_KEY + m] = g
    U, G = e.R, e.total
    dm["G"] = G
    dm["proofs"][GAINS] = sha256(bytes.fromhex(e.proof) + bytes.fromhex(e.total_proof)).hex()
    del dm["need"][GAINS]
    if U >= G:
        _haircut(state, seq, gains, G, alg)
        dm["uncovered"] = U - G
    else:
        dm["need"][HAIRCUT] = U
        dm["uncovered"] = 0
    _finish_if_done(state)


def _vm_gains_haircut(state: State, seq: int, e: ev.DmShares, alg) -> None:
    """The proven shares h_j = floor(U*g_j/G) debited; the rounding residual
    U - sum h_j is absorbed by the CCP."""
    dm, books = state.default_event(), state.books
    shares = [alg.commitment(h, "VM gains haircut") for h in e.shares]
    _haircut(state, seq, shares, e.total, alg)
    k = e.R - e.total
    books["ccp_capital"] += k
    books["default_account"] += k
    dm["k8"] = k
    dm["proofs"][HAIRCUT] = sha256(bytes.fromhex(e.proof) + bytes.fromhex(e.total_proof)).hex()
    del dm["need"][HAIRCUT]
    _finish_if_done(state)


def _haircut(state: State, seq: int, amounts, total: int, alg) -> None:
    """Debit every survivor's cash by its committed haircut (their opened
    sum is ``total``), moving it out of the member's VM of the cycle."""
    dm = state.default_event()
    for m, h in zip(dm["survivors"], amounts):
        a = state.members[m]
        a.cash = a.cash - h
        headroom.sub(a, h)  # issue 14 §1: H - C(h)
        state.vm[m] = state.vm.get(m, alg.zero()) - h
        state.vm[HAIRCUT_POOL] = state.vm.get(HAIRCUT_POOL, alg.zero()) + h
        a.version = seq
    _book_charge(state, total)
    _move_residue(state, alg, amounts, total, 1)
    dm["tranches"]["vm_gains_haircut"] += total


# -- assessments --------------------------------------------------------------------
def _assessment_pay(state: State, seq: int, e: ev.AssessmentPay, alg) -> None:
    a = state.members[e.member]
    a.cash = a.cash + alg.public(e.amount) - a.due
    headroom.add(a, alg.public(e.amount) - a.due)  # issue 14 §1
    a.due = None
    a.version = seq
    state.flows["deposits"] += e.amount
    post_collateral(state, e.member, e.amount)


def _assessment_settle(state: State, seq: int, e: ev.AssessmentSettle, alg) -> None:
    a = state.members[e.member]
    a.cash = a.cash - a.due  # paid from hidden cash: sum(cash + df - due) is unchanged
    headroom.sub(a, a.due)  # issue 14 §1
    a.due = None
    a.version = seq


# -- helpers ------------------------------------------------------------------------
def post_collateral(state: State, member: str, amount: int) -> None:
    """A member's public deposit (or, negative, withdrawal): its posted
    collateral ``books["posted"][member]`` (public data), from which a
    default report shows what the defaulter lost before its default.  The
    dict is replaced, never changed in place (the fold's journal saves the
    books shallowly)."""
    posted = dict(state.books.get("posted", {}))
    posted[member] = posted.get(member, 0) + amount
    state.books["posted"] = posted


def _book_charge(state: State, amount: int) -> None:
    """``amount`` moves from member commitments to the default account."""
    state.books["default_account"] += amount
    state.flows["charges"] += amount


def _move_residue(state: State, alg, commitments, opened_total: int, k: int) -> None:
    """k * (sum of ``commitments`` - opened_total*G) joins the residue.

    Used whenever committed amounts whose sum was opened in public (D0 by the
    snapshot's aggregate opening, a pro-rata total by its own) move into the
    public books: the term commits to zero (that is what the opening proved)
    and carries the moved commitments' blindings, so the conservation
    invariant keeps holding on commitments."""
    moved = alg.lincomb(list(commitments) + [alg.public(1)], [k] * len(commitments) + [-k * opened_total])
    state.residue = moved if state.residue is None else state.residue + moved


def _add_due(state: State, member: str, value, seq: int, alg) -> None:
    a = state.members[member]
    a.due = value if a.due is None else a.due + value
    a.version = seq


def _finish_if_done(state: State) -> None:
    """With no pro-rata allocation pending, the waterfall must add up; the
    default report is appended and the event ends."""
    dm = state.default_event()
    if dm["need"]:
        return
    tr = dm["tranches"]
    loss = sum(r["loss"] for r in dm["rows"])
    residual = dm["k4"] + dm["k6"] + dm["k8"]
    if loss != sum(tr.values()) + residual + dm["uncovered"]:
        raise LedgerCorrupted(f"default event {dm['index']}: the waterfall does not add up")
    state.reports.append(_report(dm, loss, residual))
    state.dm = None
    state.dm_snapshot = {}


def _report(dm: dict, loss: int, residual: int) -> dict:
    """The default report of DESIGN §6.5 from the finished event."""
    tr = dm["tranches"]
    return {
        "index": dm["index"], "cycle": dm["cycle"], "defaulters": dm["rows"], "survivors": dm["survivors"],
        "D0": dm["D0"], "loss": loss, "gross_loss": loss + sum(r["collateral_consumed"] for r in dm["rows"]),
        "R": dm["R"], "close_out_prices": dm["prices"], "lots": dm["lots"],
        "waterfall": [{"tranche": n, "amount": tr[n]} for n in TRANCHE_NAMES],
        "survivors_default_fund_in_full": dm["df_in_full"], "assessments_capped": dm["capped"],
        "default_fund_residual": dm["k4"], "assessment_residual": dm["k6"], "vm_gains_residual": dm["k8"],
        "rounding_residual": residual,
        "uncovered_loss": dm["uncovered"], "liquidity_line": sum(r["unpaid_vm"] for r in dm["rows"]),
        "insurance_fund_before": dm["insurance_fund"][0], "insurance_fund_after": dm["insurance_fund"][1],
        "assessment_limit": dm.get("assessment_limit"),
        "vm_gains_haircut_rate": {"U": dm["U"], "G": dm["G"] or 0},
        "skin_in_the_game_1_before": dm["sitg1"][0], "skin_in_the_game_1_after": dm["sitg1"][1],
        "skin_in_the_game_2_before": dm["sitg2"][0], "skin_in_the_game_2_after": dm["sitg2"][1],
        "disclosure_policy": "individual" if len(dm["survivors"]) < 3 else "aggregate",
        "proofs": dict(dm["proofs"]),
    }


#: event kind -> its fold ``(state, seq, event, alg) -> None``
FOLDS: dict[str, Callable[[State, int, Any, Any], None]] = {
    "dm-open": _dm_open,
    "dm-closeout": _dm_closeout,
    "dm-shares": _dm_shares,
    "assessment-pay": _assessment_pay,
    "assessment-settle": _assessment_settle,
}
