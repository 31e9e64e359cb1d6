"""An intraday margin run (issue 14 §1) through the gRPC services: the
operator's ``IntradayRun`` books the signed marks, the node obtains the
run's batch from the prover (``ProveIntraday``) and books it; a retry with
the same request id replays the results; a wrong run number is
FAILED_PRECONDITION, malformed marks INVALID_ARGUMENT.  Under a pre-trade
set the run resets H: a trade refused at the settlement price novates,
asked again (RetryTrade), once the marks moved in the short side's favour.  The auditor re-verifies the ledger, intraday events included.

Numbers: B (10^6 of cash, flat) sells 3 ESX at 500,000: at the settlement
price its debit is 3 * w = 1,500,000 > H_B (refused); at a mark of 490,000
the seller's debit VM is (500,000 - 490,000) * 50 = w per contract, so the
debit is 0."""
from __future__ import annotations

import grpc
import pytest

from clearing.api import admin_pb2
from clearing.services.auditor import audit_node
from clearing.services.pki import load_identity
from support.services import INSTRUMENTS, Cluster, events_of, pretrade_cluster

PRICES = [i["price0"] for i in INSTRUMENTS]
CASH = {"A": 10**9, "B": 1_000_000, "C": 10**9}
MARKS = [490_000, PRICES[1]]


def test_intraday_run_through_services(tmp_path):
    c = Cluster(tmp_path / "cfg", members=tuple(CASH))
    try:
        pretrade_cluster(c, CASH)
        op = c.operator()
        res = c.trade("h1", "A", "B", "ESX", "buy", 3, PRICES[0])
        assert res.status == "pending" and list(res.pretrade_refused) == ["B"]
        results = op.intraday(MARKS)
        assert results == {"A": "pass", "B": "pass", "C": "pass"}
        assert op.intraday(MARKS, run=1) == results  # the same request id: the recorded results
        [marks] = events_of(c, "intraday")
        assert marks["marks"] == MARKS and marks["run"] == 1
        assert len(events_of(c, "intraday-batch")) == 1
        t = c.member("B").retry_trade("h1")  # asked again after the run: the debit is 0 at the mark
        assert t.status == "novated"
        assert c.member("B").balances()["headroom"] == 1_000_000
        with pytest.raises(grpc.RpcError) as err:
            op.intraday(MARKS, run=3, request_id="intraday-wrong-run")
        assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        with pytest.raises(grpc.RpcError) as err:
            op.intraday([0, PRICES[1]], request_id="intraday-bad-marks")
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        with pytest.raises(grpc.RpcError) as err:  # signed over other marks than sent
            req = admin_pb2.IntradayRunRequest(request_id="intraday-resigned", cycle=op.status().cycle, run=2,
                                               marks=MARKS, operator_signature=b"\1" * 64)
            op.admin.IntradayRun(req, timeout=op.prove_timeout)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        audit = audit_node(load_identity(c.dir, "auditor"), c.roster, c.clearing_target)
        assert audit.ok and audit.node_agrees, audit.error
    finally:
        c.stop()
