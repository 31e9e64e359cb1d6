"""Historical-simulation ES scenario sets (clearing/ccp/historical.py) and
``zkclear scenario historical``: the CSV path on a small fixture computed by
hand, strict parsing, the seeded synthetic history (deterministic, integer,
fat-tailed), the ES variant of a scenario file, and the command line."""
from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

import pytest

from clearing import cli
from clearing.ccp import rules
from clearing.ccp.historical import (
    HistoricalError,
    dumps_set,
    es_demo_scenario,
    historical_set,
    parse_prices,
    read_multipliers,
    read_prices,
    synthetic_history,
    synthetic_instruments,
    with_es_margin,
)
from clearing.ccp.scenario import builtin_scenario, load_scenario, parse_json, scenario_matrix

FIXTURE = Path(__file__).resolve().parent / "data" / "historical-prices.csv"
HAND = [  # window 5, 2-day moves of the fixture, (P[t+2] - P[t]) * (50, 20), oldest first
    [-300000, -140000], [-98750, -401000], [350000, 200000], [-376250, -799500], [-537500, -770000]]


def test_fixture_by_hand():
    hist = read_prices(FIXTURE, {"NQX": 20})
    assert hist.ids == ("ESX", "NQX") and hist.multipliers == (50, 20) and len(hist.prices) == 8
    hs = historical_set(hist, 5, 2, "0.6")
    assert [list(r) for r in hs.pnl] == HAND
    assert hs.k == 2 and (hs.first_date, hs.last_date) == ("2024-03-04", "2024-03-12")
    # long one of each: losses 440000, 499750, -550000, 1175750, 1307500 -> tail of 2 = 2483250
    assert rules.tail_sum(HAND, [1, 1], 2) == 2483250 and rules.es_requirement(HAND, [1, 1], 2) == 1241625
    # a shorter window takes the most recent moves
    assert [list(r) for r in historical_set(hist, 2, 2, "0.5").pnl] == HAND[-2:]
    assert [list(r) for r in historical_set(hist, 1, 6, "0.5").pnl] == [[(491250 - 501000) * 50,
                                                                          (1712500 - 1748000) * 20]]


def test_fixture_as_a_scenario_set_and_section():
    hs = historical_set(read_prices(FIXTURE, {"NQX": 20}), 5, 2, "0.6")
    s = parse_json(dumps_set(hs.scenario_set(7)))
    assert s["version"] == 7 and s["instruments"] == ["ESX", "NQX"] and s["matrix"] == HAND
    assert s["model"] == {"kind": "es", "k": 2} and s["alpha"] == "0.6"
    ms = parse_json(dumps_set(hs.margin_scenarios()))
    assert ms["model"] == {"kind": "es", "k": 2, "alpha": "0.6"} and ms["pnl"] == HAND


def test_multipliers_from_a_file(tmp_path):
    f = tmp_path / "m.json"
    f.write_text('{"NQX": 20, "ESX": 50}')
    assert read_multipliers(f) == {"NQX": 20, "ESX": 50}
    sc_file = tmp_path / "sc.json"
    sc_file.write_text(builtin_scenario().to_json())
    assert read_multipliers(sc_file) == {"ESX": 50, "NQX": 20, "RTX": 50}
    for bad in ('{"NQX": 20.0}', '{"NQX": 0}', '{"NQX": "20"}', "[20]", f'{{"NQX": {1 << 24}}}'):
        f.write_text(bad)
        with pytest.raises(HistoricalError):
            read_multipliers(f)


def test_missing_multiplier_is_refused():
    with pytest.raises(HistoricalError, match=r"no multiplier for contract.* NQX"):
        historical_set(read_prices(FIXTURE), 5, 2, "0.6")


