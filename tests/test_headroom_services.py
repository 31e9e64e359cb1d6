"""The pre-trade risk limit (issue 14 §1) through the gRPC services: a trade
beyond a member's headroom is refused with a public, prover-signed
``pretrade-refusal`` naming the short side (the trade stays pending), the
member reads its own H, deposits a grid-rounded amount and asks again
(RetryTrade): the node pushes the trade to the prover, which now proves
the debit -- the trade novates.  A deposit alone pushes nothing; RetryTrade
is for the trade's sides only, and only for a refused trade.  The auditor
re-verifies the ledger, refusal included."""
from __future__ import annotations

import grpc
import pytest

from clearing.api import clearing_pb2
from clearing.services.auditor import audit_node
from clearing.services.pki import load_identity
from support.services import INSTRUMENTS, MATRIX, Cluster, events_of, pretrade_cluster

PRICES = [i["price0"] for i in INSTRUMENTS]
W_ESX = max(abs(r[0]) for r in MATRIX)  # 500,000 per ESX contract
CASH = {"A": 10**9, "B": 1_000_000, "C": 10**9}
GRID = 100_000


def test_refusal_then_cure_by_deposit_through_services(tmp_path):
    c = Cluster(tmp_path / "cfg", members=tuple(CASH))
    try:
        op = c.operator()
        op.admit_all()
        for m, cash in CASH.items():
            c.member(m).deposit(cash)
        op.settle(PRICES, MATRIX, pretrade=True)
        assert op.run_margin() == {"A": "pass", "B": "pass", "C": "pass"}
        op.close_cycle()
        # flat books: H = cash (the requirement is 0)
        assert c.member("B").balances()["headroom"] == 1_000_000
        # 3 ESX at the settlement price: vm 0, the debit 3 * w = 1,500,000 > H_B
        res = c.trade("h1", "A", "B", "ESX", "buy", 3, PRICES[0])
        assert res.status == "pending"
        assert list(res.pretrade_refused) == ["B"]
        refusals = events_of(c, "pretrade-refusal")
        assert [(r["trade_id"], r["members"]) for r in refusals] == [("h1", ["B"])]
        # the member's own shortfall, rounded up to the grid (never the exact hidden value)
        short = 3 * W_ESX - c.member("B").balances()["headroom"]
        deposit = -(-short // GRID) * GRID
        assert deposit == 500_000
        c.member("B").deposit(deposit)
        assert c.member("B").clearing.GetTrade(clearing_pb2.GetTradeRequest(trade_id="h1")).status == "pending"
        with pytest.raises(grpc.RpcError) as err:  # not a side of the trade
            c.member("C").retry_trade("h1")
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
        with pytest.raises(grpc.RpcError) as err:
            c.member("B").retry_trade("nope")
        assert err.value.code() == grpc.StatusCode.NOT_FOUND
        t = c.member("B").retry_trade("h1")
        assert t.status == "novated" and list(t.pretrade_refused) == ["B"]
        with pytest.raises(grpc.RpcError) as err:  # novated: nothing to retry
            c.member("A").retry_trade("h1")
        assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert c.member("B").balances()["headroom"] == 1_000_000 + deposit - 3 * W_ESX
        assert c.member("A").balances()["headroom"] == 10**9 - 3 * W_ESX
        assert len(events_of(c, "pretrade-refusal")) == 1  # one refusal, then the receipt
        [rc] = [r for r in events_of(c, "receipt") if r["trade_id"] == "h1"]
        assert set(rc["headroom"]) == {"H_buyer", "H_seller", "proof"}
        res = audit_node(load_identity(c.dir, "auditor"), c.roster, c.clearing_target)
        assert res.ok and res.node_agrees, res.error
    finally:
        c.stop()


def test_a_trade_within_headroom_novates_at_once(tmp_path):
    c = Cluster(tmp_path / "cfg", members=tuple(CASH))
    try:
        pretrade_cluster(c, CASH)
        res = c.trade("h2", "B", "A", "ESX", "sell", 2, PRICES[0])
        assert res.status == "novated" and not res.pretrade_refused
        assert c.member("B").balances()["headroom"] == 0
        assert events_of(c, "pretrade-refusal") == []
    finally:
        c.stop()
