"""``zkclear demo`` end to end: every node, every member and the auditor as
its own process over mutual TLS, through the built-in scenario (both
variants) and a small generated one.  Checked: the exit status, the report's
keys and accounting identity, the oracle's expected numbers, the chart
(parses as XML, one bar per tranche with the exact amounts) and the HTML
(well-formed), and that no child process or listening port survives the
demo -- after a normal end and when it is interrupted with SIGINT/SIGTERM.
Plus fast unit tests of the report and the oracle cross-check that must
catch a broken identity or a mismatching public output."""
from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from clearing.ccp.generate import generate_scenario
from clearing.ccp.oracle import run_oracle
from clearing.ccp.scenario import builtin_scenario
from clearing.demo.report import assemble_report, report_html, waterfall_svg
from clearing.demo.run import check_invariants, compare_with_oracle
from support.demo import BARS, SVG_NS, check_report, demo, group_members, listening, pid_gone


def test_builtin_normal(tmp_path):
    p, report = demo(tmp_path)
    check_report(tmp_path, p, report)
    assert (report["members"], report["instruments"], report["cycles"]) == (6, 3, 5)
    assert report["defaults"] == [{"member": "A", "cycle": 5}]
    assert report["loss"] == 4_956_350_000          # cures are padded to the deposit grid (tests/test_oracle.py)
    assert [w["amount"] for w in report["waterfall"]] == [0, 3_363_510_276, 0, 500_000_000, 1_092_839_721, 0, 0, 0]
    assert (report["rounding_residual"], report["uncovered_loss"]) == (3, 0)
    # the day-0 and day-2 trades went through the member processes
    assert [len(d["booked"]) for d in report["days"]] == [15, 0, 1, 0, 0]
    assert "What the clearing node knew" in p.stdout and "Default event 0" in p.stdout


def test_builtin_harsh(tmp_path):
    """Not marked slow: about as long as ``normal`` (the first four days are
    the same; the crash day has one more default event and assessments)."""
    p, report = demo(tmp_path, "--variant", "harsh")
    check_report(tmp_path, p, report)
    assert sorted(d["member"] for d in report["defaults"]) == ["A", "B"]
    amounts = {w["tranche"]: w["amount"] for w in report["waterfall"]}
    assert amounts["assessments"] == 4_306_125_000
    assert report["rounding_residual"] == 2 and report["uncovered_loss"] == 0


def test_generated_small(tmp_path):
    args = ["--generate", "--members", "3", "--instruments", "2", "--scenarios", "4", "--cycles", "2", "--seed", "0"]
    p, report = demo(tmp_path, *args)
    check_report(tmp_path, p, report)
    assert (report["members"], report["instruments"], report["cycles"]) == (3, 2, 3)
    assert {w["tranche"]: w["amount"] for w in report["waterfall"]}["survivors_default_fund"] > 0


