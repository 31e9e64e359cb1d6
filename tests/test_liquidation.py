"""Maintenance margin and liquidation end to end in the engine (issue 14 §2):
the tiers of a margin run under a set with maintenance terms (IM pass, IM
call by the maintenance proof, liquidation), the operator's liquidation, the
disclosure and close-out through the default events, the penalty into the
insurance fund, a remainder kept (the member active, may withdraw, df
stays) or bad debt into the waterfall from tranche 2; refusals; the set id
and shape unchanged without terms."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from clearing.fold.liquidation import liquidations
from clearing.protocol import events as ev
from clearing.protocol import maintenance
from clearing.protocol.errors import FailedPrecondition, InvalidArgument
from clearing.protocol.fields import STATUS_ACTIVE, STATUS_CALL, STATUS_DEFAULTED
from clearing.protocol.messages import scenario_set_id, settlement_message
from support.engine import MATRIX
from support.liquidation import DF, IDS, P0, TERMS, liquidate, make_sim, settle_with_terms


def test_tiers_liquidation_with_remainder(tmp_path):
    sim = make_sim(tmp_path, {"A": 3_000_000, "B": 10**9, "C": 10**9, "D": 4_500_000})
    settle_with_terms(sim, P0)
    assert sim.margin() == {"A": "liquidate", "B": "pass", "C": "pass", "D": "call"}
    s = sim.engine.state
    assert s.members["D"].status == STATUS_CALL
    # the call blocks the default event (as today): D cures first
    sim.cure("D", 600_000)
    assert s.members["D"].status == STATUS_ACTIVE
    # A failed maintenance: no cure window (its deposit is booked, its fresh full proof refused)
    with pytest.raises(FailedPrecondition, match="liquidated, not cured"):
        sim.cure("A", 1_000_000)
    # refusals: wrong member, bad signature
    with pytest.raises(FailedPrecondition, match="has not failed maintenance"):
        liquidate(sim, "D")
    with pytest.raises(InvalidArgument):
        liquidate(sim, "A", sig=sim.op(maintenance.liquidation_message(sim.cycle, "B", "x")))
    res = liquidate(sim, "A", rid="liq-A")
    again = liquidate(sim, "A", rid="liq-A")  # idempotent by request id
    assert again["seq"] == res["seq"]
    assert s.members["A"].status == STATUS_DEFAULTED
    fund_before = s.books["insurance_fund"]
    c = [P0[0] - 2000, P0[1]]
    sim.default_event(c)
    # X = 2000*50*10 = 1,000,000; notional = 10*498,000*50 = 249,000,000; penalty 50 bps = 1,245,000
    # (with the 1,000,000 deposited in vain above)
    assert liquidations(s) == [{"member": "A", "cycle": 1, "penalty": 1_245_000, "remainder": 1_755_000}]
    assert s.books["insurance_fund"] == fund_before + 1_245_000
    assert sim.engine.default_reports() == []  # no loss, no default report
    a = s.members["A"]
    assert a.status == STATUS_ACTIVE
    assert sim.witness.balances("A") == {"cash": 1_755_000, "df": DF, "pos": [0, 0]}
    sim.close()  # checks the invariants
    # the member keeps its remainder: it may withdraw it
    settle_with_terms(sim, P0, version=1)
    assert sim.margin()["A"] == "pass"
    sim.withdraw("A", 1_755_000)


def test_bad_debt_enters_waterfall_from_tranche_2(tmp_path):
    sim = make_sim(tmp_path, {"A": 2_000_000, "B": 10**9, "C": 10**9, "D": 10**9}, seed=b"liq-bad")
    settle_with_terms(sim, P0)
    assert sim.margin()["A"] == "liquidate"
    liquidate(sim, "A")
    sim.default_event([P0[0] - 2000, P0[1]])
    s = sim.engine.state
    # remainder = 2,000,000 - 1,000,000 - 1,245,000 = -245,000: its df covers it (tranche 2)
    assert liquidations(s) == [{"member": "A", "cycle": 1, "penalty": 1_245_000, "remainder": -245_000}]
    [rep] = sim.engine.default_reports()
    tr = {t["tranche"]: t["amount"] for t in rep["waterfall"]}
    # the close-out loss X = 1,000,000: the cash left after the penalty (tranche 1), the
    # shortfall 245,000 from tranche 2 on (its default fund covers it)
    assert rep["loss"] == 1_000_000
    assert tr["defaulter_margin"] == 755_000 and tr["defaulter_default_fund"] == 245_000
    assert tr["insurance_fund"] == 0
    assert rep["insurance_fund_after"] == 100_000 + 1_245_000
    assert s.members["A"].status == STATUS_DEFAULTED


def test_refusals_without_terms_and_shape(tmp_path):
    sim = make_sim(tmp_path, {"A": 3_000_000, "B": 10**9, "C": 10**9, "D": 10**9}, seed=b"liq-none")
    # no terms: the id, the shape and the tiers are as before
    ss_id = maintenance.set_id(0, IDS, MATRIX)
    assert ss_id == scenario_set_id(0, IDS, MATRIX)
    assert maintenance.set_id(0, IDS, MATRIX, None, TERMS) != ss_id
    settle_with_terms(sim, P0, terms=None)
    assert sim.margin()["A"] == "call"  # solvency-only: an IM call (no maintenance tier)
    with pytest.raises(FailedPrecondition, match="maintenance terms"):
        liquidate(sim, "A")


def test_scenario_set_terms_checked(tmp_path):
    sim = make_sim(tmp_path, {"A": 3_000_000, "B": 10**9, "C": 10**9, "D": 10**9}, seed=b"liq-bad-set")
    bad = [{"num": 8, "den": 10, "penalty_bps": 50}, {"num": 6, "den": 5, "penalty_bps": 50},
           {"num": 4, "den": 5, "penalty_bps": 10_001}, {"num": 0, "den": 5, "penalty_bps": 1}]
    for terms in bad:
        with pytest.raises(InvalidArgument):
            sid = maintenance.set_id(0, IDS, MATRIX, None, terms)
            ss = {"version": 0, "matrix": MATRIX, "id": sid.hex(), "maintenance": terms}
            sim.engine.settle(sim.cycle, P0, ss, sim.op(settlement_message(sim.cycle, P0, sid)), sim.rid("s"))
    # an id without the terms does not name a set with terms
    sid = scenario_set_id(0, IDS, MATRIX)
    ss = {"version": 0, "matrix": MATRIX, "id": sid.hex(), "maintenance": TERMS}
    with pytest.raises(InvalidArgument, match="id is not the hash"):
        sim.engine.settle(sim.cycle, P0, ss, sim.op(settlement_message(sim.cycle, P0, sid)), sim.rid("s"))
    # an ES set with terms is refused (maintenance is defined for the scan only)
    es = {"kind": "es", "k": 1}
    sid = maintenance.set_id(0, IDS, MATRIX[1:], es, TERMS)
    ss = {"version": 0, "matrix": MATRIX[1:], "id": sid.hex(), "model": es, "maintenance": TERMS}
    with pytest.raises(InvalidArgument, match="scan model only"):
        sim.engine.settle(sim.cycle, P0, ss, sim.op(settlement_message(sim.cycle, P0, sid)), sim.rid("s"))
    # the event shape: exact fields in the terms
    with pytest.raises(InvalidArgument, match="maintenance"):
        ev.parse({"kind": "settle", "cycle": 1, "prices": P0, "request_id": "r", "op_sig": "00",
                  "scenario_set": {"version": 0, "matrix": MATRIX, "id": sid.hex(),
                                   "maintenance": {"num": 4, "den": 5}}})
    body = {"kind": "liquidate", "cycle": 1, "member": "A", "request_id": "r", "op_sig": "00"}
    assert ev.parse(body).to_body() == body


def test_parse_ratio():
    assert maintenance.parse_ratio("0.8") == (4, 5)
    assert maintenance.parse_ratio("1") == (1, 1)
    assert maintenance.parse_ratio("0.755") == (151, 200)
    for bad in ("0", "1.01", "-0.5", "0.1234567", "x", "", "nan", "inf", 0.8):
        with pytest.raises(InvalidArgument):
            maintenance.parse_ratio(bad)
    assert maintenance.penalty(50, 249_000_000) == 1_245_000
    assert maintenance.penalty(3, 3333) == 0  # floor


@pytest.mark.parametrize("variant", ["normal", "shortfall"])
def test_packaged_scenario_engine_equals_oracle(tmp_path, variant):
    """clearing/data/ccp-liquidation.json (``zkclear demo --scenario liquidation``):
    E is called at exactly its maintenance requirement and cures; A fails
    maintenance and is liquidated -- normal: it keeps a remainder, its penalty
    goes to the insurance fund; shortfall: the bad debt runs the waterfall
    from its df on.  Every public output equals the oracle's to the minor unit."""
    from clearing.ccp.oracle import run_oracle
    from clearing.demo.scenarios import load_named_scenario
    from support.engine import compare_with_oracle, run_scenario

    sc = load_named_scenario("liquidation")
    oracle = run_oracle(sc, variant)
    sim, days = run_scenario(tmp_path, sc, variant, seed=b"liq-scenario")
    compare_with_oracle(sim, days, oracle)
    ours = liquidations(sim.engine.state)
    assert ours == [{"member": r["member"], "cycle": r["day"] + 1, "penalty": r["penalty"],
                     "remainder": r["remainder"]} for r in oracle.liquidations]
    assert sim.engine.state.books["insurance_fund"] == oracle.ledger["insurance_fund_left"]
    if variant == "normal":
        assert ours == [{"member": "A", "cycle": 2, "penalty": 482_500, "remainder": 1_017_500}]
        assert sim.engine.default_reports() == [] and oracle.final["A"]["status"] == "active"
        assert sim.engine.state.books["insurance_fund"] == 400_000 + 482_500
    else:
        assert ours[0]["remainder"] < 0 and oracle.final["A"]["status"] == "defaulted"


