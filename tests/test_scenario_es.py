"""The scenario format's margin model (issue 13): the optional
``margin_scenarios.model``, P&L rows given directly (``pnl``), the tail count
k from alpha, the raised limits, and the rules' ES requirement."""
from __future__ import annotations

import copy
import json
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearing.ccp import rules
from clearing.ccp.scenario import (
    MAX_INSTRUMENTS,
    MAX_SCENARIOS,
    PNL_BOUND,
    MarginModel,
    ScenarioError,
    builtin_scenario,
    load_scenario,
    parse_json,
    scenario_matrix,
    scenario_model,
    tail_count,
)

PACKAGED = Path(__file__).resolve().parents[1] / "clearing" / "data" / "ccp-demo.json"


@pytest.fixture
def raw():
    return builtin_scenario().to_dict()


def _es(raw, rows, k, alpha=None):
    d = copy.deepcopy(raw)
    model = {"kind": "es", "k": k}
    if alpha is not None:
        model["alpha"] = alpha
    d["margin_scenarios"] = {"model": model, "pnl": rows}
    return d


ROWS = [[-1000, 20, 3], [5000, -40, 0], [7, 7, 7], [-1, -2, -3]]


def test_default_model_is_scan_and_the_demo_file_is_unchanged(raw):
    sc = builtin_scenario()
    assert sc.margin_scenarios.model == MarginModel() and scenario_model(sc) == {"kind": "scan"}
    assert "model" not in raw["margin_scenarios"] and "pnl" not in raw["margin_scenarios"]
    # the packaged file still loads and round-trips without gaining a field
    assert json.loads(sc.to_json()) == json.loads(PACKAGED.read_text())
    # an explicit scan model is the same scenario
    d = copy.deepcopy(raw)
    d["margin_scenarios"]["model"] = {"kind": "scan"}
    assert load_scenario(d) == sc


def test_es_set_loads_round_trips_and_gives_its_matrix(raw):
    sc = load_scenario(_es(raw, ROWS, 2))
    assert sc.margin_scenarios.model == MarginModel("es", 2, "")
    assert scenario_model(sc) == {"kind": "es", "k": 2}
    assert scenario_matrix(sc) == ROWS and sc.margin_scenarios.count == 4
    assert load_scenario(sc.to_dict()) == sc
    assert load_scenario(parse_json(sc.to_json())) == sc
    assert sc.to_dict()["margin_scenarios"]["model"] == {"kind": "es", "k": 2}
    # no mandatory no-move row under ES; the solvency row is cash >= 0
    assert any(ROWS[0])


def test_es_with_alpha_checks_k(raw):
    rows = [[s - 20, 0, s] for s in range(40)]
    sc = load_scenario(_es(raw, rows, 1, "0.975"))          # 40 * 0.025 = 1
    assert sc.margin_scenarios.model == MarginModel("es", 1, "0.975")
    assert load_scenario(sc.to_dict()) == sc
    with pytest.raises(ScenarioError, match=r"model\.k: 2 tail scenarios do not match alpha 0\.975 over 40"):
        load_scenario(_es(raw, rows, 2, "0.975"))


def test_shocks_with_es_model(raw):
    d = copy.deepcopy(raw)
    d["margin_scenarios"]["shocks"] = d["margin_scenarios"]["shocks"][1:]       # no no-move row needed
    d["margin_scenarios"]["model"] = {"kind": "es", "k": 3}
    sc = load_scenario(d)
    mults = sc.multipliers
    assert scenario_matrix(sc) == [[x * mults[i] for i, x in enumerate(r)] for r in d["margin_scenarios"]["shocks"]]
    # the same rows under the scan model must start with no move
    del d["margin_scenarios"]["model"]
    with pytest.raises(ScenarioError, match=r"shocks\[0\]: scenario 0 must be 'no move'"):
        load_scenario(d)


def test_pnl_under_scan_needs_the_no_move_row(raw):
    d = copy.deepcopy(raw)
    d["margin_scenarios"] = {"pnl": [[0, 0, 0], [1, 2, 3]]}
    assert scenario_matrix(load_scenario(d)) == [[0, 0, 0], [1, 2, 3]]
    d["margin_scenarios"] = {"pnl": [[1, 2, 3]]}
    with pytest.raises(ScenarioError, match=r"pnl\[0\]: scenario 0 must be 'no move'"):
        load_scenario(d)


