"""The plaintext oracle's expected shortfall (clearing/ccp/oracle_margin.py,
issue 13): exact against a brute-force Rockafellar-Uryasev minimisation over
every integer threshold t, in agreement with the rules' sort-and-add, and
used by the oracle's run (calls, cures, defaults, assessments from cash)."""
from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearing.ccp import oracle_margin as om
from clearing.ccp import rules
from clearing.ccp.oracle import run_oracle
from clearing.ccp.scenario import builtin_scenario, load_scenario, scenario_matrix

portfolios = st.integers(1, 4).flatmap(lambda n: st.tuples(
    st.lists(st.lists(st.integers(-60, 60), min_size=n, max_size=n), min_size=1, max_size=9),
    st.lists(st.integers(-7, 7), min_size=n, max_size=n)))


def brute_force_k_es(A, pos, k) -> int:
    """min over every integer t in [min L - 1, max L + 1] of k*t + sum max(0, L_s - t)."""
    losses = [-sum(a * q for a, q in zip(row, pos)) for row in A]
    return min(k * t + sum(max(0, L - t) for L in losses) for t in range(min(losses) - 1, max(losses) + 2))


@settings(max_examples=300, deadline=None)
@given(portfolios, st.data())
def test_oracle_es_is_the_ru_minimum_over_integer_t(p, data):
    A, pos = p
    k = data.draw(st.integers(1, len(A)))
    kes = om.k_times_es(A, pos, k)
    assert kes == brute_force_k_es(A, pos, k)
    losses = sorted((-sum(a * q for a, q in zip(r, pos)) for r in A), reverse=True)
    assert kes == sum(losses[:k])
    # requirement: ceil(kes / k) floored at 0, by exact rational comparison
    R = om.es_requirement(A, pos, k)
    assert R >= 0 and k * R >= kes and (R == 0 or k * (R - 1) < kes)
    # two implementations agree
    assert R == rules.es_requirement(A, pos, k)
    assert kes == rules.tail_sum(A, pos, k)


@settings(max_examples=100, deadline=None)
@given(portfolios)
def test_es_with_k_1_is_the_worst_loss_and_with_k_S_the_mean(p):
    A, pos = p
    losses = [-x for x in om.scenario_pnl(A, pos)]
    assert om.k_times_es(A, pos, 1) == max(losses)
    assert om.k_times_es(A, pos, len(A)) == sum(losses)
    # ES never exceeds the scan requirement over the same rows plus no move
    assert om.es_requirement(A, pos, 1) == max(0, max(losses)) == rules.requirement([[0] * len(pos), *A], pos)


def test_ties_and_rounding_by_hand():
    A = [[-3], [-3], [-3], [1]]        # losses 3, 3, 3, -1
    for k in (1, 2, 3):
        assert om.k_times_es(A, [1], k) == 3 * k and om.es_requirement(A, [1], k) == 3
    assert om.k_times_es(A, [1], 4) == 8 and om.es_requirement(A, [1], 4) == 2
    assert om.es_requirement([[-7], [0], [0]], [1], 2) == 4       # 7/2 = 3.5 rounds up
    assert om.es_requirement([[-7], [-1], [0]], [1], 3) == 3      # 8/3 = 2.67 rounds up
    assert om.es_requirement([[5], [3]], [1], 2) == 0             # all gains
    # the RU objective is minimal at t* = the k-th largest loss, larger on either side
    assert [om.ru_objective_k([3, 3, 3, -1], 2, t) for t in (2, 3, 4)] == [7, 6, 8]


@pytest.mark.parametrize("k", [0, 4, -1, True, 1.0])
def test_oracle_rejects_k_out_of_range(k):
    with pytest.raises(ValueError, match="k must be an integer"):
        om.k_times_es([[1], [2], [3]], [1], k)


def test_oracle_rejects_non_integers_and_shapes():
    with pytest.raises(TypeError, match="integers only"):
        om.scenario_pnl([[1.5]], [1])
    with pytest.raises(TypeError, match="integers only"):
        om.scenario_pnl([[1]], [True])
    with pytest.raises(ValueError, match="has 2 entries, positions have 1"):
        om.scenario_pnl([[1, 2]], [1])
    with pytest.raises(ValueError, match="no scenarios"):
        om.k_times_es([], [1], 1)


# -- the run -------------------------------------------------------------------------
def _es_demo(rows, k):
    d = builtin_scenario().to_dict()
    d["margin_scenarios"] = {"model": {"kind": "es", "k": k}, "pnl": rows}
    return load_scenario(d)


def test_oracle_run_uses_the_es_requirement():
    base = builtin_scenario()
    A = scenario_matrix(base)[1:]                 # the demo's 15 moves, no no-move row
    sc = _es_demo(A, 3)
    r = run_oracle(sc, "normal")
    for day in r.days:
        for m, pos in day.positions.items():
            assert day.requirement[m] == rules.es_requirement(A, list(pos.values()), 3)
        for c in day.calls:
            assert c.amount == day.requirement[c.member] - day.cash[c.member]
    # ES over the 3 worst of the demo's moves is below the scan's worst loss for somebody
    scan = run_oracle(base, "normal")
    assert any(r.days[0].requirement[m] < scan.days[0].requirement[m] for m in r.days[0].requirement)
    assert all(r.days[0].requirement[m] <= scan.days[0].requirement[m] for m in r.days[0].requirement)
    assert all(r.invariants.values())


def test_oracle_run_calls_under_es_that_the_scan_would_not():
    """One instrument; k = 2 of losses {0, 100, 100, 10000 * ...}: a member
    whose cash covers the scan of a mild set is called under an ES set with
    a heavier tail."""
    d = copy.deepcopy(builtin_scenario().to_dict())
    d["margin_scenarios"] = {"model": {"kind": "es", "k": 2},
                             "pnl": [[-3_000_000_000, 0, 0], [-3_000_000_000, 0, 0], [1, 0, 0]]}
    r = run_oracle(load_scenario(d), "normal")
    d0 = r.days[0]
    # A is long ESX (target position > 0): its ES is 3e9 per contract
    a_pos = d0.positions["A"]["ESX"]
    assert a_pos > 0 and d0.requirement["A"] == 3_000_000_000 * a_pos
    assert [c.member for c in d0.calls][:1] == ["A"]
