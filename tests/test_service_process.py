"""The services as separate processes on localhost: the CLI end to end,
graceful SIGTERM shutdown, and kill -9 of the clearing node and of the
prover service in the middle of a cycle (after some trades, before close),
each restarted from its database: nothing lost, nothing applied twice, the
cycle finishes and the auditor's independent replay of the public ledger
reproduces the node's signed digest and state."""
from __future__ import annotations

import json

import pytest

from clearing import cli
from clearing.services import config as services_config
from clearing.services.auditor import audit_node
from clearing.services.pki import load_config, load_identity
from support.processes import ledger_status, onboard, open_clients
from support.services import MATRIX


def zk(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_end_to_end_and_sigterm(procs, capsys, tmp_path):
    d, start = procs
    clearing, prover = start("clearing"), start("prover")
    cfg = ["--config", str(d)]
    assert zk(capsys, "admin", *cfg, "admit")[0] == 0
    for m in ("A", "B", "C"):
        assert zk(capsys, "participant", *cfg, "--name", m, "deposit", "1000100000")[0] == 0
        assert zk(capsys, "participant", *cfg, "--name", m, "fund", "100000")[0] == 0
    code, out, _ = zk(capsys, "participant", *cfg, "--name", "A", "trade", "--id", "t1", "--with", "B",
                      "--instrument", "ESX", "--side", "buy", "--qty", "4", "--price", "500025")
    assert code == 0 and "pending" in out
    code, out, _ = zk(capsys, "participant", *cfg, "--name", "B", "pending")
    assert "t1: sell 4 ESX @ 500025 with A" in out
    # a wrong agreed quantity is refused by the counterparty's own check
    code, _, err = zk(capsys, "participant", *cfg, "--name", "B", "affirm", "t1", "--qty", "5")
    assert code == 1 and err.count("\n") == 1 and "quantity" in err
    code, out, _ = zk(capsys, "participant", *cfg, "--name", "B", "affirm", "t1", "--qty", "4", "--price", "500025")
    assert code == 0 and "novated" in out
    code, out, _ = zk(capsys, "participant", *cfg, "--name", "A", "status")
    assert json.loads(out)["pos"] == [4, 0]
    ss = tmp_path / "ss.json"
    ss.write_text(json.dumps({"version": 0, "matrix": MATRIX}))
    assert zk(capsys, "admin", *cfg, "settle", "--prices", "501000,199990", "--scenario-set", str(ss))[0] == 0
    code, out, _ = zk(capsys, "admin", *cfg, "margin")
    assert out.split() == ["A:", "pass", "B:", "pass", "C:", "pass"]
    code, out, _ = zk(capsys, "admin", *cfg, "close")
    digest = out.split()[-1]
    code, out, _ = zk(capsys, "audit", *cfg)
    assert code == 0 and f"cycle 1 digest {digest}" in out and "node agrees" in out
    # errors are one line, no traceback
    code, _, err = zk(capsys, "participant", *cfg, "--name", "A", "deposit", "5", "--request-id", "same")
    code, _, err = zk(capsys, "participant", *cfg, "--name", "A", "deposit", "6", "--request-id", "same")
    assert code == 1 and "ALREADY_EXISTS" in err and err.count("\n") == 1
    code, _, err = zk(capsys, "admin", "--config", str(tmp_path / "nowhere"), "status")
    assert code == 1 and err.count("\n") == 1 and "Traceback" not in err
    # graceful shutdown
    assert prover.terminate() == 0
    assert clearing.terminate() == 0
    code, _, err = zk(capsys, "admin", *cfg, "status")
    assert code == 1 and "unavailable" in err


@pytest.mark.parametrize("victim", ["clearing", "prover"])
def test_kill9_mid_cycle_and_restart(procs, victim):
    d, start = procs
    nodes = {"clearing": start("clearing"), "prover": start("prover")}
    op, ms = open_clients(d)
    try:
        onboard(op, ms)
        ms["A"].trade("t1", "B", "ESX", "buy", 10, 500025)
        ms["B"].affirm("t1")
        # t2 is submitted; the victim dies right after (before the affirmation)
        req, _ = ms["C"].make_trade("t2", "A", "RTX", "sell", 5, 200010)
        first = ms["C"].clearing.SubmitTrade(req)
        before = ledger_status(op)
        nodes[victim].kill9()
        nodes[victim] = start(victim)
        assert ledger_status(op) == before  # nothing lost, nothing replayed differently
        # the client retries the same request: applied once
        again = ms["C"].clearing.SubmitTrade(req)
        assert again.seq == first.seq and again.trade == first.trade
        from clearing.api import clearing_pb2
        from clearing.protocol.messages import affirmation_message
        t2 = ms["A"].pending()[0].trade
        aff = clearing_pb2.AffirmTradeRequest(request_id="aff-t2", trade_id="t2", member="A",
                                              signature=ms["A"]._sign(affirmation_message(t2, "A")))
        res = ms["A"].clearing.AffirmTrade(aff)
        assert res.status == "novated"
        # a retried affirmation is applied once
        assert ms["A"].clearing.AffirmTrade(aff).seq == res.seq
        assert ms["A"].balances()["pos"] == [10, 5] and ms["C"].balances()["pos"] == [0, -5]
        op.settle([501000, 199990], MATRIX)
        assert op.run_margin() == {"A": "pass", "B": "pass", "C": "pass"}
        digest = op.close_cycle()
        assert ms["B"].balances()["pos"] == [-10, 0]
        res = audit_node(load_identity(d, "auditor"), load_config(d), services_config.endpoint(d, "clearing"))
        assert res.ok and res.node_agrees and [x.hex() for x in res.digests] == [digest]
        assert nodes["prover"].p.poll() is None
    finally:
        op.close()
        for p in ms.values():
            p.close()
        for n in nodes.values():
            assert n.terminate() == 0



def test_serve_refuses_a_tampered_database(tmp_path, capsys):
    import sqlite3

    from support.services import Cluster

    c = Cluster(tmp_path / "cfg")
    try:
        c.onboard()
    finally:
        c.stop()
    db = services_config.data_path(c.dir, "clearing_db")
    con = sqlite3.connect(db)
    seq, body = con.execute("SELECT seq, body FROM events WHERE body LIKE '%\"deposit\"%' LIMIT 1").fetchone()
    con.execute("UPDATE events SET body = ? WHERE seq = ?", (body.replace('"amount":', '"amount":1', 1), seq))
    con.commit()
    con.close()
    code, _, err = zk(capsys, "serve", "clearing", "--config", str(c.dir), "--port", "0", "--log-level", "ERROR")
    assert code == 1 and err.count("\n") == 1 and "Traceback" not in err
    assert "chain" in err or "event" in err

