"""The in-process engine harness itself (support.engine): it boots a clearing
house, admits and funds members, and the prover's witness store agrees with
the engine's public accounts."""
from __future__ import annotations

from support.engine import basic_sim


def test_harness_boots_and_funds(tmp_path):
    sim = basic_sim(tmp_path, members=("A", "B"))
    assert sim.witness.balances("A") == {"cash": 10**9, "df": 10**7, "pos": [0, 0]}
    for mid, acct in sim.accounts().items():
        sim.witness.check(mid, acct)
    assert sim.engine.state.flows["deposits"] == 2 * (10**9 + 10**7)
    sim.engine.check_invariants()