BAD_FILES = [
    ("", "no header line"),
    ("day,A*1\n2024-01-01,5\n", "the header is 'date'"),
    ("date\n2024-01-01\n", "the header is 'date'"),
    ("date,A*1,A*2\n", "duplicate contract id 'A'"),
    ("date,*5\n", "a contract id of 1..64"),
    ("date,A*0\n", r"multiplier '0' is not an integer"),
    ("date,A*1.5\n", r"multiplier '1.5' is not an integer"),
    ("date,A*1\n2024-01-01,5,6\n", "line 2: expected 2 cells, got 3"),
    ("date,A*1\n2024-13-01,5\n", "is not a date"),
    ("date,A*1\n01/02/2024,5\n", "is not a date"),
    ("date,A*1\n2024-01-02,5\n2024-01-02,6\n", "dates must increase strictly"),
    ("date,A*1\n2024-01-02,5\n2024-01-01,6\n", "dates must increase strictly"),
    ("date,A*1\n2024-01-01,5.25\n", "not a positive integer price"),
    ("date,A*1\n2024-01-01,5e3\n", "not a positive integer price"),
    ("date,A*1\n2024-01-01,0\n", "not a positive integer price"),
    ("date,A*1\n2024-01-01,-5\n", "not a positive integer price"),
    ("date,A*1\n2024-01-01,\n", "not a positive integer price"),
    ("date,A*1\n2024-01-01,NaN\n", "not a positive integer price"),
    (f"date,A*1\n2024-01-01,{1 << 40}\n", "not below 2"),
]


@pytest.mark.parametrize("text, msg", BAD_FILES, ids=[m[:30] for _, m in BAD_FILES])
def test_price_file_is_strict(text, msg):
    with pytest.raises(HistoricalError, match=msg):
        parse_prices(text)


def test_unreadable_price_file(tmp_path):
    with pytest.raises(HistoricalError, match="cannot read price file"):
        read_prices(tmp_path / "missing.csv")


@pytest.mark.parametrize("window, h, alpha, msg", [
    (7, 2, "0.9", "8 price rows cannot give 7 overlapping 2-day moves"),
    (0, 2, "0.9", "window must be"), (2049, 2, "0.9", "window must be"), (2, 0, "0.9", "holding days"),
    (2, 1, "1.0", "alpha"), (2, 1, 0.9, "alpha"), (True, 1, "0.9", "window must be"),
])
def test_set_parameters_are_checked(window, h, alpha, msg):
    with pytest.raises(HistoricalError, match=msg):
        historical_set(read_prices(FIXTURE, {"NQX": 20}), window, h, alpha)


# -- the synthetic history ---------------------------------------------------------------
def test_synthetic_history_is_deterministic_and_on_the_grid():
    ins = synthetic_instruments(4, seed=3)
    a, b = synthetic_history(ins, 300, 11), synthetic_history(ins, 300, 11)
    assert a == b and a.to_csv() == b.to_csv()
    assert synthetic_history(ins, 300, 12) != a
    assert synthetic_instruments(4, seed=3) == ins and synthetic_instruments(4, seed=4) != ins
    assert a.prices[0] == tuple(i.price0 for i in ins)
    for row in a.prices:
        for p, i in zip(row, ins):
            assert isinstance(p, int) and p > 0 and p % i.tick == 0
    assert len(set(a.dates)) == 300 and list(a.dates) == sorted(a.dates)
    # the CSV written round-trips through the strict reader
    assert parse_prices(a.to_csv()) == a


def test_synthetic_returns_are_fat_tailed_and_clustered():
    ins = synthetic_instruments(1, seed=1)
    h = synthetic_history(ins, 4000, 5)
    r = [math.log(h.prices[t + 1][0] / h.prices[t][0]) for t in range(len(h.prices) - 1)]
    mu, sd = statistics.fmean(r), statistics.pstdev(r)
    kurt = statistics.fmean([((x - mu) / sd) ** 4 for x in r])
    assert kurt > 4.5                     # a normal has 3
    a = [abs(x) for x in r]
    am = statistics.fmean(a)
    acf = sum((a[t] - am) * (a[t + 1] - am) for t in range(len(a) - 1)) / sum((x - am) ** 2 for x in a)
    assert acf > 0.05                     # volatility clustering: |r| is autocorrelated


