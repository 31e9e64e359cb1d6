"""Waterfall cases, each run through the engine and compared with the
plaintext oracle (every tranche, residual, uncovered loss, liquidity line,
the prover's openings of the final state).  This file: the cases needing no
pro-rata proof -- loss covered by the defaulter's margin; reaching skin in
the game 1; survivors' fund fully used and SITG 2 reached; assessments capped
with an uncovered loss (tranches 4 and 6 in full, computed homomorphically)."""
from __future__ import annotations

import pytest

from clearing.ccp.oracle import run_oracle
from support.engine import compare_with_oracle, run_scenario, waterfall_scenario

CASES = {
    "covered-by-defaulter": (dict(drop=1000, extra=2000, dfs=[1_000_000] * 3, sitg1=5_000_000, sitg2=0),
                             lambda evs: evs[0].tranche("defaulter_margin") == evs[0].loss > 0),
    "reaches-sitg1": (dict(drop=6000, extra=3000, dfs=[1_000_000] * 3, sitg1=5_000_000, sitg2=0),
                      lambda evs: evs[0].tranche("skin_in_the_game_1") > 0
                      and evs[0].tranche("survivors_default_fund") == 0),
    "survivors-fund-full": (dict(drop=6000, extra=3000, dfs=[400_000, 500_000, 600_000], sitg1=1_000_000,
                                 sitg2=1_000_000),
                            lambda evs: evs[0].survivors_default_fund_in_full
                            and evs[0].tranche("skin_in_the_game_2") > 0 and evs[0].tranche("assessments") == 0),
    "assessments-capped-uncovered": (dict(drop=6000, extra=3000, dfs=[50_000, 100_000, 100_000], sitg1=1_000_000,
                                          sitg2=0),
                                     # tranche 8 (issue 14) now takes what the capped assessments leave
                                     lambda evs: evs[0].assessments_capped
                                     and evs[0].tranche("vm_gains_haircut") > 0),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_waterfall_case(tmp_path, case):
    kw, reached = CASES[case]
    sc = waterfall_scenario(**kw)
    oracle = run_oracle(sc, "v")
    assert reached(oracle.default_events)
    sim, days = run_scenario(tmp_path, sc, "v", seed=case.encode())
    compare_with_oracle(sim, days, oracle)
