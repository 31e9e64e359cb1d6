"""More waterfall cases against the oracle: assessments pro rata (committed
payables, settled by tagged deposits); assessments capped with an uncovered
loss; two defaulters in one cycle; a survivor defaulting after an assessment
(cascade: its unpaid payable joins its own tranche 1, fewer than three
survivors -> individual disclosure)."""
from __future__ import annotations

import pytest

from clearing.oracle import run_oracle

from test_engine_oracle import compare
from test_engine_support import run_scenario, waterfall_scenario

CASES = {
    "assessments-pro-rata": (dict(drop=6000, extra=3000, dfs=[400_000, 500_000, 600_001], sitg1=1_000_000, sitg2=0),
                             lambda evs: not evs[0].assessments_capped and evs[0].assessment_residual > 0),
    "assessments-capped-uncovered": (dict(drop=6000, extra=3000, dfs=[50_000, 100_000, 100_000], sitg1=1_000_000,
                                          sitg2=0),
                                     lambda evs: evs[0].assessments_capped and evs[0].uncovered_loss > 0),
    "two-defaulters": (dict(drop=6000, extra=3000, dfs=[1_000_003, 2_000_001, 3_000_007], sitg1=1_000_000, sitg2=0,
                            defaulters=2),
                       lambda evs: len(evs[0].defaulters) == 2),
    "cascade": (dict(drop=6000, extra=3000, dfs=[400_000, 500_000, 600_001], sitg1=1_000_000, sitg2=0,
                     liquidity={"S1": 1000}),
                lambda evs: len(evs) == 2 and evs[1].defaulters[0].unpaid_assessment > 0
                and evs[1].disclosure_policy == "individual"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_waterfall_case(tmp_path, case):
    kw, reached = CASES[case]
    sc = waterfall_scenario(**kw)
    oracle = run_oracle(sc, "v")
    assert reached(oracle.default_events)
    sim, days = run_scenario(tmp_path, sc, "v", seed=case.encode())
    compare(sim, days, oracle)