def test_es_variant_of_the_demo():
    sc = builtin_scenario()
    es = es_demo_scenario(sc, window=500)
    assert es.margin_scenarios.count == 500 and es.margin_scenarios.model.k == 13
    assert es.margin_scenarios.model.alpha == "0.975" and es.name == "ccp-demo-es"
    assert es.instruments == sc.instruments and es.members == sc.members and es.variants == sc.variants
    assert "expected shortfall" in es.rules and "rounded up" in es.rules and "ties" in es.rules
    assert load_scenario(es.to_dict()) == es
    assert es_demo_scenario(sc, window=500) == es          # seeded
    hist = synthetic_history(sc.instruments, 100, 1)
    with pytest.raises(HistoricalError, match="not the scenario's instruments"):
        with_es_margin(sc, historical_set(synthetic_history(synthetic_instruments(3, 1), 100, 1), 50, 2, "0.9"))
    assert scenario_matrix(with_es_margin(sc, historical_set(hist, 50, 2, "0.9")))[0] == [
        (hist.prices[50][i] - hist.prices[48][i]) * sc.instruments[i].multiplier for i in range(3)]


def test_es_demo_tells_the_scan_story_with_other_amounts():
    """The built-in demo under its ES set: the same members called, the same
    kinds of call and the same default as under the scan, for other amounts."""
    from clearing.ccp.oracle import run_oracle

    sc = builtin_scenario()
    for variant in ("normal", "harsh"):
        scan, es = run_oracle(sc, variant), run_oracle(es_demo_scenario(sc), variant)
        assert [[(c.member, c.kind) for c in d.calls] for d in es.days] == [
            [(c.member, c.kind) for c in d.calls] for d in scan.days]
        assert es.defaulted == scan.defaulted and es.invariants == scan.invariants
        assert es.days[3].requirement != scan.days[3].requirement


# -- the command line ----------------------------------------------------------------------
def test_cli_csv_to_set(tmp_path, capsys):
    mult = tmp_path / "m.json"
    mult.write_text('{"NQX": 20}')
    out = tmp_path / "set.json"
    assert cli.main(["scenario", "historical", "--prices", str(FIXTURE), "--multipliers", str(mult),
                     "--window", "5", "--holding-days", "2", "--alpha", "0.6", "--out", str(out)]) == 0
    assert "5 scenarios x 2 contracts" in capsys.readouterr().out
    s = parse_json(out.read_text())
    assert s["matrix"] == HAND and s["model"] == {"kind": "es", "k": 2}


def test_cli_synthetic_scenario_file(tmp_path, capsys):
    base = tmp_path / "base.json"
    base.write_text(builtin_scenario().to_json())
    prices = tmp_path / "p.csv"
    assert cli.main(["scenario", "historical", "--synthetic", "--scenario", str(base), "--window", "100",
                     "--seed", "4", "--format", "scenario", "--write-prices", str(prices)]) == 0
    sc = load_scenario(parse_json(capsys.readouterr().out))
    assert sc.margin_scenarios.model.k == 3 and sc.margin_scenarios.count == 100
    assert len(read_prices(prices).prices) == 102
    assert cli.main(["scenario", "historical", "--synthetic", "--instruments", "3", "--days", "60", "--window",
                     "50", "--format", "margin-scenarios"]) == 0
    ms = json.loads(capsys.readouterr().out)
    assert len(ms["pnl"]) == 50 and ms["model"]["k"] == 1


@pytest.mark.parametrize("argv, code, msg", [
    (["--synthetic", "--window", "5"], 2, "exactly one of --instruments N or --scenario"),
    (["--prices", "x.csv", "--instruments", "3"], 2, "go with --synthetic"),
    (["--synthetic", "--instruments", "3", "--format", "scenario"], 2, "--format scenario needs --scenario"),
    (["--synthetic", "--instruments", "3", "--alpha", "0.0"], 2, "--alpha"),
    (["--synthetic", "--instruments", "3", "--alpha", "0.97.5"], 2, "--alpha"),
    (["--synthetic", "--instruments", "3", "--window", "2049"], 2, "--window"),
    (["--synthetic", "--instruments", "3", "--window", "100", "--days", "50"], 1, "50 price rows cannot give"),
    (["--prices", "/nonexistent/p.csv"], 1, "cannot read price file"),
    (["--prices", "x", "--synthetic"], 2, "not allowed with"),
])
def test_cli_errors_are_one_line(argv, code, msg, capsys):
    assert cli.main(["scenario", "historical", *argv]) == code
    err = capsys.readouterr().err
    assert msg in err and err.count("\n") == 1
