"""``zkclear demo --scenario pretrade`` (issue 14 §1) over processes: on day 1
E's trade d1-3 is refused for lack of pre-trade headroom (a prover-signed
refusal on the ledger), E deposits its shortfall rounded up to the grid and
the trade novates; on day 2 an intraday run at operator-signed marks calls
A, who cures, and the day's trade is debited at the mark.  The report's
``pretrade_refusals``, the cure deposits, the intraday run and every
compared public output equal the oracle's; the summary and the HTML name
them.  Also the cross-check catching a mismatch."""
from __future__ import annotations

import json
import subprocess
import sys
from types import SimpleNamespace

from clearing.ccp.oracle import run_oracle
from clearing.demo.pretrade import pretrade_outputs
from clearing.demo.scenarios import load_named_scenario


def test_pretrade_demo(tmp_path):
    out = tmp_path / "out"
    p = subprocess.run([sys.executable, "-m", "clearing.cli", "demo", "--scenario", "pretrade", "--out", str(out),
                        "--quiet"], capture_output=True, text=True, timeout=1800)
    report = json.loads((out / "report.json").read_text())
    assert p.returncode == 0 and report["ok"], p.stdout[-3000:] + p.stderr[-3000:]
    assert report["oracle"]["mismatches"] == []
    assert report["pretrade_refusals"] == [{"member": "E", "trade_id": "d1-3"}]
    assert [d.get("pretrade_cures", []) for d in report["days"]] == [
        [], [{"member": "E", "trade_id": "d1-3", "deposit": 100_000}], []]
    assert report["days"][1]["booked"] == ["d1-3", "d1-4"] and report["days"][1]["refused"] == []
    assert report["days"][2]["intraday"] == {"marks": [97_050, 50_200], "cures": [["A", 100_000]], "results": {
        "A": "call", "B": "pass", "C": "pass", "D": "pass", "E": "pass"}}
    assert report["defaults"] == [] and report["loss"] == 0
    assert "Pre-trade refusal of trade d1-3: E lacked headroom" in p.stdout
    assert "pre-trade refusal (prover-signed): trade d1-3, short side E" in p.stdout
    assert "intraday run 1 at marks BTCF 97050, ETHF 50200: A call" in p.stdout
    assert "Pre-trade refusals (headroom exhausted)" in (out / "report.html").read_text()


def test_outputs_cross_check_catches_a_mismatch():
    sc = load_named_scenario("pretrade")
    oracle = run_oracle(sc, "normal")
    rows = [{"member": "E", "trade_id": "d1-3"}]
    days = [{"day": 0}, {"day": 1, "pretrade_cures": [{"member": "E", "trade_id": "d1-3", "deposit": 100_000}]},
            {"day": 2, "intraday": {"marks": [97_050, 50_200], "results": dict(oracle.intraday[0]["results"]),
                                    "cures": [["A", 100_000]]}}]

    def run(books, days):
        return SimpleNamespace(sc=sc, ledger=SimpleNamespace(core=SimpleNamespace(state=SimpleNamespace(
            books=books))), days=days, oracle=oracle)

    assert pretrade_outputs(run({"pretrade_refusals": rows}, days)) == (rows, [])
    _, bad = pretrade_outputs(run({"pretrade_refusals": [{"member": "C", "trade_id": "d1-3"}]}, days))
    assert bad and bad[0].startswith("pretrade_refusals")
    days[1] = {"day": 1, "pretrade_cures": [{"member": "E", "trade_id": "d1-3", "deposit": 200_000}]}
    _, bad = pretrade_outputs(run({"pretrade_refusals": rows}, days))
    assert bad == [bad[0]] and bad[0].startswith("pretrade cures")
