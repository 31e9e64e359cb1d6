"""The CCP rules (clearing.ccp.rules, written once for the fold) against the
plaintext oracle's own arithmetic (clearing.ccp.oracle), and the
independence that makes the engine-vs-oracle cross-check worth running.

(a) Property tests: on random integer inputs the rules and the oracle's
    helpers agree -- variation margin, close-out loss, requirement, the
    defaulter's own resources (``own_resources`` vs ``defaulter_tranches``)
    and the mutual tranches (``mutual_tranches`` on D0 vs
    ``mutual_waterfall`` on [D0] as one contribution, every public field;
    and on several contributions, the public totals before the pro-rata
    rounding).  Both reject the same malformed inputs.
(b) The cross-check can fail: a fold rule perturbed by one minor unit in
    one tranche, patched where the fold looks it up, runs through the
    in-process engine and prover without any internal alarm, and the
    engine-vs-oracle comparison used by tests/test_engine_oracle.py
    (support.engine.compare_with_oracle) then fails;
    unperturbed, the same run passes it.
(c) Imports: the oracle imports neither clearing.ccp.rules nor
    clearing.fold (its source, and sys.modules after importing it alone in
    a fresh interpreter); the scenario format imports neither the oracle
    nor the generator nor the rules.
"""
from __future__ import annotations

import ast
import dataclasses
import importlib
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import clearing.fold
from clearing.ccp import oracle, rules
from clearing.ccp.generate import generate_scenario
from support.engine import compare_with_oracle as compare
from support.engine import run_scenario

# ---------------------------------------------------------------------------
# (a) rules == the oracle's helpers on random inputs
# ---------------------------------------------------------------------------
EXAMPLES = settings(max_examples=300)    # pure integer arithmetic: microseconds per example

#: small values hit every branch (tranche boundaries, zero D0, zero cap); large ones the §4 bounds
amount = st.one_of(st.integers(0, 50), st.integers(0, 10**6), st.integers(0, 1 << 64))
signed = st.one_of(st.integers(-50, 50), st.integers(-(1 << 70), 1 << 70))
price = st.integers(1, (1 << 40) - 1)
mult = st.integers(1, (1 << 24) - 1)
position = st.one_of(st.integers(-100, 100), st.integers(-(1 << 52) + 1, (1 << 52) - 1))


@st.composite
def moves(draw):
    """(prices before, prices after, multipliers, positions) over n instruments."""
    n = draw(st.integers(0, 6))
    return tuple(draw(st.lists(s, min_size=n, max_size=n)) for s in (price, price, mult, position))


@st.composite
def portfolios(draw):
    """(S x I scenario matrix A, positions); S >= 1, |A| < 2^64."""
    n = draw(st.integers(0, 6))
    cell = st.one_of(st.integers(-1000, 1000), st.integers(-(1 << 64) + 1, (1 << 64) - 1))
    matrix = draw(st.lists(st.lists(cell, min_size=n, max_size=n), min_size=1, max_size=8))
    return matrix, draw(st.lists(position, min_size=n, max_size=n))


@EXAMPLES
@given(moves())
def test_variation_margin_agrees(m):
    assert rules.variation_margin(*m) == oracle.vm(*m)


@EXAMPLES
@given(moves())
def test_closeout_loss_agrees(m):
    assert rules.closeout_loss(*m) == oracle.closeout_loss(*m)


@EXAMPLES
@given(portfolios())
def test_requirement_agrees(p):
    matrix, positions = p
    assert rules.requirement(matrix, positions) == oracle.requirement(matrix, positions) >= 0


@EXAMPLES
@given(X=signed, cash=signed, df=amount, unpaid=amount)
def test_own_resources_agrees(X, cash, df, unpaid):
    ours = rules.own_resources(X, cash, df, unpaid)
    theirs = oracle.defaulter_tranches(X, cash, df, unpaid)
    assert dataclasses.asdict(ours) == dataclasses.asdict(theirs)


