"""Harness helpers for default-fund sizing, Cover-2 and insolvency (issue 14 §4):
a :class:`support.engine.Sim` with the optional ccp keys, a member's sized
filing through the prover's custody, and a small ledger holding the
``df-size`` and ``default-insolvency`` kinds (for the event round trips)."""
from __future__ import annotations

from clearing.protocol.df_sizing import df_size_message, insolvency_message
from prover.custody.df_sizing import prove_df_size
from support.engine import INSTRUMENTS, Sim

F = (1, 4)
TAU = 3 * 10**6
STRESS = [[0, 0], [-20000 * 50, -10000 * 20], [20000 * 50, 10000 * 20]]


def make_sim(path, *, tau=TAU, sizing=True, cover2=True, seed=b"df-sizing", **ccp_extra) -> Sim:
    """``ccp_extra``: further genesis ccp keys (SITG, cooling-off, ...)."""
    ccp = {"skin_in_the_game_1": 0, "skin_in_the_game_2": 0, "assessment_cap_multiple": 2, **ccp_extra}
    if sizing:
        ccp.update(df_size_num=F[0], df_size_den=F[1])
    if cover2:
        ccp.update(cover2_tau=tau, stress_scenarios=STRESS)
    return Sim(path, INSTRUMENTS, ccp=ccp, seed=seed)


def size(sim: Sim, mid: str) -> dict:
    rid = sim.rid("size")
    epoch = sim.engine.state.epoch
    sig = sim.members[mid].sign(df_size_message(mid, epoch, rid))
    filing = prove_df_size(sim.witness, mid, epoch, rid, sig, sim.engine.account(mid))
    res = sim.engine.size_default_fund(filing, sig, rid)
    sim.sync()
    return res


def declare(sim: Sim, mid: str, reason: str, rid: str | None = None, sig: bytes | None = None) -> dict:
    msg = insolvency_message(sim.cycle, mid, reason)
    res = sim.engine.declare_insolvency(sim.cycle, mid, reason, sig if sig is not None else sim.op(msg),
                                        rid or sim.rid("insolv"))
    sim.sync()
    return res


def sized_ledger_run(base) -> Sim:
    """Three members sized and Cover-2 filed, the window closed, one declared insolvent."""
    sim = make_sim(base / "sized.db", seed=b"sized-ledger")
    for mid in ("A", "B", "C"):
        sim.admit(mid)
        sim.deposit(mid, 10**8 + 10**6)
        sim.fund(mid, 10**6)
        size(sim, mid)
    sim.open_epoch()
    declare(sim, "C", "insolvency: court filing")
    return sim


# -- a scenario's funding windows (clearing.ccp.oracle_df_sizing's rules) ------------------------
def scenario_ccp(sc) -> dict:
    """The genesis ccp keys of a scenario's df_sizing / cover2 (empty without them)."""
    out: dict = {}
    if sc.ccp.df_sizing is not None:
        out["df_size_num"], out["df_size_den"] = sc.ccp.df_sizing
    if sc.ccp.cover2_tau is not None:
        out["cover2_tau"], out["stress_scenarios"] = sc.ccp.cover2_tau, [list(r) for r in sc.ccp.stress_scenarios]
    return out


def onboarding_window(sim: Sim, sc) -> None:
    """Window 0: every member (funded at onboarding) files its sizing; the window closes."""
    if not scenario_ccp(sc):
        return
    for m in sc.members:
        size(sim, m.id)
    sim.open_epoch()


def replenishment_window(sim: Sim, sc) -> None:
    """Window 1, after the last day: every member not in default re-files its default_fund and its sizing."""
    for m in sc.members:
        if sim.engine.account(m.id)["status"] == "defaulted":
            continue
        sim.fund(m.id, m.default_fund)
        size(sim, m.id)
    sim.open_epoch()