BAD_MODELS = [
    ({"kind": "var", "k": 1}, r"model\.kind: expected \"scan\" or \"es\""),
    ({"k": 1}, r"model\.kind: expected"),
    ("es", r"model: expected an object, got str"),
    ({"kind": "es"}, r"model: missing field\(s\) k"),
    ({"kind": "es", "k": 0}, r"model\.k: 0 is outside \[1, 5\)"),
    ({"kind": "es", "k": 5}, r"model\.k: 5 is outside \[1, 5\)"),
    ({"kind": "es", "k": -1}, r"model\.k: -1 is outside"),
    ({"kind": "es", "k": 2.0}, r"model\.k: expected an integer, got float"),
    ({"kind": "es", "k": True}, r"model\.k: expected an integer, got bool"),
    ({"kind": "es", "k": "2"}, r"model\.k: expected an integer, got str"),
    ({"kind": "es", "k": 1, "alpha": 0.975}, r"model\.alpha: expected a decimal string"),
    ({"kind": "es", "k": 1, "alpha": "1.0"}, r"model\.alpha: expected a decimal string"),
    ({"kind": "es", "k": 1, "alpha": "0.0"}, r"model\.alpha: alpha must be > 0"),
    ({"kind": "es", "k": 1, "alpha": ".975"}, r"model\.alpha: expected a decimal string"),
    ({"kind": "es", "k": 1, "alpha": "0.9e1"}, r"model\.alpha: expected a decimal string"),
    ({"kind": "es", "k": 1, "alpha": "0." + "9" * 19}, r"model\.alpha: expected a decimal string"),
    ({"kind": "es", "k": 1, "tail": 3}, r"model: unknown field\(s\) tail"),
    ({"kind": "scan", "k": 1}, r"model: unknown field\(s\) k"),
]


@pytest.mark.parametrize("model, msg", BAD_MODELS, ids=[repr(m)[:50] for m, _ in BAD_MODELS])
def test_bad_models_are_rejected(raw, model, msg):
    d = _es(raw, ROWS, 1)
    d["margin_scenarios"]["model"] = model
    with pytest.raises(ScenarioError, match=msg):
        load_scenario(d)


BAD_ROWS = [
    ([[1, 2]], r"pnl\[0\]: expected 3 entries, got 2"),
    ([[1, 2, 3], [1, 2, 3, 4]], r"pnl\[1\]: expected 3 entries, got 4"),
    ([[1, 2, 3.0]], r"pnl\[0\]\[2\]: expected an integer, got float"),
    ([[1, True, 3]], r"pnl\[0\]\[1\]: expected an integer, got bool"),
    ([[1, "2", 3]], r"pnl\[0\]\[1\]: expected an integer, got str"),
    ([[PNL_BOUND, 0, 0]], r"pnl\[0\]\[0\]: .* outside"),
    ([[0, -PNL_BOUND, 0]], r"pnl\[0\]\[1\]: .* outside"),
    ([], r"margin_scenarios\.pnl: expected at least 1 entries, got 0"),
    ("rows", r"margin_scenarios\.pnl: expected a list"),
    ([[1, 2, 3]] * (MAX_SCENARIOS + 1), r"margin_scenarios\.pnl: at most 2048 entries allowed, got 2049"),
]


@pytest.mark.parametrize("rows, msg", BAD_ROWS, ids=[m[:40] for _, m in BAD_ROWS])
def test_bad_pnl_rows_are_rejected(raw, rows, msg):
    with pytest.raises(ScenarioError, match=msg):
        load_scenario(_es(raw, rows, 1))


def test_extreme_pnl_entries_load(raw):
    rows = [[PNL_BOUND - 1, -PNL_BOUND + 1, 0]]
    assert scenario_matrix(load_scenario(_es(raw, rows, 1))) == rows


def test_exactly_one_of_shocks_and_pnl(raw):
    d = _es(raw, ROWS, 1)
    d["margin_scenarios"]["shocks"] = raw["margin_scenarios"]["shocks"]
    with pytest.raises(ScenarioError, match="exactly one of shocks"):
        load_scenario(d)
    del d["margin_scenarios"]["shocks"], d["margin_scenarios"]["pnl"]
    with pytest.raises(ScenarioError, match="exactly one of shocks"):
        load_scenario(d)
    d["margin_scenarios"]["prices"] = []
    with pytest.raises(ScenarioError, match=r"margin_scenarios: unknown field\(s\) prices"):
        load_scenario(d)


