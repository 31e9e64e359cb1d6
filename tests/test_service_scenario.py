"""Scenarios driven only through the services, compared with the plaintext
oracle (clearing.ccp.oracle.run_oracle) on the same file: who is called and for
how much, cures, defaults, every public number of each default report, and
the members' final opened balances (read back from the prover service by
each member itself).  Members behave as the oracle's members do: a called
member deposits its call rounded up to the deposit grid (at most its
liquidity) when its liquidity covers the call, else the operator declares its
default; an assessed survivor pays from hidden excess cash when its account
affords it, else by a grid-rounded tagged deposit when its liquidity covers
the due, else it defaults in turn."""
from __future__ import annotations

import grpc
import pytest

from clearing.ccp.generate import generate_scenario
from clearing.ccp.oracle import requirement, run_oracle
from clearing.ccp.scenario import builtin_scenario, grid_deposit, scenario_matrix
from support.services import Cluster, compare_with_oracle


def run_services(c: Cluster, sc, variant_name: str) -> list[dict]:
    matrix = scenario_matrix(sc)
    variant = sc.variant(variant_name)
    op = c.operator()
    op.admit_all()
    liquidity = {}
    for m in sc.members:
        p = c.member(m.id)
        p.deposit(m.cash + m.default_fund, request_id=f"dep0-{m.id}")
        p.fund(m.default_fund, request_id=f"df0-{m.id}")
        liquidity[m.id] = m.liquidity
    days = []
    for d in range(variant.days):
        booked, rejected = [], []
        for k, t in enumerate(sc.trades):
            if t.day != d:
                continue
            tid = f"d{d}-{k}"
            try:
                c.member(t.buyer).trade(tid, t.seller, t.instrument, "buy", t.quantity, t.price)
            except grpc.RpcError as exc:
                assert exc.code() == grpc.StatusCode.FAILED_PRECONDITION, exc.details()
                rejected.append(k)
                continue
            assert c.member(t.seller).affirm(tid, expect={"quantity": t.quantity, "price": t.price}).status \
                == "novated"
            booked.append(k)
        op.settle(list(variant.settlement_prices[d]), matrix)
        results = op.run_margin()
        calls, cures, defaults = [], [], []
        for m, res in sorted(results.items()):
            if res == "pass":
                continue
            bal = c.member(m).balances()
            amount = requirement(matrix, bal["pos"]) - bal["cash"]
            calls.append((m, amount, "im" if res == "call" else "payment"))
            if amount <= liquidity[m]:
                deposit = grid_deposit(amount, liquidity[m], sc.ccp.deposit_grid)
                liquidity[m] -= deposit
                c.member(m).cure(deposit)
                cures.append((m, deposit))
            else:
                op.declare_default(m)
                defaults.append(m)
        pending = list(defaults)
        while pending:
            index = op.open_default(request_id=f"dm-open-{d}-{len(op.reports())}")
            assert op.close_out(index, list(variant.close_out_prices)) == {}
            pending = []
            for m in sorted(liquidity):
                p = c.member(m)
                if p.account().status != "active":
                    continue
                bal = p.balances()
                due = bal["due"]
                if not due:
                    continue
                if bal["cash"] - due >= requirement(matrix, bal["pos"]):
                    p.settle_assessment_from_cash(index)
                elif due <= liquidity[m]:
                    deposit = grid_deposit(due, liquidity[m], sc.ccp.deposit_grid)
                    liquidity[m] -= deposit
                    p.pay_assessment(index, deposit)
                else:
                    op.declare_default(m)
                    defaults.append(m)
                    pending.append(m)
        op.close_cycle()
        days.append({"booked": booked, "rejected": rejected, "calls": calls, "cures": cures, "defaults": defaults})
    return days


def _cluster(tmp_path, sc) -> Cluster:
    instruments = [{"id": i.id, "multiplier": i.multiplier, "tick": i.tick, "price0": i.price0}
                   for i in sc.instruments]
    ccp = {"skin_in_the_game_1": sc.ccp.skin_in_the_game_1, "skin_in_the_game_2": sc.ccp.skin_in_the_game_2,
           "assessment_cap_multiple": sc.ccp.assessment_cap_multiple}
    return Cluster(tmp_path / "cfg", tuple(m.id for m in sc.members), instruments=instruments, ccp=ccp)


def test_generated_scenario_through_services_matches_oracle(tmp_path):
    sc = generate_scenario(members=3, instruments=2, scenarios=4, cycles=2, seed=0)
    oracle = run_oracle(sc, "normal")
    c = _cluster(tmp_path, sc)
    try:
        days = run_services(c, sc, "normal")
        compare_with_oracle(c, days, oracle)
        assert days[-1]["defaults"] == ["M01"]
    finally:
        c.stop()


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["normal", "harsh"])
def test_ccp_demo_through_services_matches_oracle(tmp_path, variant):
    sc = builtin_scenario()
    oracle = run_oracle(sc, variant)
    c = _cluster(tmp_path, sc)
    try:
        days = run_services(c, sc, variant)
        compare_with_oracle(c, days, oracle)
        assert any(d["defaults"] for d in days)
    finally:
        c.stop()
