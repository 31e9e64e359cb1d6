"""Scenario file: loading, strict validation, the packaged demo, the generator."""
import copy
import json
from pathlib import Path

import pytest

from clearing.ccp.generate import GENERATED_DEPOSIT_GRID, generate_scenario
from clearing.ccp.oracle import run_oracle
from clearing.ccp.scenario import (
    ScenarioError,
    builtin_scenario,
    grid_deposit,
    load_scenario,
    parse_json,
    scenario_matrix,
)

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "scenarios" / "ccp-demo.json"


@pytest.fixture
def raw():
    return builtin_scenario().to_dict()


def test_builtin_loads_with_real_contract_terms():
    sc = builtin_scenario()
    assert sc.name == "ccp-demo"
    assert sc.instrument_ids == ("ESX", "NQX", "RTX")
    assert sc.member_ids == ("A", "B", "C", "D", "E", "F")
    assert len(sc.margin_scenarios.shocks) == 16
    assert set(sc.variants) == {"normal", "harsh"}
    assert all(v.days == 5 for v in sc.variants.values())
    assert len(sc.trades) == 16 and [t.day for t in sc.trades].count(2) == 1
    # Units: price unit = 0.01 index point, multiplier = cents per price unit
    # (numerically USD per point).  ESX at 5000.00 points x $50 = $250,000 a
    # contract = 25,000,000 cents; a 1-point move is $50 = 5,000 cents.
    esx = sc.instruments[0]
    assert esx.price0 * esx.multiplier == 250_000 * 100
    assert 100 * esx.multiplier == 50 * 100
    nqx = sc.instruments[1]
    assert nqx.price0 * nqx.multiplier == 17_500 * 20 * 100
    # ticks: 0.25, 0.25, 0.10 points
    assert [i.tick for i in sc.instruments] == [25, 25, 10]


def test_packaged_copy_matches_shared_file():
    if not SHARED.exists():
        pytest.skip(f"{SHARED} is absent: this checkout has no shared/ beside it (CI copies one there)")
    assert load_scenario(SHARED) == builtin_scenario()
    assert json.loads(SHARED.read_text()) == json.loads(
        (Path(__file__).resolve().parents[1] / "clearing" / "data" / "ccp-demo.json").read_text())


def test_round_trip_dict_json_and_path(raw, tmp_path):
    sc = builtin_scenario()
    assert load_scenario(raw) == sc
    assert load_scenario(parse_json(sc.to_json())) == sc
    p = tmp_path / "s.json"
    p.write_text(sc.to_json())
    assert load_scenario(p) == sc
    assert load_scenario(str(p)) == sc


def test_scenario_matrix():
    sc = builtin_scenario()
    A = scenario_matrix(sc)
    assert len(A) == 16 and all(len(r) == 3 for r in A)
    assert A[0] == [0, 0, 0]
    assert A[1] == [8325 * 50, 32075 * 20, 4670 * 50]
    assert A[6] == [-25000 * 50, -96250 * 20, -14000 * 50]
    assert all(isinstance(x, int) for r in A for x in r)


# -- strict JSON ------------------------------------------------------------------
@pytest.mark.parametrize("text, msg", [
    ('{"a": 1.0}', "floats are not allowed"),
    ('{"a": 1e3}', "floats are not allowed"),
    ('{"a": NaN}', "NaN is not allowed"),
    ('{"a": 1, "a": 2}', "duplicate key"),
    ('{"a": ', "invalid JSON"),
])
def test_parse_json_is_strict(text, msg):
    with pytest.raises(ScenarioError, match=msg):
        parse_json(text)


def test_unreadable_path(tmp_path):
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(tmp_path / "missing.json")
    with pytest.raises(ScenarioError, match="path or a dict"):
        load_scenario(42)


# -- validation negatives ---------------------------------------------------------------
def _set(d, path, value):
    *head, last = path
    for k in head:
        d = d[k]
    d[last] = value