@EXAMPLES
@given(R=amount, D0=amount, sitg1=amount, sitg2=amount, cap=st.integers(0, (1 << 8) - 1))
def test_mutual_tranches_agree_on_one_contribution(R, D0, sitg1, sitg2, cap):
    """[D0] as the only contribution: no rounding, every public field equal."""
    ours = rules.mutual_tranches(R, D0, sitg1, sitg2, cap)
    theirs = oracle.mutual_waterfall(R, [D0], sitg1, sitg2, cap)
    assert theirs.rounding_residual == 0
    assert (ours.skin_in_the_game_1, ours.default_fund_in_full, ours.default_fund, ours.skin_in_the_game_2,
            ours.assessments_capped, ours.assessments, ours.uncovered_loss) == (
        theirs.skin_in_the_game_1, theirs.default_fund_in_full, theirs.survivors_default_fund,
        theirs.skin_in_the_game_2, theirs.assessments_capped, theirs.assessments, theirs.uncovered_loss)


@EXAMPLES
@given(R=amount, dfs=st.lists(amount, min_size=1, max_size=6), sitg1=amount, sitg2=amount,
       cap=st.integers(0, (1 << 8) - 1))
def test_mutual_tranches_depend_on_contributions_only_through_D0(R, dfs, sitg1, sitg2, cap):
    """Several survivors: the rules' totals on D0 = sum(dfs) are the oracle's
    totals before rounding (what the pro-rata proofs then split)."""
    ours = rules.mutual_tranches(R, sum(dfs), sitg1, sitg2, cap)
    theirs = oracle.mutual_waterfall(R, dfs, sitg1, sitg2, cap)
    assert ours.skin_in_the_game_1 == theirs.skin_in_the_game_1
    assert ours.default_fund_in_full == theirs.default_fund_in_full
    assert ours.default_fund == theirs.survivors_default_fund + theirs.default_fund_residual
    assert ours.skin_in_the_game_2 == theirs.skin_in_the_game_2
    assert ours.assessments_capped == theirs.assessments_capped
    assert ours.assessments == theirs.assessments + theirs.assessment_residual
    assert ours.uncovered_loss == theirs.uncovered_loss


def _oracle_mutual(R, D0, sitg1, sitg2, cap):
    return oracle.mutual_waterfall(R, [D0], sitg1, sitg2, cap)


@pytest.mark.parametrize("ours, theirs, args", [
    (rules.variation_margin, oracle.vm, ([1, 2], [1], [1], [1])),
    (rules.closeout_loss, oracle.closeout_loss, ([1], [1], [1, 2], [1])),
    (rules.requirement, oracle.requirement, ([[1, 2], [3]], [1, 1])),
    (rules.requirement, oracle.requirement, ([], [])),
    (rules.own_resources, oracle.defaulter_tranches, (5, 5, -1)),
    (rules.own_resources, oracle.defaulter_tranches, (5, 5, 1, -1)),
    (rules.mutual_tranches, _oracle_mutual, (-1, 5, 0, 0, 1)),
    (rules.mutual_tranches, _oracle_mutual, (5, 5, -1, 0, 1)),
    (rules.mutual_tranches, _oracle_mutual, (5, 5, 0, 0, -1)),
], ids=["vm-lengths", "closeout-lengths", "row-length", "no-scenario", "negative-df", "negative-unpaid",
        "negative-R", "negative-sitg", "negative-cap"])
def test_rules_and_oracle_reject_the_same_inputs(ours, theirs, args):
    with pytest.raises(ValueError):
        ours(*args)
    with pytest.raises(ValueError):
        theirs(*args)


# ---------------------------------------------------------------------------
# (b) a perturbed fold rule makes the engine-vs-oracle cross-check fail
# ---------------------------------------------------------------------------
def _patch_fold(monkeypatch, name: str, fake) -> list[str]:
    """Replace the rule ``name`` wherever a clearing.fold module looks it up
    (its module globals, bound by ``from clearing.ccp.rules import ...``);
    returns the patched modules."""
    real = getattr(rules, name)
    patched = []
    for info in pkgutil.walk_packages(clearing.fold.__path__, "clearing.fold."):
        mod = importlib.import_module(info.name)
        if getattr(mod, name, None) is real:
            monkeypatch.setattr(mod, name, fake)
            patched.append(info.name)
    assert patched, f"no clearing.fold module looks up clearing.ccp.rules.{name}"
    return patched


