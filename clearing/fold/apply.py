"""The fold: apply one verified event to the state (DESIGN §4-§6).

Deterministic and total for every event the node's checks accepted; it is
the only code that changes accounts, and it runs unchanged on commitments
(node, auditor) and on openings (prover service), so the two cannot drift.

:func:`apply_event` dispatches on the event's kind through :data:`FOLDS`,
one small function per kind.  This module folds genesis, admit, deposit,
df-fund, df-epoch, ccp-params (onboarding), trade, affirm, receipt
(capture; both halves in, the trade is novated), settle, close (the cycle),
margin-batch, margin-cure, withdraw (margin) and default (the
declaration); :mod:`clearing.fold.default` folds the default management
proper (dm-open, dm-closeout, dm-shares, assessment-pay, assessment-settle).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from clearing.ccp.rules import variation_margin as public_vm
from clearing.fold import default, df_sizing, headroom, intraday, liquidation
from clearing.fold.state import Account, State, _deepcopy_json
from clearing.protocol import events as ev
from clearing.protocol.errors import (
    LedgerCorrupted,
    shown,
)
from clearing.protocol.fields import (
    AUCTION,
    STATUS_ACTIVE,
    STATUS_CALL,
    STATUS_DEFAULTED,
    STATUS_PAYMENT,
)


def apply_event(state: State, seq: int, event: ev.Event, alg) -> None:
    """Apply one (already verified) event to ``state`` in place.

    Deterministic and total for every event ``verify_event`` accepted; it is
    the only code that changes accounts, and it runs unchanged on commitments
    (node, auditor) and on openings (prover service).  ``event`` is a parsed
    event (:func:`clearing.protocol.events.parse`), never a body."""
    fold = FOLDS.get(event.kind)
    if fold is None:
        raise LedgerCorrupted(f"unknown event kind {shown(event.kind)}")
    state.seq = seq
    fold(state, seq, event, alg)


# -- onboarding ---------------------------------------------------------------------
def _genesis(state: State, seq: int, e: ev.Genesis, alg) -> None:
    config = state.config = _deepcopy_json(e.config)
    state.cycle, state.cycle_seq, state.phase = 1, seq, "trading"
    state.epoch_seq = seq
    state.prices = [i["price0"] for i in config["instruments"]]
    ccp = config["ccp"]
    state.books = {"auction_pos": [0] * len(state.prices), "auction_cash": 0, "default_account": 0,
                   "ccp_capital": 0, "sitg1": ccp["skin_in_the_game_1"], "sitg2": ccp["skin_in_the_game_2"],
                   "epochs": [], "insurance_fund": ccp.get("insurance_fund", 0)}


def _admit(state: State, seq: int, e: ev.Admit, alg) -> None:
    n = len(state.cfg()["instruments"])
    state.members[e.member] = Account(e.key, e.relay_key, alg.zero(), alg.zero(), [alg.zero()] * n,
                                      version=seq, trades=[0] * n)
    headroom.admitted(state, state.members[e.member], alg)  # issue 14 §1: H = 0 under a pre-trade set


def _deposit(state: State, seq: int, e: ev.Deposit, alg) -> None:
    a = state.members[e.member]
    a.cash = a.cash + alg.public(e.amount)
    a.version = seq
    state.flows["deposits"] += e.amount
    if a.status == STATUS_ACTIVE:  # issue 14 §1: H + d*G (a called member's cure deposit: H stays 0)
        headroom.add(a, alg.public(e.amount))
    default.post_collateral(state, e.member, e.amount)  # per member, for the gross loss (issue 14)


def _df_fund(state: State, seq: int, e: ev.DfFund, alg) -> None:
    # the new contribution replaces the old one: cash += df_old - df_new
    a = state.members[e.member]
    df = alg.commitment(e.df, "df")
    a.cash = a.cash + a.df - df
    headroom.add(a, a.df - df)  # issue 14 §1: H + df - df'
    a.df = df
    a.funded = True
    a.version = seq


def _df_epoch(state: State, seq: int, e: ev.DfEpoch, alg) -> None:
    state.books["epochs"].append({"epoch": e.epoch, "D": e.D, "members": list(e.members)})
    state.epoch += 1
    state.epoch_seq = seq
    for a in state.members.values():
        a.funded = False
    df_sizing.on_epoch_close(state, e)  # issue 14 §4: Cover-2 adequacy, sized filers


def _ccp_params(state: State, seq: int, e: ev.CcpParams, alg) -> None:
    # SITG 1/2 as they stand now (what later default events draw on) and the
    # cap multiple; the config's ccp section names the parameters in force
    state.books["sitg1"], state.books["sitg2"] = e.skin_in_the_game_1, e.skin_in_the_game_2
    state.config = dict(state.cfg(), ccp={**state.cfg()["ccp"], **e.parameters()})  # optional keys stay


# -- trade capture ------------------------------------------------------------------
def _trade(state: State, seq: int, e: ev.Trade, alg) -> None:
    t = dict(e.trade)
    t.update(status="pending", affirmed=False, receipt=False)
    state.trades[t["trade_id"]] = t
    state.seen_T.add(t["T"])


def _trade_step(state: State, seq: int, e: ev.Affirm | ev.Receipt, alg) -> None:
    """An affirmation or the prover's receipt; with both in, novation."""
    t = dict(state.trades[e.trade_id])
    state.trades[e.trade_id] = t
    t["affirmed" if e.kind == "affirm" else "receipt"] = True
    if isinstance(e, ev.Receipt) and e.headroom is not None:
        headroom.debit(state, t, alg)  # issue 14 §1: the reservation, at the receipt
    if t["affirmed"] and t["receipt"]:
        _novate(state, seq, t, alg)