NEGATIVES = [
    # (path, value, expected message fragment)
    (("members", 0, "cash"), 4300000000.0, r"members\[0\]\.cash: expected an integer, got float"),
    (("members", 1, "liquidity"), True, r"members\[1\]\.liquidity: expected an integer, got bool"),
    (("members", 2, "default_fund"), "465262892", r"members\[2\]\.default_fund: expected an integer, got str"),
    (("members", 0, "cash"), 1 << 63, r"members\[0\]\.cash: .* outside \[0, 9223372036854775808\)"),
    (("members", 0, "cash"), -1, r"members\[0\]\.cash: -1 is outside"),
    (("ccp", "skin_in_the_game_1"), 1 << 63, r"ccp\.skin_in_the_game_1"),
    (("ccp", "assessment_cap_multiple"), 1.5, r"ccp\.assessment_cap_multiple: expected an integer"),
    (("instruments", 0, "multiplier"), 0, r"instruments\[0\]\.multiplier: 0 is outside \[1, 16777216\)"),
    (("instruments", 0, "multiplier"), 1 << 24, r"instruments\[0\]\.multiplier"),
    (("instruments", 0, "price0"), 0, r"instruments\[0\]\.price0: 0 is outside"),
    (("instruments", 0, "price0"), 1 << 40, r"instruments\[0\]\.price0: .* outside"),
    (("instruments", 0, "price0"), 500010, r"instruments\[0\]\.price0: price 500010 is not a multiple of the tick 25"),
    (("trades", 15, "price"), 499010, r"trades\[15\]\.price: price 499010 is not a multiple of the tick 25"),
    (("variants", "normal", "settlement_prices", 3, 2), 194421, r"settlement_prices\[3\]\[2\]: price 194421 is not a multiple of the tick 10"),
    (("variants", "harsh", "close_out_prices", 1), 1287070, r"close_out_prices\[1\]: price 1287070 is not a multiple"),
    (("trades", 0, "quantity"), 0, r"trades\[0\]\.quantity: 0 is outside \[1, 4294967296\)"),
    (("trades", 0, "quantity"), 1 << 32, r"trades\[0\]\.quantity"),
    (("trades", 0, "quantity"), 301, r"members\[0\]\.target_positions: .* differ from the net of its day-0 trades"),
    (("members", 3, "target_positions"), [-700, -100, -1201], r"members\[3\]\.target_positions"),
    (("members", 3, "target_positions"), [-700, -100], r"members\[3\]\.target_positions: expected 3 entries, got 2"),
    (("margin_scenarios", "shocks", 4), [1, 2], r"margin_scenarios\.shocks\[4\]: expected 3 entries, got 2"),
    (("margin_scenarios", "shocks", 0), [25, 0, 0], r"scenario 0 must be 'no move'"),
    (("margin_scenarios", "shocks", 5, 0), 25025, r"shocks\[5\]\[0\]: \|shock\| 25025 exceeds the scan range 25000 of ESX"),
    (("margin_scenarios", "shocks", 5, 0), 1 << 40, r"shocks\[5\]\[0\]: .* outside"),
    (("margin_scenarios", "shocks", 5, 0), 25000.0, r"shocks\[5\]\[0\]: expected an integer, got float"),
    (("variants", "normal", "settlement_prices", 2), [497975, 1742900], r"settlement_prices\[2\]: expected 3 entries"),
    (("variants", "normal", "close_out_prices"), [1, 2, 3, 4], r"close_out_prices: expected 3 entries, got 4"),
    (("variants", "normal", "settlement_prices", 0, 0), 500025, r"day 0 settles at price0 = 500000"),
    (("trades", 15, "day"), 5, r"trades\[15\]\.day: day 5 is beyond the last day of variant\(s\) \['normal', 'harsh'\]"),
    (("trades", 15, "day"), True, r"trades\[15\]\.day: expected an integer, got bool"),
    (("trades", 15, "buyer"), "Z", r"trades\[15\]\.buyer: unknown member 'Z'"),
    (("trades", 15, "seller"), "C", r"trades\[15\]: buyer and seller are the same member 'C'"),
    (("trades", 15, "instrument"), "SPX", r"trades\[15\]\.instrument: unknown instrument 'SPX'"),
    (("members", 1, "id"), "A", r"members\[1\]\.id: duplicate member id 'A'"),
    (("instruments", 2, "id"), "ESX", r"instruments\[2\]\.id: duplicate instrument id 'ESX'"),
    (("instruments", 2, "tick"), 0, r"instruments\[2\]\.tick: 0 is outside"),
    (("members", 0, "surplus"), 1, r"members\[0\]: unknown field\(s\) surplus"),
    (("variants",), {}, r"variants: at least one variant is required"),
    (("trades",), {}, r"trades: expected a list"),
    (("ccp", "assessment_cap_multiple"), 256, r"ccp\.assessment_cap_multiple: 256 is outside \[0, 256\)"),
    (("ccp", "deposit_grid"), 0, r"ccp\.deposit_grid: 0 is outside \[1, 9223372036854775808\)"),
    (("ccp", "deposit_grid"), -100, r"ccp\.deposit_grid: -100 is outside"),
    (("ccp", "deposit_grid"), 1 << 63, r"ccp\.deposit_grid: .* outside"),
    (("ccp", "deposit_grid"), 1e8, r"ccp\.deposit_grid: expected an integer, got float"),
    (("ccp", "deposit_grid"), "100000000", r"ccp\.deposit_grid: expected an integer, got str"),
    (("ccp", "deposit_grid"), True, r"ccp\.deposit_grid: expected an integer, got bool"),
    (("ccp", "deposit_grids"), 1, r"ccp: unknown field\(s\) deposit_grids"),
]