def _sitg1_one_short(R, D0, sitg1, sitg2, cap):
    """SITG 1 takes one minor unit less than it should; tranche 4 takes it."""
    mt = rules.mutual_tranches(R, D0, sitg1, sitg2, cap)
    assert mt.skin_in_the_game_1 > 0 and not mt.default_fund_in_full, "the perturbation would not show"
    return dataclasses.replace(mt, skin_in_the_game_1=mt.skin_in_the_game_1 - 1,
                               default_fund=mt.default_fund + 1)


def _own_df_one_short(X, cash, df, unpaid=0):
    """The defaulter's own df (tranche 2) takes one minor unit less; its
    estate keeps it and the residual to the mutual tranches grows by one."""
    t = rules.own_resources(X, cash, df, unpaid)
    assert t.defaulter_default_fund > 0, "the perturbation would not show"
    return dataclasses.replace(t, defaulter_default_fund=t.defaulter_default_fund - 1, residual=t.residual + 1,
                               estate_surplus=t.estate_surplus + 1)


PERTURBATIONS = {
    # rule, fake, (tranche, engine minus oracle)
    "sitg1-one-short": ("mutual_tranches", _sitg1_one_short, ("skin_in_the_game_1", -1)),
    "own-df-one-short": ("own_resources", _own_df_one_short, ("defaulter_default_fund", -1)),
}


@pytest.fixture(scope="module")
def generated():
    """3 members, the last day a crash: M01 defaults with negative cash, its
    own df is used up, SITG 1 in full, the survivors' fund pro rata."""
    sc = generate_scenario(members=3, instruments=2, scenarios=4, cycles=2, seed=0)
    return sc, oracle.run_oracle(sc, "normal")


def test_unperturbed_engine_passes_the_cross_check(tmp_path, generated):
    sc, expected = generated
    sim, days = run_scenario(tmp_path, sc, "normal")
    compare(sim, days, expected)          # raises AssertionError on any difference


@pytest.mark.parametrize("name", sorted(PERTURBATIONS))
def test_perturbed_rule_fails_the_cross_check(tmp_path, monkeypatch, generated, name):
    rule, fake, (tranche, delta) = PERTURBATIONS[name]
    sc, expected = generated
    _patch_fold(monkeypatch, rule, fake)      # today clearing.fold.default
    # the engine and the prover replay the perturbed fold consistently: no alarm, no internal identity fails
    sim, days = run_scenario(tmp_path, sc, "normal")
    sim.engine.check_invariants()
    (report,) = sim.engine.default_reports()
    (event,) = expected.default_events
    got = {t["tranche"]: t["amount"] for t in report["waterfall"]}
    assert got[tranche] - event.tranche(tranche) == delta
    assert sum(got.values()) + report["rounding_residual"] + report["uncovered_loss"] == report["loss"]
    # ... and only the comparison with the oracle's independent arithmetic catches it
    with pytest.raises(AssertionError):
        compare(sim, days, expected)


# ---------------------------------------------------------------------------
# (c) the oracle does not import the rules or the fold
# ---------------------------------------------------------------------------
CCP = Path(rules.__file__).resolve().parent


