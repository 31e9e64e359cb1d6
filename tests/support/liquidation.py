"""Driving maintenance margin and liquidation (issue 14 §2) through the
engine harness: a settlement under a set with maintenance terms, the
operator's liquidation, and a small ledger with a liquidation for the
registries' walks (events, leakage, incremental replay)."""
from __future__ import annotations

from pathlib import Path

from clearing.protocol import maintenance
from clearing.protocol.messages import settlement_message
from support.engine import INSTRUMENTS, MATRIX, Sim

TERMS = {"num": 4, "den": 5, "penalty_bps": 50}
IDS = [i["id"] for i in INSTRUMENTS]
P0 = [i["price0"] for i in INSTRUMENTS]
DF = 1_000_000


def settle_with_terms(sim: Sim, prices, terms=TERMS, version=0, matrix=MATRIX):
    """The operator's settlement under a scan set carrying ``terms`` (None: none)."""
    sid = maintenance.set_id(version, IDS, matrix, None, terms)
    ss = {"version": version, "matrix": [list(r) for r in matrix], "id": sid.hex()}
    if terms is not None:
        ss["maintenance"] = dict(terms)
    res = sim.engine.settle(sim.cycle, list(prices), ss, sim.op(settlement_message(sim.cycle, prices, sid)),
                            sim.rid("settle"))
    sim.sync()
    return res


def liquidate(sim: Sim, mid: str, rid=None, sig=None):
    """The operator-signed liquidation of ``mid``."""
    rid = rid or sim.rid("liq")
    sig = sig if sig is not None else sim.op(maintenance.liquidation_message(sim.cycle, mid, rid))
    res = sim.engine.liquidate(sim.cycle, mid, sig, rid)
    sim.sync()
    return res


def make_sim(path: Path, cash: dict, seed=b"liq") -> Sim:
    """A long 10 ESX from B; D long 10 ESX from C.  IM of a 10-lot is
    5,000,000 (scenario 1), maintenance at mu = 0.8: 4,000,000."""
    sim = Sim(path / "ledger.db", INSTRUMENTS,
              ccp={"skin_in_the_game_1": 0, "skin_in_the_game_2": 0, "assessment_cap_multiple": 2,
                   "insurance_fund": 100_000}, seed=seed)
    for mid in ("A", "B", "C", "D"):
        sim.admit(mid)
        sim.deposit(mid, cash[mid] + DF)
        sim.fund(mid, DF)
    sim.trade("t1", "A", "B", "ESX", 10, P0[0])
    sim.trade("t2", "D", "C", "ESX", 10, P0[0])
    return sim


def liquidation_run(base: Path) -> Sim:
    """A ledger with a liquidation that leaves A a remainder of 755,000
    (penalty 1,245,000 into the insurance fund), closed."""
    path = base / "liquidation"
    path.mkdir(exist_ok=True)
    sim = make_sim(path, {"A": 3_000_000, "B": 10**9, "C": 10**9, "D": 10**9}, seed=b"liq-run")
    settle_with_terms(sim, P0)
    sim.margin()
    liquidate(sim, "A")
    sim.default_event([P0[0] - 2000, P0[1]])
    sim.close()
    return sim