def test_scenario_format_maintenance():
    import copy

    from clearing.ccp.scenario import ScenarioError, builtin_scenario, load_scenario, scenario_maintenance
    from clearing.demo.scenarios import load_named_scenario

    sc = load_named_scenario("liquidation")
    assert load_scenario(sc.to_dict()) == sc
    assert scenario_maintenance(sc) == {"num": 4, "den": 5, "penalty_bps": 50}
    assert scenario_maintenance(builtin_scenario()) is None
    assert "maintenance" not in builtin_scenario().to_dict()["margin_scenarios"]
    base = sc.to_dict()
    bad = [{"ratio": 0.8, "penalty_bps": 50}, {"ratio": "1.2", "penalty_bps": 50}, {"ratio": "0", "penalty_bps": 5},
           {"ratio": "0.1234567", "penalty_bps": 5}, {"ratio": "0.8", "penalty_bps": 10_001},
           {"ratio": "0.8"}, {"ratio": "0.8", "penalty_bps": 5, "x": 1}]
    for mm in bad:
        d = copy.deepcopy(base)
        d["margin_scenarios"]["maintenance"] = mm
        with pytest.raises(ScenarioError, match="maintenance"):
            load_scenario(d)
    d = copy.deepcopy(base)
    d["margin_scenarios"]["model"] = {"kind": "es", "k": 1}
    with pytest.raises(ScenarioError, match="scan model only"):
        load_scenario(d)


