"""Waterfall cases with pro-rata proofs, against the oracle: two defaulters in
one cycle whose summed residual uses the survivors' fund partly (pro rata,
with a rounding residual absorbed by the CCP); and assessments pro rata
(committed payables settled from hidden cash or by tagged deposits rounded
up to the deposit grid) where one survivor cannot pay
and defaults in turn (cascade: its unpaid payable joins its own tranche 1;
fewer than three survivors -> individual disclosure); that run also drops
and reopens the engine between every two events, through both default
events, and must see identical state, chain head, digests and reports."""
from __future__ import annotations

import pytest

from clearing.ccp.oracle import run_oracle
from support.engine import compare_with_oracle, run_scenario, waterfall_scenario

CASES = {
    "two-defaulters-pro-rata": (dict(drop=6000, extra=3000, dfs=[1_000_003, 2_000_001, 3_000_007], sitg1=1_000_000,
                                     sitg2=0, defaulters=2),
                                lambda evs: len(evs[0].defaulters) == 2 and not evs[0].survivors_default_fund_in_full
                                and evs[0].default_fund_residual > 0),
    "assessment-pro-rata-cascade": (dict(drop=6000, extra=3000, dfs=[400_000, 500_000, 600_001], sitg1=1_000_000,
                                         sitg2=0, liquidity={"S1": 1000}, weak=("S1", "S3"), grid=100_000),
                                    lambda evs: len(evs) == 2 and not evs[0].assessments_capped
                                    and evs[0].assessment_residual > 0 and evs[0].assessments_paid
                                    and evs[1].defaulters[0].unpaid_assessment > 0
                                    and evs[1].disclosure_policy == "individual"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_waterfall_case(tmp_path, case):
    kw, reached = CASES[case]
    sc = waterfall_scenario(**kw)
    oracle = run_oracle(sc, "v")
    assert reached(oracle.default_events)
    # the cascade also restarts the engine between every two events
    sim, days = run_scenario(tmp_path, sc, "v", seed=case.encode(), reopen_every_step="cascade" in case)
    compare_with_oracle(sim, days, oracle)
