"""The multi-process demo as tests run it: ``demo`` runs ``zkclear demo``
into a temporary directory and returns its report; ``check_report`` checks
a finished run's report, chart, HTML page, logs and that no process or port
is left behind (shared by tests/test_demo.py and the demo variants' tests)."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from clearing.demo.report import TRANCHES

BARS = list(TRANCHES) + ["rounding_residual", "uncovered_loss", "loss"]
SVG_NS = "{http://www.w3.org/2000/svg}"


def demo(tmp_path: Path, *args: str, timeout: float = 1800) -> tuple[subprocess.CompletedProcess, dict]:
    out = tmp_path / "out"
    copy = tmp_path / "copy" / "report.json"
    p = subprocess.run([sys.executable, "-m", "clearing.cli", "demo", "--out", str(out), "--json", str(copy), *args],
                       capture_output=True, text=True, timeout=timeout)
    assert (out / "report.json").exists(), p.stdout[-3000:] + p.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    assert json.loads(copy.read_text()) == report
    return p, report


def pid_gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] == "Z"  # a zombie listens on nothing
    except FileNotFoundError:
        return True


def group_members(pgids) -> list[int]:
    """Live processes in any of these process groups (the demo's children
    each lead one; their own children, e.g. worker pools, stay in it)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if fields[0] != "Z" and int(fields[2]) in set(pgids):
            found.append(int(entry))
    return found


def listening(endpoint: str) -> bool:
    host, port = endpoint.rsplit(":", 1)
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((host, int(port))) == 0


def check_report(tmp_path: Path, p: subprocess.CompletedProcess, report: dict) -> None:
    assert p.returncode == 0, p.stdout[-4000:] + p.stderr[-4000:]
    assert report["ok"] is True
    for key, typ in (("members", int), ("instruments", int), ("cycles", int), ("loss", int),
                     ("rounding_residual", int), ("uncovered_loss", int)):
        assert type(report[key]) is typ, key
    pr = report["proofs"]
    assert pr["generated"] == pr["verified"] > 0 and pr["rejected"] == 0
    assert report["invariants"] == {"positions_net_zero": True, "vm_zero_sum": True, "cash_conservation": True}
    assert report["auditor"]["ok"] is True and report["auditor"]["digest_matches"] is True
    assert [w["tranche"] for w in report["waterfall"]] == list(TRANCHES)
    assert all(type(w["amount"]) is int and w["amount"] >= 0 for w in report["waterfall"])
    assert report["loss"] == (sum(w["amount"] for w in report["waterfall"]) + report["rounding_residual"]
                              + report["uncovered_loss"])
    assert report["defaults"] and all(set(d) == {"member", "cycle"} for d in report["defaults"])
    assert report["oracle"]["ok"] and not report["oracle"]["mismatches"]
    # the chart: well-formed SVG, one bar per tranche with the exact amounts
    out = tmp_path / "out"
    svg = ET.parse(out / "waterfall.svg").getroot()
    assert svg.tag == SVG_NS + "svg"
    bars = [r for r in svg.iter(SVG_NS + "rect") if r.get("class") == "bar"]
    assert [b.get("data-tranche") for b in bars] == BARS
    amounts = {b.get("data-tranche"): int(b.get("data-amount")) for b in bars}
    assert amounts == {**{w["tranche"]: w["amount"] for w in report["waterfall"]},
                       "rounding_residual": report["rounding_residual"],
                       "uncovered_loss": report["uncovered_loss"], "loss": report["loss"]}
    # the HTML: well-formed (XHTML), embeds the chart and the tables
    text = (out / "report.html").read_text()
    assert text.startswith("<!DOCTYPE html>")
    page = ET.fromstring(text.split("\n", 1)[1])
    assert page.find(".//" + SVG_NS + "svg") is not None
    assert len(page.findall(".//{http://www.w3.org/1999/xhtml}table")) >= 4
    assert f"{report['loss']:,}" in text
    # every node and member logged to OUT/logs, none of them a traceback
    logs = sorted((out / "logs").glob("*.log"))
    assert {x.name for x in logs} >= {"clearing.log", "prover.log", "auditor.log", "init.log"}
    assert not [x.name for x in logs if "Traceback" in x.read_text()]
    # progress and summary on stdout; no process or port left behind
    assert "cycle 1 closed" in p.stdout and "result: OK" in p.stdout
    assert report["processes"] and len(report["processes"]) == 3 + report["members"]
    for proc in report["processes"]:
        assert pid_gone(proc["pid"]), proc
        if proc["endpoint"]:
            assert not listening(proc["endpoint"]), proc
    assert group_members(p["pid"] for p in report["processes"]) == []