def _imported_modules(path: Path) -> set[str]:
    """Every module named by an import statement in ``path`` (at any depth,
    lazy imports included); relative imports resolved inside clearing.ccp."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = ("clearing.ccp." if node.level else "") + (node.module or "")
            names.add(base.rstrip("."))
            names.update(f"{base.rstrip('.')}.{a.name}" for a in node.names)
    return names


def _loaded_after_import(module: str) -> set[str]:
    """The clearing modules loaded by importing ``module`` alone in a fresh interpreter."""
    code = ("import json, sys, importlib; importlib.import_module(sys.argv[1]); "
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'clearing')))")
    out = subprocess.run([sys.executable, "-c", code, module], capture_output=True, text=True, timeout=60,
                         check=True)
    return set(json.loads(out.stdout))


def _forbidden(names: set[str], prefixes: tuple[str, ...]) -> set[str]:
    return {n for n in names if any(n == p or n.startswith(p + ".") for p in prefixes)}


def test_oracle_source_imports_neither_rules_nor_fold():
    names = _imported_modules(CCP / "oracle.py")
    assert "clearing.ccp.scenario" in names          # the parser sees the imports it should
    assert _forbidden(names, ("clearing.ccp.rules", "clearing.fold")) == set()
    # of the house, only the scenario format (``from clearing.ccp.scenario import X`` names it and each X)
    # and its own margin-model module (the expected-shortfall requirement, issue 13)
    # and its own waterfall extension (insurance fund, VM gains haircut, gross loss: issue 14)
    waterfall = {f"clearing.ccp.oracle_waterfall.{x}" for x in (
        "CoolingOff", "collateral_consumed", "cooling_off_limit", "cooling_off_window", "draw_insurance_fund",
        "limit_assessments", "vm_gains_haircut")}
    # and its own maintenance liquidation (issue 14 §2)
    waterfall |= {f"clearing.ccp.oracle_liquidation.{x}" for x in ("liquidate_if_due", "liquidations", "reactivate")}
    # and its own pre-trade limit (issue 14 §1: ``from clearing.ccp import oracle_pretrade as pt``)
    assert {"clearing.ccp", "clearing.ccp.oracle_pretrade"} <= names
    assert {n for n in names if n.split(".")[0] == "clearing"} - {"clearing.ccp", "clearing.ccp.oracle_pretrade",
                                                                  "clearing.ccp.scenario",
                                                                  "clearing.ccp.oracle_margin",
                                                                  "clearing.ccp.oracle_waterfall",
                                                                  "clearing.ccp.oracle_liquidation"} == {
        f"clearing.ccp.scenario.{x}" for x in ("Scenario", "ScenarioError", "grid_deposit", "load_scenario",
                                               "scenario_matrix")} | {
        f"clearing.ccp.oracle_margin.{x}" for x in ("integers", "requirement", "requirement_rule", "scenario_pnl")} \
        | waterfall
    assert _forbidden(_imported_modules(CCP / "oracle_waterfall.py"), ("clearing", "prover", "zkp")) == set()
    assert _forbidden(_imported_modules(CCP / "oracle_liquidation.py"), ("clearing", "prover", "zkp")) == set()
    # the pre-trade module: only the oracle's own error, imported lazily (no cycle at import time)
    assert _forbidden(_imported_modules(CCP / "oracle_pretrade.py"), ("clearing", "prover", "zkp")) == {
        "clearing.ccp.oracle", "clearing.ccp.oracle.OracleError"}
    margin = _imported_modules(CCP / "oracle_margin.py")
    assert {n for n in margin if n.split(".")[0] == "clearing"} == {
        "clearing.ccp.scenario", "clearing.ccp.scenario.MODEL_ES", "clearing.ccp.scenario.Scenario"}


def test_oracle_loads_neither_rules_nor_fold():
    loaded = _loaded_after_import("clearing.ccp.oracle")
    assert "clearing.ccp.oracle" in loaded and "clearing.ccp.scenario" in loaded
    assert _forbidden(loaded, ("clearing.ccp.rules", "clearing.ccp.generate", "clearing.fold")) == set()
    # nothing the oracle module holds comes from the rules or the fold
    foreign = {k for k, v in vars(oracle).items()
               if (getattr(v, "__module__", None) or "").startswith(("clearing.ccp.rules", "clearing.fold"))}
    assert foreign == set()


def test_scenario_format_imports_neither_oracle_nor_generator_nor_rules():
    names = _imported_modules(CCP / "scenario.py")
    # of the house only its strict readers (clearing/ccp/strict.py), which import nothing of the house
    assert {n for n in names if n.split(".")[0] == "clearing"} == {"clearing.ccp.strict"} | {
        f"clearing.ccp.strict.{x}" for x in ("ScenarioError", "parse_json", "read_int", "read_list", "read_obj",
                                             "read_str", "type_name")}
    assert _forbidden(_imported_modules(CCP / "strict.py"), ("clearing",)) == set()
    loaded = _loaded_after_import("clearing.ccp.scenario")
    assert _forbidden(loaded, ("clearing.ccp.oracle", "clearing.ccp.generate", "clearing.ccp.rules",
                               "clearing.fold")) == set()


def test_rules_import_nothing_of_the_house():
    assert _forbidden(_imported_modules(CCP / "rules.py"), ("clearing", "prover", "zkp")) == set()