def _novate(state: State, seq: int, t: dict, alg) -> None:
    i = state.instrument_index(t["instrument"])
    mult = state.cfg()["instruments"][i]["multiplier"]
    T = alg.commitment(t["T"], "T")
    vm_coeff = (state.prices[i] - t["price"]) * mult
    buyer, seller = state.members[t["buyer"]], state.members[t["seller"]]
    vm = alg.lincomb([T], [vm_coeff])
    buyer.pos[i] = buyer.pos[i] + T
    seller.pos[i] = seller.pos[i] - T
    buyer.cash = buyer.cash + vm
    seller.cash = seller.cash - vm
    state.vm[t["buyer"]] = state.vm.get(t["buyer"], alg.zero()) + vm
    state.vm[t["seller"]] = state.vm.get(t["seller"], alg.zero()) - vm
    buyer.trades[i] += 1
    seller.trades[i] += 1
    buyer.version = seller.version = seq
    t["status"] = "novated"


# -- settlement and the cycle -------------------------------------------------------
def _settle(state: State, seq: int, e: ev.Settle, alg) -> None:
    mults = [i["multiplier"] for i in state.cfg()["instruments"]]
    coeffs = [(p - q) * m for p, q, m in zip(e.prices, state.prices, mults)]
    for mid in sorted(state.members):
        a = state.members[mid]
        vm = alg.lincomb(a.pos, coeffs)
        a.cash = a.cash + vm
        state.vm[mid] = state.vm.get(mid, alg.zero()) + vm
        a.version = seq
    # the auction book's public VM (paid by / to the members through the CCP)
    avm = public_vm(state.prices, e.prices, mults, state.books["auction_pos"])
    state.books["auction_cash"] += avm
    state.flows["charges"] += avm
    state.vm[AUCTION] = state.vm.get(AUCTION, alg.zero()) + alg.public(avm)
    state.prices = list(e.prices)
    state.scenario_set = _deepcopy_json(e.scenario_set)
    intraday.on_settle(state)  # issue 14 §1: a settle clears the intraday basis
    headroom.on_settle(state, alg)  # issue 14 §1: H = 0 + deposits until the run (reservations at the new prices)
    state.phase = "margin"
    state.margin, state.margin_done = {}, False


def _close(state: State, seq: int, e: ev.Close, alg) -> None:
    for tid in [tid for tid, t in state.trades.items() if t["status"] == "pending"]:
        state.trades[tid] = dict(state.trades[tid], status="expired")
        headroom.give_back(state, state.trades[tid], alg)  # issue 14 §1: an unused reservation
    state.vm = {}
    state.digests.append(e.digest)
    state.cycle += 1
    state.cycle_seq = seq
    state.phase = "trading"
    state.margin, state.margin_done = {}, False


# -- margin -------------------------------------------------------------------------
_STATUS_OF_RESULT = {"pass": STATUS_ACTIVE, "call": STATUS_CALL, "payment": STATUS_PAYMENT,
                     "liquidate": STATUS_PAYMENT}  # fails maintenance: to be liquidated (clearing.fold.liquidation)


def _margin_batch(state: State, seq: int, e: ev.MarginBatch, alg) -> None:
    for mid, res in sorted(e.results.items()):
        a = state.members[mid]
        if a.status != STATUS_DEFAULTED:
            a.status = _STATUS_OF_RESULT[res]
    state.margin = dict(e.results)
    state.margin_done = True
    headroom.reset(state, e, alg)  # issue 14 §1: H from the run (identity without a headroom proof)


def _margin_cure(state: State, seq: int, e: ev.MarginCure, alg) -> None:
    state.members[e.member].status = STATUS_CALL if e.solvency_only else STATUS_ACTIVE


def _withdraw(state: State, seq: int, e: ev.Withdraw, alg) -> None:
    a = state.members[e.member]
    a.cash = a.cash - alg.public(e.amount)
    a.version = seq
    state.flows["withdrawals"] += e.amount
    headroom.sub(a, alg.public(e.amount))  # issue 14 §1: H - w*G
    default.post_collateral(state, e.member, -e.amount)


def _default(state: State, seq: int, e: ev.Default, alg) -> None:
    state.members[e.member].status = STATUS_DEFAULTED
    state.pending_defaults.append(e.member)


#: event kind -> its fold ``(state, seq, event, alg) -> None``
FOLDS: dict[str, Callable[[State, int, Any, Any], None]] = {
    "genesis": _genesis,
    "admit": _admit,
    "deposit": _deposit,
    "df-fund": _df_fund,
    "df-epoch": _df_epoch,
    "ccp-params": _ccp_params,
    "trade": _trade,
    "affirm": _trade_step,
    "receipt": _trade_step,
    "settle": _settle,
    "close": _close,
    "margin-batch": _margin_batch,
    "margin-cure": _margin_cure,
    "withdraw": _withdraw,
    "default": _default,
    **default.FOLDS,
    **liquidation.FOLDS,  # liquidate; its dm-closeout wraps default's (issue 14 §2)
    **df_sizing.FOLDS,
    **intraday.FOLDS,  # intraday, intraday-batch (issue 14 §1)
    **headroom.FOLDS,  # pretrade-refusal (issue 14 §1)
}