@pytest.mark.parametrize("path, value, msg", NEGATIVES, ids=[f"{'.'.join(map(str, p))}={v!r}"[:60] for p, v, _ in NEGATIVES])
def test_validation_rejects(raw, path, value, msg):
    bad = copy.deepcopy(raw)
    _set(bad, path, value)
    with pytest.raises(ScenarioError, match=msg):
        load_scenario(bad)


def test_missing_field(raw):
    bad = copy.deepcopy(raw)
    del bad["members"][4]["liquidity"]
    with pytest.raises(ScenarioError, match=r"members\[4\]: missing field\(s\) liquidity"):
        load_scenario(bad)
    bad = copy.deepcopy(raw)
    del bad["ccp"]
    with pytest.raises(ScenarioError, match=r"scenario: missing field\(s\) ccp"):
        load_scenario(bad)


def test_deposit_grid_of_the_demo_and_its_default(raw):
    assert builtin_scenario().ccp.deposit_grid == 10**8 == raw["ccp"]["deposit_grid"]
    # a file written before the field existed still loads, with exact deposits (grid 1)
    old = copy.deepcopy(raw)
    del old["ccp"]["deposit_grid"]
    sc = load_scenario(old)
    assert sc.ccp.deposit_grid == 1
    assert sc.to_dict()["ccp"]["deposit_grid"] == 1 and load_scenario(sc.to_dict()) == sc
    edge = copy.deepcopy(raw)
    edge["ccp"]["deposit_grid"] = (1 << 63) - 1
    assert load_scenario(edge).ccp.deposit_grid == (1 << 63) - 1


@pytest.mark.parametrize("amount, liquidity, grid, deposit", [
    (855_200_000, 1_000_000_000, 10**8, 900_000_000), (1, 10**9, 10**8, 10**8), (10**8, 10**9, 10**8, 10**8),
    (10**8 + 1, 10**9, 10**8, 2 * 10**8), (950, 990, 100, 990), (0, 5, 7, 0), (7, 7, 1, 7), (7, 7, 10**8, 7),
])
def test_grid_deposit(amount, liquidity, grid, deposit):
    assert grid_deposit(amount, liquidity, grid) == deposit
    assert amount <= deposit <= liquidity


@pytest.mark.parametrize("args", [(8, 7, 1), (1, 7, 0), (-1, 7, 1), (1, 7, 1.0), (True, 7, 1)])
def test_grid_deposit_rejects(args):
    with pytest.raises(ValueError, match="grid_deposit"):
        grid_deposit(*args)


def test_assessment_cap_times_contribution_bounded(raw):
    bad = copy.deepcopy(raw)
    bad["ccp"]["assessment_cap_multiple"] = 4
    bad["members"][0]["default_fund"] = 1 << 62      # 4 * 2^62 = 2^64: a charge no range proof can show
    with pytest.raises(ScenarioError, match=r"members\[0\]\.default_fund: assessment_cap_multiple \* default_fund"):
        load_scenario(bad)
    bad["members"][0]["default_fund"] = (1 << 62) - 1
    load_scenario(bad)


