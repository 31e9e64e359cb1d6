"""``zkclear demo --scenario liquidation`` (issue 14 §2) over processes: E is
called at exactly its maintenance requirement and cures, A fails maintenance
and is liquidated at once -- normal: its penalty flows into the insurance
fund and it keeps a positive remainder (no default, no default report);
shortfall (slow): its bad debt runs the waterfall from its default fund on.
The report's ``liquidations`` and every compared public output equal the
oracle's; the summary names the liquidation.  Also the report rows'
cross-check catching a mismatch."""
from __future__ import annotations

import json
import subprocess
import sys
from types import SimpleNamespace

import pytest

from clearing.ccp.oracle import run_oracle
from clearing.demo.liquidations import liquidation_outputs
from clearing.demo.scenarios import load_named_scenario


def _demo(tmp_path, variant):
    out = tmp_path / "out"
    p = subprocess.run([sys.executable, "-m", "clearing.cli", "demo", "--scenario", "liquidation", "--variant",
                        variant, "--out", str(out), "--quiet"], capture_output=True, text=True, timeout=1800)
    report = json.loads((out / "report.json").read_text())
    assert p.returncode == 0 and report["ok"], p.stdout[-3000:] + p.stderr[-3000:]
    assert report["oracle"]["mismatches"] == []
    return p, report


def test_liquidation_demo_normal(tmp_path):
    p, report = _demo(tmp_path, "normal")
    assert report["liquidations"] == [{"member": "A", "cycle": 2, "penalty": 482_500, "remainder": 1_017_500}]
    assert report["defaults"] == [] and report["default_reports"] == []
    assert [d["cures"] for d in report["days"]] == [[], [["E", 100_000]], []]
    assert "Liquidation of A in cycle 2: penalty 482,500 into the insurance fund; it keeps a remainder" in p.stdout
    html = (tmp_path / "out" / "report.html").read_text()
    assert "Liquidations (failed maintenance)" in html and "1,017,500" in html


@pytest.mark.slow
def test_liquidation_demo_shortfall(tmp_path):
    p, report = _demo(tmp_path, "shortfall")
    assert report["liquidations"] == [{"member": "A", "cycle": 2, "penalty": 450_000, "remainder": -5_450_000}]
    assert report["defaults"] == [{"member": "A", "cycle": 2}]
    tranches = {w["tranche"]: w["amount"] for w in report["waterfall"]}
    assert tranches["defaulter_default_fund"] == 500_000 and tranches["insurance_fund"] == 400_000 + 450_000
    assert "leaves bad debt of 5,450,000" in p.stdout


def test_outputs_cross_check_catches_a_mismatch():
    sc = load_named_scenario("liquidation")
    oracle = run_oracle(sc, "normal")
    row = {"member": "A", "cycle": 2, "penalty": 482_500, "remainder": 1_017_500}
    books = {"liquidations": [row]}
    run = SimpleNamespace(ledger=SimpleNamespace(core=SimpleNamespace(state=SimpleNamespace(books=books))),
                          days=[{"day": d, "cycle": d + 1} for d in range(3)], oracle=oracle)
    assert liquidation_outputs(run) == ([row], [])
    books["liquidations"] = [dict(row, penalty=482_499)]
    rows, bad = liquidation_outputs(run)
    assert bad and "liquidations" in bad[0]