def test_assessment_cascade_scenario_file_and_a_taken_port(tmp_path, monkeypatch, capsys):
    """A survivor with neither the excess cash nor the liquidity for its
    assessment (weak S1) defaults in turn; S2 and S3 settle from cash:
    a second default event in the same cycle (a --scenario file).  Run in
    this process, with the first ports the demo picks taken by someone else
    before the nodes bind them: it starts the nodes again on other ports."""
    from types import SimpleNamespace

    from clearing.demo import run as D
    from support.engine import waterfall_scenario

    sc = waterfall_scenario(drop=20000, extra=5000, dfs=[1_000_000, 2_000_000, 3_000_000], sitg1=500_000,
                            sitg2=500_000, cap=2, liquidity={"S1": 0}, weak=("S1",))
    path = tmp_path / "cascade.json"
    path.write_text(sc.to_json())
    real, bases, squatters = D.free_port_base, [], []

    def first_ones_taken(count=3):
        base = real(count)
        if not bases:
            for k in range(count):
                s = socket.socket()
                s.bind(("127.0.0.1", base + k))
                s.listen()
                squatters.append(s)
        bases.append(base)
        return base
    monkeypatch.setattr(D, "free_port_base", first_ones_taken)
    try:
        report = D.run_demo(D.DemoOptions(scenario=str(path), variant="v", out=tmp_path / "out",
                                          json_path=tmp_path / "copy.json"))
    finally:
        for s in squatters:
            s.close()
    out = capsys.readouterr().out
    assert len(bases) == 2 and "starting the nodes again on other ports" in out
    assert json.loads((tmp_path / "copy.json").read_text()) == report
    p = SimpleNamespace(returncode=0 if report["ok"] else 1, stdout=out, stderr="")
    check_report(tmp_path, p, report)
    assert report["defaults"] == [{"member": "D1", "cycle": 2}, {"member": "S1", "cycle": 2}]
    assert len(report["default_reports"]) == 2
    assert {w["tranche"]: w["amount"] for w in report["waterfall"]}["assessments"] == 12_000_000
    assert "cannot pay its assessment" in p.stdout and "assessment settled from its hidden excess cash" in p.stdout


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_demo_leaves_nothing_behind(tmp_path, sig):
    out = tmp_path / "out"
    p = subprocess.Popen([sys.executable, "-m", "clearing.cli", "demo", "--out", str(out), "--generate",
                          "--members", "3", "--instruments", "2", "--scenarios", "4", "--seed", "0"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    pids, endpoints, workdir, lines = [], [], None, []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = p.stdout.readline()
            if not line:
                break
            lines.append(line)
            m = re.search(r"in (\S+)/config$", line.strip())
            if m:
                workdir = Path(m.group(1))
            m = re.search(r"up: pid (\d+), (127\.0\.0\.1:\d+)", line)
            if m:
                pids.append(int(m.group(1)))
                endpoints.append(m.group(2))
            pids += [int(x) for x in re.findall(r"\(pid (\d+)\)", line)]
            if "onboarding:" in line:  # members are now trading: interrupt mid-run
                break
        assert len(pids) == 3 + 3 and len(endpoints) == 3, "".join(lines)
        assert all(listening(e) for e in endpoints)
        p.send_signal(sig)
        rest, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert "result:" not in rest
    for pid in pids:
        assert pid_gone(pid), pid
    assert group_members(pids) == []
    for e in endpoints:
        assert not listening(e), e
    assert workdir is not None and not workdir.exists()


# ---------------------------------------------------------------------------
# fast unit tests: the report and the cross-check can fail
# ---------------------------------------------------------------------------
def _event(oracle_event) -> dict:
    """A default report in the node's format from the oracle's event."""
    return {"index": oracle_event.index, "cycle": oracle_event.day + 1,
            "defaulters": [{"member": d.member, "positions": list(d.positions.values()),
                            **{k: getattr(d, k) for k in ("cash", "df", "X", "unpaid_vm", "unpaid_assessment",
                                                          "loss", "defaulter_margin", "defaulter_default_fund",
                                                          "residual", "estate_surplus")},
                            "collateral_consumed": oracle_event.collateral_consumed[d.member]}
                           for d in oracle_event.defaulters],
            "survivors": list(oracle_event.survivors),
            "waterfall": [{"tranche": t.tranche, "amount": t.amount} for t in oracle_event.waterfall],
            **{k: getattr(oracle_event, k) for k in (
                "D0", "loss", "R", "survivors_default_fund_in_full", "assessments_capped", "default_fund_residual",
                "assessment_residual", "rounding_residual", "uncovered_loss", "liquidity_line",
                "skin_in_the_game_1_before", "skin_in_the_game_1_after", "skin_in_the_game_2_before",
                "skin_in_the_game_2_after", "disclosure_policy", "insurance_fund_before", "insurance_fund_after",
                "vm_gains_haircut_rate", "vm_gains_residual", "gross_loss", "assessment_limit")}}


def _days(oracle) -> list[dict]:
    return [{"day": d.day, "booked": [f"t{k}" for k in range(len(d.trades))],
             "refused": [f"r{k}" for k in range(len(d.rejected_trades))],
             "calls": [[c.member, c.kind] for c in d.calls], "cures": [[c.member, c.amount] for c in d.cures],
             "defaults": list(d.defaults)} for d in oracle.days]


def _report(sc, orc, **over):
    reports = [_event(ev) for ev in orc.default_events]
    kw = dict(scenario=sc, variant="normal", backend="gmpy2", days=_days(orc),
              cycles=[{"cycle": k + 1} for k in range(len(orc.days))],
              proofs={"generated": 10, "verified": 10, "rejected": 0}, refused_invalid=0,
              invariants={"positions_net_zero": True, "vm_zero_sum": True, "cash_conservation": True},
              reports=reports, auditor={"ok": True, "digest_matches": True},
              oracle={"ok": True, "checked": 1, "mismatches": []}, elapsed=1.0)
    kw.update(over)
    return assemble_report(**kw)


def test_cross_check_catches_mismatches():
    sc = builtin_scenario()
    oracle = run_oracle(sc, "normal")
    days, reports = _days(oracle), [_event(ev) for ev in oracle.default_events]
    checked, bad = compare_with_oracle(days, reports, oracle)
    assert checked > 40 and bad == []
    reports[0]["waterfall"][3]["amount"] += 1
    days[3]["cures"][0][1] -= 1
    days[4]["defaults"].append("B")
    _, bad = compare_with_oracle(days, reports, oracle)
    assert len(bad) == 3 and any("waterfall" in b for b in bad) and any("cures" in b for b in bad)
    books = dict(oracle.ledger)
    assert compare_with_oracle(_days(oracle), [_event(ev) for ev in oracle.default_events], oracle, books)[1] == []
    books["auction_positions"] = dict(books["auction_positions"], ESX=1)
    _, bad = compare_with_oracle(_days(oracle), [_event(ev) for ev in oracle.default_events], oracle, books)
    assert len(bad) == 1 and "auction_positions" in bad[0]
    harsh = run_oracle(sc, "harsh")
    _, bad = compare_with_oracle(_days(oracle), [_event(ev) for ev in oracle.default_events], harsh)
    assert bad


def test_report_ok_only_when_everything_holds():
    sc = builtin_scenario()
    oracle = run_oracle(sc, "normal")
    good = _report(sc, oracle)
    assert good["ok"] and good["loss"] == 4_956_350_000 and good["accounting_identity"]
    assert good["defaults"] == [{"member": "A", "cycle": 5}]
    assert not _report(sc, oracle, proofs={"generated": 10, "verified": 9, "rejected": 1})["ok"]
    assert not _report(sc, oracle, refused_invalid=1)["ok"]
    assert not _report(sc, oracle, invariants={"positions_net_zero": True, "vm_zero_sum": False,
                                               "cash_conservation": True})["ok"]
    assert not _report(sc, oracle, auditor={"ok": True, "digest_matches": False})["ok"]
    assert not _report(sc, oracle, oracle={"ok": False, "checked": 1, "mismatches": ["x"]})["ok"]
    broken = [_event(ev) for ev in oracle.default_events]
    broken[0]["rounding_residual"] += 1
    bad = _report(sc, oracle, reports=broken)
    assert not bad["ok"] and not bad["accounting_identity"]


def test_chart_and_html_of_a_report():
    sc = generate_scenario(3, 2, 4, 2, 0)
    oracle = run_oracle(sc, "normal")
    rep = _report(sc, oracle)
    svg = waterfall_svg(rep)
    root = ET.fromstring(svg)
    bars = [r for r in root.iter(SVG_NS + "rect") if r.get("class") == "bar"]
    assert [b.get("data-tranche") for b in bars] == BARS
    heights = {b.get("data-tranche"): float(b.get("height")) for b in bars}
    # bars are to scale: the total is the tallest, each tranche no taller than the total
    assert all(0 <= h <= heights["loss"] for h in heights.values())
    assert (heights["survivors_default_fund"] > 0) == (rep["waterfall"][3]["amount"] > 0)
    page = report_html(rep, svg)
    root = ET.fromstring(page.split("\n", 1)[1])
    assert root.find(".//" + SVG_NS + "svg") is not None
    assert "<script" not in page
    # names that need escaping stay well-formed
    rep["scenario"] = "<a & b>"
    ET.fromstring(report_html(rep, waterfall_svg(rep)).split("\n", 1)[1])


def test_usage_errors_are_one_line(tmp_path, capsys):
    from clearing import cli

    assert cli.main(["demo", "--generate", "--variant", "harsh", "--out", str(tmp_path / "o")]) == 2
    assert cli.main(["demo", "--variant", "nope", "--out", str(tmp_path / "o")]) == 1
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "x").write_text("x")
    assert cli.main(["demo", "--workdir", str(busy), "--out", str(tmp_path / "o")]) == 1
    assert cli.main(["demo", "--backend", "nope", "--out", str(tmp_path / "o")]) == 1
    assert cli.main(["demo", "--generate", "--members", "2", "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 5 and all(line.startswith("zkclear demo: error: ") for line in err)
    assert "one variant" in err[0] and "unknown variant" in err[1] and "not empty" in err[2]
    assert "backend 'nope'" in err[3]


def test_invariant_check_detects_a_broken_fold():
    from clearing.node.core import Core
    core = Core()
    core.state.config = {"instruments": [{"id": "X", "multiplier": 1, "tick": 1, "price0": 1}]}
    core.state.books = {"auction_pos": [0], "auction_cash": 0, "default_account": 0, "ccp_capital": 0}
    assert check_invariants(core) == {"positions_net_zero": True, "vm_zero_sum": True, "cash_conservation": True}
    core.state.books["auction_pos"] = [3]
    core.state.flows["deposits"] = 5
    core.state.vm = {"A": core.alg.public(7)}
    assert check_invariants(core) == {"positions_net_zero": False, "vm_zero_sum": False,
                                      "cash_conservation": False}
