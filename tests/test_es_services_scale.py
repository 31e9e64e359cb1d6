"""An expected-shortfall margin cycle at CCP scale through the real services
(issue 13 §2): a genesis of I = 1,000 instruments, an operator-signed ES set
of S = 1,000 historical scenarios (k for alpha = 0.975), three members, the
clearing node and the prover service over mTLS (support.services.Cluster).

Checks: the margin results equal the plaintext oracle's ES rule
(clearing.ccp.oracle_margin.es_requirement; A and B pass, C holds one unit
less than its requirement and is called), every full proof in the ledger's
margin-batch event is exactly clearing.protocol.fields.margin_proof_bytes(S)
(65,894 bytes, above the old 2^16 bound), C cures with one unit (a full ES
re-proof), the cycle closes, and the auditor
re-verifies the whole ledger over its (bulk) channel and agrees with the
node.  Slow: three ES proofs at I = S = 1,000 and a re-proof (~13 CPU-s each with mcl)."""
from __future__ import annotations

import pytest

from clearing.ccp.historical import historical_set, synthetic_history
from clearing.ccp.oracle_margin import es_requirement
from clearing.ccp.scenario import Instrument
from clearing.protocol import fields
from clearing.services.auditor import audit_node
from clearing.services.pki import load_identity
from support.services import CCP, Cluster

pytestmark = pytest.mark.slow

I = S = 1000
INSTRUMENTS = [{"id": f"I{i:03d}", "multiplier": 10 + i, "tick": 1, "price0": 100_000 + 1_000 * i} for i in range(I)]
#: (id, initiator = buyer, counterparty = seller, instrument index, quantity)
TRADES = [("t1", "A", "B", 0, 40), ("t2", "B", "A", 500, 25), ("t3", "A", "C", 999, 30), ("t4", "B", "C", 7, 12)]
RICH = 10**12
DF = 10**5


def _positions():
    pos = {m: [0] * I for m in ("A", "B", "C")}
    for _, buyer, seller, i, q in TRADES:
        pos[buyer][i] += q
        pos[seller][i] -= q
    return pos


def test_es_margin_cycle_at_1000_instruments_and_1000_scenarios(tmp_path):
    insts = [Instrument(d["id"], d["price0"], d["multiplier"], d["tick"], d["price0"] // 10) for d in INSTRUMENTS]
    hs = historical_set(synthetic_history(insts, S + 3, 20261201), S, 2, "0.975")
    matrix = [list(r) for r in hs.pnl]
    assert len(matrix) == S and len(matrix[0]) == I
    pos = _positions()
    need = {m: es_requirement(matrix, pos[m], hs.k) for m in pos}
    assert need["C"] > 1
    cash = {"A": RICH, "B": RICH, "C": need["C"] - 1}

    c = Cluster(tmp_path / "cfg", members=("A", "B", "C"), instruments=INSTRUMENTS, ccp=CCP)
    try:
        op = c.operator()
        assert sorted(op.admit_all()) == ["A", "B", "C"]
        for m in ("A", "B", "C"):
            c.member(m).deposit(cash[m] + DF)
            c.member(m).fund(DF)
        for tid, buyer, seller, i, q in TRADES:
            assert c.trade(tid, buyer, seller, INSTRUMENTS[i]["id"], "buy", q, INSTRUMENTS[i]["price0"]).status \
                == "novated"
        op.settle([d["price0"] for d in INSTRUMENTS], matrix, model={"kind": "es", "k": hs.k})
        assert op.run_margin() == {"A": "pass", "B": "pass", "C": "call"}
        node = c.clearing.resource
        batch = node.run(lambda e: [b for _, b in e.events() if b.get("kind") == "margin-batch"][-1])
        sizes = {e["member"]: len(bytes.fromhex(e["proof"])) for e in batch["entries"]}
        assert sizes["A"] == sizes["B"] == fields.margin_proof_bytes(S) == 65_894
        assert sizes["C"] < sizes["A"]  # the called member's solvency-only proof
        c.member("C").cure(1)  # one unit more: the full ES proof at this size passes
        assert c.member("C").account().status == "active"
        op.close_cycle()
        res = audit_node(load_identity(c.dir, "auditor"), c.roster, c.clearing_target)
        assert res.ok and res.node_agrees and res.cycles == 1, res.error
    finally:
        c.stop()
