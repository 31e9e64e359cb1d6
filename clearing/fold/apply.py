"""The fold: apply one verified event to the state (DESIGN §4-§6).

Deterministic and total for every event the node's checks accepted; it is
the only code that changes accounts, and it runs unchanged on commitments
(node, auditor) and on openings (prover service), so the two cannot drift.
"""
from __future__ import annotations

from clearing.ccp.rules import variation_margin as public_vm
from clearing.fold.default import _apply_default_management
from clearing.fold.state import Account, State
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
from clearing.protocol.messages import CCP_PARAMETERS


def apply_event(state: State, seq: int, body: dict, alg) -> None:
    """Apply one (already verified) event to ``state`` in place.

    Deterministic and total for every event ``verify_event`` accepted; it is
    the only code that changes accounts, and it runs unchanged on commitments
    (node, auditor) and on openings (prover service)."""
    kind = body["kind"]
    state.seq = seq
    if kind == "genesis":
        state.config = body["config"]
        state.cycle, state.cycle_seq, state.phase = 1, seq, "trading"
        state.epoch_seq = seq
        state.prices = [i["price0"] for i in state.config["instruments"]]
        ccp = state.config["ccp"]
        state.books = {"auction_pos": [0] * len(state.prices), "auction_cash": 0, "default_account": 0,
                       "ccp_capital": 0, "sitg1": ccp["skin_in_the_game_1"], "sitg2": ccp["skin_in_the_game_2"],
                       "epochs": []}
        return
    if kind == "admit":
        n = len(state.config["instruments"])
        state.members[body["member"]] = Account(
            body["key"], body["relay_key"], alg.zero(), alg.zero(), [alg.zero()] * n,
            version=seq, trades=[0] * n)
        return
    if kind == "deposit":
        a = state.members[body["member"]]
        a.cash = a.cash + alg.public(body["amount"])
        a.version = seq
        state.flows["deposits"] += body["amount"]
        return
    if kind == "df-fund":
        # the new contribution replaces the old one: cash += df_old - df_new
        a = state.members[body["member"]]
        df = alg.commitment(body["df"], "df")
        a.cash = a.cash + a.df - df
        a.df = df
        a.funded = True
        a.version = seq
        return
    if kind == "trade":
        t = dict(body["trade"])
        t.update(status="pending", affirmed=False, receipt=False)
        state.trades[t["trade_id"]] = t
        state.seen_T.add(t["T"])
        return
    if kind in ("affirm", "receipt"):
        t = dict(state.trades[body["trade_id"]])
        state.trades[body["trade_id"]] = t
        t["affirmed" if kind == "affirm" else "receipt"] = True
        if t["affirmed"] and t["receipt"]:
            _novate(state, seq, t, alg)
        return
    if kind == "settle":
        mults = [i["multiplier"] for i in state.config["instruments"]]
        coeffs = [(p - q) * m for p, q, m in zip(body["prices"], state.prices, mults)]
        for mid in sorted(state.members):
            a = state.members[mid]
            vm = alg.lincomb(a.pos, coeffs)
            a.cash = a.cash + vm
            state.vm[mid] = state.vm.get(mid, alg.zero()) + vm
            a.version = seq
        # the auction book's public VM (paid by / to the members through the CCP)
        avm = public_vm(state.prices, body["prices"], mults, state.books["auction_pos"])
        state.books["auction_cash"] += avm
        state.flows["charges"] += avm
        state.vm[AUCTION] = state.vm.get(AUCTION, alg.zero()) + alg.public(avm)
        state.prices = list(body["prices"])
        state.scenario_set = dict(body["scenario_set"])
        state.phase = "margin"
        state.margin, state.margin_done = {}, False
        return
    if kind == "margin-batch":
        for mid, res in sorted(body["results"].items()):
            a = state.members[mid]
            if a.status != STATUS_DEFAULTED:
                a.status = {"pass": STATUS_ACTIVE, "call": STATUS_CALL, "payment": STATUS_PAYMENT}[res]
        state.margin = dict(body["results"])
        state.margin_done = True
        return
    if kind == "margin-cure":
        a = state.members[body["member"]]
        a.status = STATUS_CALL if body["solvency_only"] else STATUS_ACTIVE
        return
    if kind == "withdraw":
        a = state.members[body["member"]]
        a.cash = a.cash - alg.public(body["amount"])
        a.version = seq
        state.flows["withdrawals"] += body["amount"]
        return
    if kind == "default":
        state.members[body["member"]].status = STATUS_DEFAULTED
        state.pending_defaults.append(body["member"])
        return
    if kind == "ccp-params":
        # SITG 1/2 as they stand now (what later default events draw on) and the
        # cap multiple; the config's ccp section names the parameters in force
        state.books["sitg1"], state.books["sitg2"] = body["skin_in_the_game_1"], body["skin_in_the_game_2"]
        state.config = dict(state.config, ccp={k: body[k] for k in CCP_PARAMETERS})
        return
    if kind == "df-epoch":
        state.books["epochs"].append({"epoch": body["epoch"], "D": body["D"], "members": list(body["members"])})
        state.epoch += 1
        state.epoch_seq = seq
        for a in state.members.values():
            a.funded = False
        return
    if kind in ("dm-open", "dm-closeout", "dm-shares", "assessment-pay", "assessment-settle"):
        _apply_default_management(state, seq, body, alg)
        return
    if kind == "close":
        for tid in [tid for tid, t in state.trades.items() if t["status"] == "pending"]:
            state.trades[tid] = dict(state.trades[tid], status="expired")
        state.vm = {}
        state.digests.append(body["digest"])
        state.cycle += 1
        state.cycle_seq = seq
        state.phase = "trading"
        state.margin, state.margin_done = {}, False
        return
    raise LedgerCorrupted(f"unknown event kind {shown(kind)}")


def _novate(state: State, seq: int, t: dict, alg) -> None:
    i = state.instrument_index(t["instrument"])
    mult = state.config["instruments"][i]["multiplier"]
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