def test_float_in_file_rejected(tmp_path):
    text = builtin_scenario().to_json().replace('"cash": 800000000', '"cash": 800000000.0')
    assert "800000000.0" in text
    p = tmp_path / "f.json"
    p.write_text(text)
    with pytest.raises(ScenarioError, match="floats are not allowed"):
        load_scenario(p)


# -- generator -----------------------------------------------------------------------
GEN_CASES = [(3, 1, 2, 2, 0), (3, 1, 2, 2, 7), (3, 2, 3, 1, 1), (4, 2, 5, 3, 11), (6, 3, 16, 4, 2024),
             (8, 4, 24, 5, 5), (12, 2, 8, 3, 99)]


@pytest.mark.parametrize("members, instruments, scenarios, cycles, seed", GEN_CASES)
def test_generated_scenario_ends_in_a_default_reaching_tranche_4(members, instruments, scenarios, cycles, seed):
    sc = generate_scenario(members, instruments, scenarios, cycles, seed)
    assert load_scenario(parse_json(sc.to_json())) == sc        # a valid file, ints only
    assert len(sc.members) == members and len(sc.instruments) == instruments
    assert len(sc.margin_scenarios.shocks) == scenarios
    assert sc.ccp.deposit_grid == GENERATED_DEPOSIT_GRID == 10**8
    assert sc.to_dict()["ccp"]["deposit_grid"] == GENERATED_DEPOSIT_GRID
    assert "rounded up to a multiple of ccp.deposit_grid" in sc.rules
    (v,) = sc.variants.values()
    assert v.days == cycles + 1
    r = run_oracle(sc, v.name)
    assert all(r.invariants.values())
    assert r.default_events, "no default"
    last = cycles
    # nobody is called before the crash day, and the crash day ends in a default
    assert all(not d.calls for d in r.days[:last])
    ev = r.default_events[0]
    assert ev.day == last
    used = ev.tranche("survivors_default_fund")
    assert 0 < used < ev.D0                                     # tranche 4 partly consumed
    assert not ev.survivors_default_fund_in_full
    assert used + ev.default_fund_residual == ev.R - ev.tranche("skin_in_the_game_1")
    assert 0 <= ev.default_fund_residual < len(ev.survivors)
    assert ev.tranche("assessments") == 0 and ev.uncovered_loss == 0
    assert r.disclosure_policy == ("individual" if members - len(r.defaulted) < 3 else "aggregate")


def test_generator_is_deterministic_and_seed_sensitive():
    a = generate_scenario(5, 3, 10, 3, 42)
    assert a == generate_scenario(5, 3, 10, 3, 42)
    assert a.to_json() == generate_scenario(5, 3, 10, 3, 42).to_json()
    assert a != generate_scenario(5, 3, 10, 3, 43)


def test_generator_shocks_are_span_like():
    sc = generate_scenario(4, 3, 12, 2, 3)
    scans = [i.scan_range for i in sc.instruments]
    sh = sc.margin_scenarios.shocks
    assert sh[0] == (0, 0, 0)
    assert list(sh[1]) == [-s for s in scans] and list(sh[2]) == scans     # uniform full range down / up
    assert all(abs(x) <= s for row in sh for x, s in zip(row, scans))
    for ins in sc.instruments:
        assert ins.price0 % ins.tick == 0 and ins.scan_range % ins.tick == 0


@pytest.mark.parametrize("args, msg", [
    ((2, 1, 2, 2, 0), "members"), ((3, 0, 2, 2, 0), "instruments"), ((3, 1, 1, 2, 0), "scenarios"),
    ((3, 1, 2, 0, 0), "cycles"), ((3, 1, 2, 2, 1.5), "seed"), ((3.0, 1, 2, 2, 0), "members"),
])
def test_generator_rejects_bad_arguments(args, msg):
    with pytest.raises(ScenarioError, match=msg):
        generate_scenario(*args)