@pytest.mark.slow
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@example(ratio="0.8", bps=50, drop=3000, close=500)       # the packaged normal variant
@given(ratio=st.sampled_from(["0.5", "0.75", "0.8", "0.9", "1"]), bps=st.integers(0, 500),
       drop=st.integers(500, 6000), close=st.integers(0, 8000))
def test_generated_engine_equals_oracle(tmp_path_factory, ratio, bps, drop, close):
    """The packaged scenario with a generated ratio, penalty rate, day-1 drop
    and close-out gap: calls, cures, liquidations (remainder kept or bad
    debt), defaults and every public output of the engine equal the oracle's."""
    import dataclasses

    from clearing.ccp.oracle import run_oracle
    from clearing.ccp.scenario import Maintenance, Variant
    from clearing.demo.scenarios import load_named_scenario
    from support.engine import compare_with_oracle, run_scenario

    base = load_named_scenario("liquidation")
    num, den = maintenance.parse_ratio(ratio)
    p1 = 100_000 - drop
    v = Variant("gen", ((100_000, 50_000), (p1, 50_500), (p1 + 500, 50_200)), (p1 - close, 50_500))
    sc = dataclasses.replace(base, variants={"gen": v}, margin_scenarios=dataclasses.replace(
        base.margin_scenarios, maintenance=Maintenance(ratio, num, den, bps)))
    oracle = run_oracle(sc, "gen")
    sim, days = run_scenario(tmp_path_factory.mktemp("gen"), sc, "gen", seed=b"liq-gen")
    compare_with_oracle(sim, days, oracle)
    assert liquidations(sim.engine.state) == [
        {"member": r["member"], "cycle": r["day"] + 1, "penalty": r["penalty"], "remainder": r["remainder"]}
        for r in oracle.liquidations]
    assert sim.engine.state.books["insurance_fund"] == oracle.ledger["insurance_fund_left"]
