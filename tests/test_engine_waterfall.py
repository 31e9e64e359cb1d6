"""Waterfall cases, each run through the engine and compared with the
plaintext oracle (every tranche, residual, uncovered loss, liquidity line,
the prover's openings of the final state): loss covered by the defaulter;
reaching skin in the game; survivors' fund partly used (pro rata, rounding);
survivors' fund fully used."""
from __future__ import annotations

import pytest

from clearing.oracle import run_oracle

from test_engine_oracle import compare
from test_engine_support import run_scenario, waterfall_scenario

CASES = {
    "covered-by-defaulter": (dict(drop=1000, extra=2000, dfs=[1_000_000] * 3, sitg1=5_000_000, sitg2=0),
                             lambda ev: ev.tranche("defaulter_margin") == ev.loss > 0),
    "reaches-sitg1": (dict(drop=6000, extra=3000, dfs=[1_000_000] * 3, sitg1=5_000_000, sitg2=0),
                      lambda ev: ev.tranche("skin_in_the_game_1") > 0 and ev.tranche("survivors_default_fund") == 0),
    "survivors-fund-pro-rata": (dict(drop=6000, extra=3000, dfs=[1_000_003, 2_000_001, 3_000_007], sitg1=1_000_000,
                                     sitg2=0),
                                lambda ev: not ev.survivors_default_fund_in_full and ev.default_fund_residual > 0),
    "survivors-fund-full": (dict(drop=6000, extra=3000, dfs=[400_000, 500_000, 600_000], sitg1=1_000_000,
                                 sitg2=1_000_000),
                            lambda ev: ev.survivors_default_fund_in_full and ev.tranche("skin_in_the_game_2") > 0
                            and ev.tranche("assessments") == 0),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_waterfall_case(tmp_path, case):
    kw, reached = CASES[case]
    sc = waterfall_scenario(**kw)
    oracle = run_oracle(sc, "v")
    assert len(oracle.default_events) >= 1 and reached(oracle.default_events[0])
    sim, days = run_scenario(tmp_path, sc, "v", seed=case.encode())
    compare(sim, days, oracle)