def test_floats_in_a_file_are_rejected_before_the_loader(raw):
    text = json.dumps(_es(raw, ROWS, 1)).replace('"k": 1', '"k": 1.0')
    with pytest.raises(ScenarioError, match="floats are not allowed"):
        parse_json(text)


def test_limits_equal_the_statement_limits():
    from zkp import statements

    assert (MAX_SCENARIOS, MAX_INSTRUMENTS) == (2048, 4096)
    assert (statements.MAX_SCENARIOS, statements.MAX_INSTRUMENTS) == (MAX_SCENARIOS, MAX_INSTRUMENTS)


@pytest.mark.parametrize("S, alpha, k", [
    (1000, "0.975", 25), (1000, "0.99", 10), (500, "0.975", 13), (500, "0.99", 5), (2048, "0.975", 51),
    (40, "0.975", 1), (100, "0.999", 1), (3, "0.5", 2), (1, "0.5", 1), (4, "0.000000000000000001", 4),
    (250, "0.998", 1), (250, "0.994", 2), (200, "0.9975", 1),
])
def test_tail_count(S, alpha, k):
    assert tail_count(S, alpha) == k


@given(st.integers(1, 4096), st.integers(1, 10**6 - 1))
def test_tail_count_is_round_half_up_of_the_exact_product(S, millis):
    alpha = f"0.{millis:06d}"
    x = S * (1 - Fraction(millis, 10**6))
    lower = x - Fraction(1, 2)
    k = tail_count(S, alpha)
    assert 1 <= k <= S
    assert k == 1 or lower <= k < lower + 1


@pytest.mark.parametrize("S, alpha", [(0, "0.9"), (True, "0.9"), (10, 0.9), (10, "1"), (10, "0.")])
def test_tail_count_rejects(S, alpha):
    with pytest.raises(ScenarioError):
        tail_count(S, alpha)


# -- the rules' ES requirement ------------------------------------------------------
def test_rules_es_requirement_by_hand():
    A = [[-10], [-30], [20], [-30], [5]]      # pos 1: losses 10, 30, -20, 30, -5
    assert rules.tail_sum(A, [1], 1) == 30
    assert rules.tail_sum(A, [1], 2) == 60                 # a tie: either 30 gives the same sum
    assert rules.tail_sum(A, [1], 3) == 70
    assert rules.es_requirement(A, [1], 3) == 24           # ceil(70 / 3) = 24, rounded up
    assert rules.tail_sum(A, [1], 5) == 45 and rules.es_requirement(A, [1], 5) == 9
    assert rules.es_requirement(A, [-1], 1) == 20
    assert rules.es_requirement(A, [-1], 5) == 0           # an all-gain mean: floored at 0
    assert rules.tail_sum(A, [-1], 5) == -45
    assert rules.es_requirement(A, [0], 2) == 0
    assert rules.margin_requirement(A, [1], {"kind": "es", "k": 3}) == 24
    assert rules.margin_requirement([[0], *A], [1]) == 30 == rules.margin_requirement([[0], *A], [1],
                                                                                      {"kind": "scan"})


@pytest.mark.parametrize("k", [0, 6, -1, True, 2.0])
def test_rules_reject_k_out_of_range(k):
    with pytest.raises(ValueError, match="k must be an integer"):
        rules.es_requirement([[1]] * 5, [1], k)


def test_rules_reject_unknown_model_and_shapes():
    with pytest.raises(ValueError, match="unknown margin model"):
        rules.margin_requirement([[0]], [1], {"kind": "var"})
    with pytest.raises(ValueError, match="differ in length"):
        rules.tail_sum([[1, 2]], [1], 1)
    with pytest.raises(ValueError, match="no scenarios"):
        rules.tail_sum([], [1], 1)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(-10**6, 10**6), min_size=2, max_size=2), min_size=1, max_size=12),
       st.lists(st.integers(-50, 50), min_size=2, max_size=2), st.data())
def test_cash_covers_es_iff_k_cash_covers_the_tail(A, pos, data):
    k = data.draw(st.integers(1, len(A)))
    top = rules.tail_sum(A, pos, k)
    R = rules.es_requirement(A, pos, k)
    for cash in (R - 1, R, R + 1, 0):
        if cash >= 0:
            assert (cash >= R) == (k * cash >= top)
