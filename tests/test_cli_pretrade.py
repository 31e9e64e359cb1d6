"""The operator's console for the pre-trade limit (issue 14 §1): ``zkclear
admin settle --pretrade`` publishes a set with the flag (its id covers it),
``zkclear admin intraday --marks`` runs an intraday margin run from a fresh
process that knows nothing but the ledger (the set id and the run number
come from LedgerStatus), ``--run`` repeats a run idempotently."""
from __future__ import annotations

import json

from clearing import cli
from clearing.api import clearing_pb2
from support.services import INSTRUMENTS, MATRIX, Cluster

PRICES = ",".join(str(i["price0"]) for i in INSTRUMENTS)


def _admin(c, *argv, capsys):
    code = cli.main(["admin", "--config", str(c.dir), *argv])
    cap = capsys.readouterr()
    assert code == 0, cap.out + cap.err
    out = cap.out
    return out


def test_settle_pretrade_and_intraday_from_the_console(tmp_path, capsys):
    c = Cluster(tmp_path / "cfg", members=("A", "B", "C"))
    try:
        c.onboard(cash=10**8, df=10**6)
        services = c.dir / "services.json"  # the console finds the node through services.json
        cfg = json.loads(services.read_text())
        cfg["endpoints"]["clearing"] = c.clearing_target
        services.write_text(json.dumps(cfg))
        sset = tmp_path / "set.json"
        sset.write_text(json.dumps({"version": 0, "matrix": MATRIX}))
        _admin(c, "settle", "--prices", PRICES, "--scenario-set", str(sset), "--pretrade", capsys=capsys)
        assert "A: pass" in _admin(c, "margin", capsys=capsys)
        _admin(c, "close", capsys=capsys)
        st = c.operator().status()
        assert st.scenario_set_id and st.intraday_run == 0
        ss = c.clearing.resource.run(lambda e: e.state.scenario_set)
        assert ss["pretrade"] is True and bytes.fromhex(ss["id"]) == st.scenario_set_id
        out = _admin(c, "intraday", "--marks", PRICES, capsys=capsys)
        assert {"A: pass", "B: pass", "C: pass"} <= set(out.splitlines())
        assert c.operator().status().intraday_run == 1
        again = _admin(c, "--request-id", "intraday-2-1", "intraday", "--marks", PRICES, "--run", "1",
                       capsys=capsys)  # the default request id of run 1 in cycle 2: replayed, not a new run
        assert again == out and c.operator().status().intraday_run == 1
        events = c.clearing.resource.run(lambda e: [b["kind"] for _, b in e.events()])
        assert events.count("intraday") == 1 and events.count("intraday-batch") == 1
        # a member reads its own headroom; nobody else may
        assert c.member("A").balances()["headroom"] > 0
        t = c.member("A").clearing.GetLedgerStatus(clearing_pb2.LedgerStatusRequest())
        assert t.intraday_run == 1
    finally:
        c.stop()
