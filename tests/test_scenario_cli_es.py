"""The operator's path for an expected-shortfall set over real processes
(issue 13): ``zkclear scenario historical`` turns a price file into a
scenario-set file, ``zkclear admin settle --scenario-set`` signs and
publishes it (model and k included), the prover proves ES margin and the node
classifies; a set for other instruments is refused before anything is sent."""
from __future__ import annotations

import json

from clearing import cli
from clearing.ccp.historical import synthetic_history
from clearing.ccp.scenario import Instrument
from support.services import INSTRUMENTS


def zk(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_historical_set_settles_and_margins_through_the_cli(procs, capsys, tmp_path):
    d, start = procs
    start("clearing")
    start("prover")
    cfg = ["--config", str(d)]
    assert zk(capsys, "admin", *cfg, "admit")[0] == 0
    for m in ("A", "B", "C"):
        assert zk(capsys, "participant", *cfg, "--name", m, "deposit", "1000100000")[0] == 0
        assert zk(capsys, "participant", *cfg, "--name", m, "fund", "100000")[0] == 0
    assert zk(capsys, "participant", *cfg, "--name", "A", "trade", "--id", "t1", "--with", "B", "--instrument",
              "ESX", "--side", "buy", "--qty", "4", "--price", "500000")[0] == 0
    assert zk(capsys, "participant", *cfg, "--name", "B", "affirm", "t1", "--qty", "4", "--price", "500000")[0] == 0
    ins = [Instrument(i["id"], i["price0"], i["multiplier"], i["tick"], 1) for i in INSTRUMENTS]
    prices = tmp_path / "prices.csv"
    prices.write_text(synthetic_history(ins, 20, seed=3).to_csv())
    ss = tmp_path / "es.json"
    code, out, _ = zk(capsys, "scenario", "historical", "--prices", str(prices), "--window", "16", "--alpha", "0.9",
                      "--version", "1", "--out", str(ss))
    assert code == 0 and "16 scenarios x 2 contracts" in out and "k = 2" in out
    assert json.loads(ss.read_text())["model"] == {"kind": "es", "k": 2}
    # a set built for other contracts is refused by the console, nothing is sent
    other = tmp_path / "other.json"
    other.write_text(json.dumps({**json.loads(ss.read_text()), "instruments": ["NQX", "RTX"]}))
    code, _, err = zk(capsys, "admin", *cfg, "settle", "--prices", "500000,200000", "--scenario-set", str(other))
    assert code == 1 and "is for instruments" in err and err.count("\n") == 1
    assert zk(capsys, "admin", *cfg, "settle", "--prices", "500000,200000", "--scenario-set", str(ss))[0] == 0
    code, out, _ = zk(capsys, "admin", *cfg, "margin")
    assert code == 0 and out.split() == ["A:", "pass", "B:", "pass", "C:", "pass"]
    assert zk(capsys, "admin", *cfg, "close")[0] == 0
    code, out, _ = zk(capsys, "audit", *cfg)
    assert code == 0 and "node agrees" in out
